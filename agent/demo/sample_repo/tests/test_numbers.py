from textkit.numbers import clamp, parse_int_list


def test_parse_int_list():
    assert parse_int_list("1, 2, 3") == [1, 2, 3]
    assert parse_int_list("4,,5") == [4, 5]


def test_clamp_limits_values_outside_the_range():
    assert clamp(5, 0, 3) == 3
    assert clamp(-1, 0, 3) == 0


def test_clamp_keeps_values_inside_the_range():
    assert clamp(2, 0, 3) == 2
