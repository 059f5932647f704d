"""Find the files and symbols an issue is about."""
from tools.localize.bm25 import Localization, is_test_path, localize, render_context, tokenize

__all__ = ["Localization", "is_test_path", "localize", "render_context", "tokenize"]
