"""Student ids that nbgrader's exchange, its command line and a hub account can all carry.

nbgrader's filesystem exchange names a submission `<student>+<assignment>+<timestamp>` and
splits on `+`; its commands take ids as arguments and paths (`submitted/<student>/`); a hub
user's name is a Unix account's name with the default spawner. So an id is refused at the
door — when it enters the roster or logs in — rather than failing later inside nbgrader."""

import re

from ..words import N_, _

ALLOWED = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}")
# What the common mistakes are called in a message.
NAMED_CHARACTERS = {
    "+": N_("a '+' (nbgrader's exchange splits submission names on '+')"),
    " ": N_("a space"),
    "/": N_("a slash"),
    "\\": N_("a backslash"),
    "\t": N_("a tab"),
}


class StudentIdError(ValueError):
    """A name that cannot be an nbgrader student id here; the message says why."""


def problem(name):
    """Why `name` cannot be a student id (in the language in force), or None when it can."""
    if not name:
        return _("it is empty")
    for character, called in NAMED_CHARACTERS.items():
        if character in name:
            return _("it contains {what}").format(what=_(called))
    if len(name) > 64:
        return _("it is {n} characters long (at most 64)").format(n=len(name))
    if not ALLOWED.fullmatch(name):
        if not ALLOWED.fullmatch(name[0]):
            return _("it starts with {character} (a letter, digit or '_' must come first)").format(
                character=repr(name[0])
            )
        bad = next(ch for ch in name if not re.fullmatch(r"[A-Za-z0-9_.@-]", ch))
        return _("it contains {character} (only letters, digits and _ . @ - are allowed)").format(
            character=repr(bad)
        )
    return None


def check(name, where=""):
    """`name` itself, or StudentIdError naming it, where it came from and what to fix."""
    why = problem(name)
    if why:
        said = _(
            "{name} is not a valid nbgrader student id: {why}. Use the student's login name with letters, "
            "digits and _ . @ - only."
        ).format(name=repr(name), why=why)
        raise StudentIdError(f"{where}: {said}" if where else said)
    return name
