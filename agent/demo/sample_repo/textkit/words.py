"""Word-level helpers."""


def word_count(text):
    """Return the number of words in ``text``."""
    return len(text.split())


def longest_word(text):
    """Return the longest word in ``text`` (the first one on ties), or '' for empty text."""
    words = text.split()
    if not words:
        return ""
    return max(words, key=len)


def title_case(text):
    """Capitalise the first letter of every word."""
    return " ".join(word[:1].upper() + word[1:] for word in text.split(" "))
