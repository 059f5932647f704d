"""Number parsing helpers."""


def parse_int_list(text, sep=","):
    """Parse '1, 2, 3' into [1, 2, 3]; blank items are ignored."""
    return [int(item) for item in text.split(sep) if item.strip()]


def clamp(value, low, high):
    """Limit ``value`` to the range [low, high]."""
    return max(low, min(value, low))
