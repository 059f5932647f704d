"""Repository indexes: files, their text and their symbols."""
from tools.index.base import Index, Symbol
from tools.index.python_index import RepoIndex, build_index

__all__ = ["Index", "RepoIndex", "Symbol", "build_index"]
