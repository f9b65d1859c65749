"""Numbers and counts as a person writes them, for every page and line the reports print."""


def for_people(value):
    """A score as a person writes it: at most two decimals, no trailing zeros or point
    (1, 1.5, 1.33; never "1." or "1.00")."""
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def counted(n, noun, plural=None):
    """'1 notebook', '2 notebooks', '0 groups'."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
