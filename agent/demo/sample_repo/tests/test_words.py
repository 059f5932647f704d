from textkit.words import longest_word, title_case, word_count


def test_word_count_simple():
    assert word_count("one two three") == 3


def test_word_count_ignores_repeated_whitespace():
    assert word_count("hello   world") == 2


def test_longest_word():
    assert longest_word("a bbb cc") == "bbb"
    assert longest_word("") == ""


def test_title_case():
    assert title_case("hello world") == "Hello World"
