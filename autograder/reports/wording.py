"""Numbers and counts as a person writes them, for every page and line the reports print."""

from ..words import N_, _


def for_people(value):
    """A score as a person writes it: at most two decimals, no trailing zeros or point
    (1, 1.5, 1.33; never "1." or "1.00")."""
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# The nouns counted in the reports' lines, each with its plural, in the grader's catalog.
COUNTED = {
    "notebook": (N_("{n} notebook"), N_("{n} notebooks")),
    "hand answer": (N_("{n} hand answer"), N_("{n} hand answers")),
    "group": (N_("{n} group"), N_("{n} groups")),
}


def counted(n, noun, plural=None):
    """'1 notebook', '2 notebooks', '0 groups' (in the course's language for COUNTED's nouns)."""
    if noun in COUNTED and plural is None:
        one, many = COUNTED[noun]  # two messages, not ngettext: a language without plurals says one of them
        return _(one if n == 1 else many).format(n=n)
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
