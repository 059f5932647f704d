"""Repository indexes: files, their text and their symbols, references and imports."""
from tools.index.base import Index, Symbol
from tools.index.repo import RepoIndex, build_index

__all__ = ["Index", "RepoIndex", "Symbol", "build_index"]
