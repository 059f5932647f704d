"""A test that reproduces the issue before it is fixed: the model's test file (files.py), where the
repository keeps its tests (layout.py) and whether a run of the test reproduced it (verdict.py)."""
from tools.reproduction.files import (ReproductionReplyError, ReproductionTest, check_new_test_path, command_for,
                                      parse_test_reply, write_test)
from tools.reproduction.layout import NearbyTests, example_head, nearby_tests
from tools.reproduction.verdict import BROKEN, OTHER_FAILURE, PASSES, REPRODUCED, Verdict, classify

__all__ = ["BROKEN", "OTHER_FAILURE", "PASSES", "REPRODUCED", "NearbyTests", "ReproductionReplyError",
           "ReproductionTest", "Verdict", "check_new_test_path", "classify", "command_for", "example_head",
           "nearby_tests", "parse_test_reply", "write_test"]
