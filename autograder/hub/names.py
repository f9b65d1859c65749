"""Student ids that nbgrader's exchange, its command line and a hub account can all carry.

nbgrader's filesystem exchange names a submission `<student>+<assignment>+<timestamp>` and
splits on `+`; its commands take ids as arguments and paths (`submitted/<student>/`); a hub
user's name is a Unix account's name with the default spawner. So an id is refused at the
door — when it enters the roster or logs in — rather than failing later inside nbgrader."""
import re

ALLOWED = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}")
# What the common mistakes are called in a message.
NAMED_CHARACTERS = {"+": "a '+' (nbgrader's exchange splits submission names on '+')",
                    " ": "a space", "/": "a slash", "\\": "a backslash", "\t": "a tab"}


class StudentIdError(ValueError):
    """A name that cannot be an nbgrader student id here; the message says why."""


def problem(name):
    """Why `name` cannot be a student id, or None when it can."""
    if not name:
        return "it is empty"
    for character, called in NAMED_CHARACTERS.items():
        if character in name:
            return f"it contains {called}"
    if len(name) > 64:
        return f"it is {len(name)} characters long (at most 64)"
    if not ALLOWED.fullmatch(name):
        if not ALLOWED.fullmatch(name[0]):
            return f"it starts with {name[0]!r} (a letter, digit or '_' must come first)"
        bad = next(ch for ch in name if not re.fullmatch(r"[A-Za-z0-9_.@-]", ch))
        return f"it contains {bad!r} (only letters, digits and _ . @ - are allowed)"
    return None


def check(name, where=""):
    """`name` itself, or StudentIdError naming it, where it came from and what to fix."""
    why = problem(name)
    if why:
        place = f"{where}: " if where else ""
        raise StudentIdError(f"{place}{name!r} is not a valid nbgrader student id: {why}. "
                             "Use the student's login name with letters, digits and _ . @ - only.")
    return name
