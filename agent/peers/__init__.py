"""Peers: other scaffolds run on the same instances, model endpoint and images as patchwright, so
`swebench compare` sets them side by side. Each peer runs as its users run it, from its own
pinned package in a venv of its own (agent.peers.install), graded by our harness."""
