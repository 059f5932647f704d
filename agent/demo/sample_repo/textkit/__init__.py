from textkit.words import word_count, longest_word, title_case
from textkit.numbers import parse_int_list

__all__ = ["word_count", "longest_word", "title_case", "parse_int_list"]
