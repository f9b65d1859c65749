"""Words in the course's language (course.yaml `language`), from gettext message catalogs read
with the standard library only: the student's kernel needs nothing new.

The English text is the message id, written once where it is used:
- `_("...")` translates when called, in the language in force at that moment;
- `N_("...")` only marks a string kept in a table or constant (extraction finds it); it is
  translated where it is shown, with `_(text)`.

Two catalogs (gettext domains), because two processes read them:
- `bpkit`, shipped to students with this package: the notebook's prose, self-checks, Validate,
  misconception titles and hints, picture labels (bpkit/locale/);
- `backprop_kit`, the grader's: feedback pages, reports, the CLI (autograder/locale/).
Each is <locale dir>/<language>/LC_MESSAGES/<domain>.po (the source, edited by translators) beside
its compiled <domain>.mo (what is read here). English needs no catalog: the ids are the English.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import json
from collections.abc import Iterator
from pathlib import Path

SOURCE_LANGUAGE = "en"  # the language of the message ids
STUDENT_DOMAIN = "bpkit"
STUDENT_LOCALE = Path(__file__).with_name("locale")


def languages_with_catalogs(locale_dir: Path, domain: str) -> tuple[str, ...]:
    """English and every language `domain` has a catalog of (<language>/LC_MESSAGES/<domain>.po,
    or the .mo compiled from it, which is all a release ships): a language is added by its .po
    files, nothing else."""
    found = sorted({path.parent.parent.name for path in locale_dir.glob(f"*/LC_MESSAGES/{domain}.[pm]o")})
    return (SOURCE_LANGUAGE, *(language for language in found if language != SOURCE_LANGUAGE))


LANGUAGES = languages_with_catalogs(
    STUDENT_LOCALE, STUDENT_DOMAIN
)  # the values course.yaml's `language` accepts


def released_language() -> str:
    """The course's language when this is the copy of bpkit released to students: course.json
    beside it says so (course.yaml's `language`), so every message the student's kernel shows
    is in it from the first import, whichever cell imports bpkit first. The kit's own bpkit/
    (the grader's process) has no course.json: English until `use()` says otherwise."""
    try:
        language = json.loads(Path(__file__).with_name("course.json").read_text(encoding="utf-8")).get(
            "language"
        )
    except (OSError, ValueError, AttributeError):
        return SOURCE_LANGUAGE
    return language if language in LANGUAGES else SOURCE_LANGUAGE


_in_force = released_language()


class MissingCatalog(RuntimeError):
    """A language is asked for whose compiled catalog is not where it should be."""


def use(language: str) -> None:
    """Every later `_()` of every domain speaks `language` (from course.json / course.yaml)."""
    global _in_force
    if language not in LANGUAGES:
        raise ValueError(f"language: expected one of {', '.join(LANGUAGES)}, found {language!r}")
    _in_force = language


def in_force() -> str:
    return _in_force


@contextlib.contextmanager
def speaking(language: str) -> Iterator[None]:
    """For a while only (a test, one course's report among others), then back as it was."""
    before = _in_force
    use(language)
    try:
        yield
    finally:
        use(before)


@functools.cache
def catalog(domain: str, localedir: str, language: str) -> gettext.NullTranslations:
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    path = Path(localedir) / language / "LC_MESSAGES" / f"{domain}.mo"
    try:
        with open(path, "rb") as compiled:
            return gettext.GNUTranslations(compiled)
    except OSError as error:
        raise MissingCatalog(
            f"{path}: the compiled {language!r} catalog of {domain!r} cannot be read "
            f"({error.strerror or error}); compile it from {path.with_suffix('.po').name}"
        ) from None


class Domain:
    """One catalog, translating in the language in force when each message is shown."""

    def __init__(self, name: str, localedir: Path):
        self.name = name
        self.localedir = str(localedir)

    def gettext(self, message: str) -> str:
        return catalog(self.name, self.localedir, _in_force).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return catalog(self.name, self.localedir, _in_force).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks `message` for the catalog without translating it here."""
    return message


STUDENT_WORDS = Domain(STUDENT_DOMAIN, STUDENT_LOCALE)

# The first line of every graded cell, in the course's language (autograder/notebooks.py writes
# it, the feedback page reads the title back after it).
EXERCISE_TITLE = N_("# Exercise: {title}")
