"""The command line's help and click's own words in the course's language.

click builds a command's help from its docstring and its options' `help=` strings when the
command is declared, and writes its own words ("Usage:", "Error: No such option ...") through
gettext; all of it before any command reads course.yaml. So the language is decided from the
command line and the environment before click parses it (`language_before_parsing`), the help
texts are translated in place from their English (`translate_help`), and click's modules look
their words up in the kit's `click` catalog (`CLICK_WORDS`) instead of the process's gettext:
that one follows the LANGUAGE variable, which the kit must not set (its child processes, a
database server for one, would change language too).
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from .bpkit.i18n import LANGUAGES, SOURCE_LANGUAGE, Domain, use
from .words import STAFF_LOCALE, _

CLICK_DOMAIN = "click"
CLICK_WORDS = Domain(CLICK_DOMAIN, STAFF_LOCALE)
# click's modules that write words a person reads (each does `from gettext import gettext as _`).
CLICK_MODULES = ("core", "exceptions", "formatting", "decorators", "types", "parser", "termui")
LANGUAGE_VARIABLE = "BACKPROP_KIT_LANGUAGE"
COURSE_YAML = "course.yaml"


def click_speaks_the_kit_language() -> None:
    """click's messages from the `click` catalog, in the language in force when each is shown."""
    for name in CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            setattr(module, "_", CLICK_WORDS.gettext)  # noqa: B010 (not an attribute click declares)
        if hasattr(module, "ngettext"):
            setattr(module, "ngettext", CLICK_WORDS.ngettext)  # noqa: B010


# ---------------------------------------------------------------- which language, before parsing


def config_argument(args: Sequence[str]) -> str | None:
    """The PATH of `--config PATH` (or `--config=PATH`) on the command line, if there is one."""
    for i, arg in enumerate(args):
        if arg == "--":
            return None
        if arg == "--config" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--config="):
            return arg.partition("=")[2]
    return None


# A top-level `language: ko` line, quoted or not, with or without a comment after it.
_LANGUAGE_KEY = re.compile(r"""^language:[ \t]*(["']?)([A-Za-z_-]+)\1[ \t]*(?:#.*)?$""", re.MULTILINE)


def declared_language(course_yaml: Path) -> str | None:
    """course.yaml's `language`, read without YAML: quick, and a file too broken to load still
    gets its help (its problems are told later, by the command that loads it)."""
    try:
        text = course_yaml.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    match = _LANGUAGE_KEY.search(text)
    return match.group(2) if match and match.group(2) in LANGUAGES else None


def environment_language(environ: Mapping[str, str]) -> str | None:
    """BACKPROP_KIT_LANGUAGE, else the locale's language (LC_ALL over LANG, as POSIX has it:
    ko_KR.UTF-8 is ko) when the kit has a catalog of it."""
    if environ.get(LANGUAGE_VARIABLE) in LANGUAGES:
        return environ[LANGUAGE_VARIABLE]
    locale_name = environ.get("LC_ALL") or environ.get("LANG") or ""
    language = re.split(r"[_.@]", locale_name, maxsplit=1)[0]
    return language if language in LANGUAGES else None


def language_before_parsing(
    args: Sequence[str], cwd: Path = Path("."), environ: Mapping[str, str] = os.environ
) -> str:
    """The language the command line speaks before a command loads course.yaml: that of
    `--config PATH`, else of ./course.yaml, else of the environment, else English."""
    config = config_argument(args)
    course_yaml = Path(config) if config is not None else cwd / COURSE_YAML
    return declared_language(course_yaml) or environment_language(environ) or SOURCE_LANGUAGE


# ---------------------------------------------------------------- the help texts


def help_words(english: str) -> str:
    """A help text in the language in force: the kit's words (the staff catalog, where the
    command docstrings and `help=` strings are), else click's (its --version option's help,
    fixed in English when the option was declared)."""
    english = inspect.cleandoc(english)  # as click shows it, so the message id is what was extracted
    translated = _(english)
    return translated if translated != english else CLICK_WORDS.gettext(english)


def _translate(thing: object, attribute: str) -> None:
    # The English is kept on first sight: a process may run the commands again in another language (tests do).
    english = (
        vars(thing).setdefault("_english_words", {}).setdefault(attribute, getattr(thing, attribute, None))
    )
    if english:
        setattr(thing, attribute, help_words(english))


def translate_help(command: click.Command) -> None:
    """The command's, its options' and its subcommands' help, in the language in force."""
    _translate(command, "help")
    _translate(command, "short_help")
    for param in command.params:
        _translate(param, "help")
    for subcommand in getattr(command, "commands", {}).values():
        translate_help(subcommand)


class CourseLanguageGroup(click.Group):
    """The kit's top command: it speaks the course's language before click reads the command line."""

    def main(self, args: Sequence[str] | None = None, *rest, **kwargs):
        args = list(sys.argv[1:] if args is None else args)
        use(language_before_parsing(args))
        translate_help(self)
        return super().main(args, *rest, **kwargs)


click_speaks_the_kit_language()
