"""Find the files, symbols and lines an issue is about."""
from tools.localize.fuse import Localization, localize
from tools.localize.render import render_code
from tools.localize.roles import is_test_path
from tools.localize.text import tokenize

__all__ = ["Localization", "is_test_path", "localize", "render_code", "tokenize"]
