"""SWE-bench mode: `swebench run` drives the fix graph over dataset instances (only the problem
statement reaches the model) and writes official predictions; `swebench eval` grades predictions
in containers built offline from the swebench install specs, as the official harness grades."""
