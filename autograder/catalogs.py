"""The message catalogs: which English message ids the code holds, the translators' .po files
kept in step with them, the compiled .mo files the running code reads (bpkit/i18n.py), and the
check that no message is left behind.

One row of DOMAINS per gettext domain: its name, where its catalogs live, which source files
hold its messages and how each kind of file is read (Babel's extractors: `python` for `_()`,
`N_()` and `ngettext()` calls, `jinja2` for templates, and NOTEBOOK_PROSE for the kit's notebook
sources, whose markdown cells and graded cells' titles are messages as they stand).

`backprop-kit catalogs` updates every .po from the code and compiles its .mo; `check()` (the
test, `backprop-kit catalogs --check`) lists, per catalog, every id without a translation, every
entry whose placeholders differ from its id's, every entry no id of the code has any more
(stale: its English changed or went away), every fuzzy entry, and every .mo that is not its .po
compiled. Babel is the kit's dependency only: bpkit/ never imports it (the student's kernel
reads .mo files with the standard library).
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from .bpkit.i18n import LANGUAGES, SOURCE_LANGUAGE, STUDENT_DOMAIN, STUDENT_LOCALE
from .cli_language import CLICK_DOMAIN, CLICK_MODULES
from .words import STAFF_DOMAIN, STAFF_LOCALE

REPO_ROOT = Path(__file__).resolve().parent.parent
# _("..."), N_("...") (a string kept in a table, translated where shown), gettext / ngettext
# called on a Domain (STUDENT_WORDS.gettext("...")).
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
TRANSLATORS_NOTE = "Translators:"
HEADER_COMMENT = """\
# The {language} words of backprop-kit's {domain!r} messages. The msgid is the English, as the code
# writes it; msgstr is its translation, with the same {{placeholders}}. Edit msgstr only, then run
# `backprop-kit catalogs` (it also compiles the .mo beside this file, which the kit reads)."""  # a comment starting so, just above a message, travels into the .po


# ---------------------------------------------------------------- the kit's notebook sources

# The header keys of a jupytext cell whose values are titles a student reads (a graded cell's).
TITLE_KEYS = ("title", "title_per_student")
_CELL_HEADER = re.compile(r"^# %%(?P<rest>.*)$")
_HEADER_KEY = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def notebook_cells(text: str) -> Iterator[tuple[int, str, str]]:
    """(line number, header, body) of each cell of a jupytext percent script; a markdown cell's body
    without its comment marks, as jupytext gives it to the notebook."""
    lines = text.splitlines()
    headers = [(i, match["rest"]) for i, line in enumerate(lines) if (match := _CELL_HEADER.match(line))]
    for n, (start, header) in enumerate(headers):
        end = headers[n + 1][0] if n + 1 < len(headers) else len(lines)
        body = lines[start + 1 : end]
        if header.lstrip().startswith("[markdown]"):
            body = [line[2:] if line.startswith("# ") else line.removeprefix("#") for line in body]
        yield start + 1, header, "\n".join(body).strip("\n")


def extract_notebook_prose(fileobj, keywords, comment_tags, options) -> Iterator[tuple]:
    """A Babel extractor: every markdown cell of a notebook source is one message (the prose a
    student reads, translated whole so a translator sees the paragraph), and so is each graded
    cell's title and each docstring of a function a code cell defines. notebooks.render translates exactly these, as they stand."""
    text = fileobj.read().decode(options.get("encoding", "utf-8"))
    for line, header, body in notebook_cells(text):
        if header.lstrip().startswith("[markdown]") and body.strip():
            yield line, None, body, []
        if not header.lstrip().startswith(
            "[markdown]"
        ):  # a function's docstring: notebooks.function_docstrings_said
            try:
                tree = ast.parse(body)
            except SyntaxError:
                tree = ast.Module(body=[], type_ignores=[])
            for node in tree.body:
                if isinstance(node, ast.FunctionDef):
                    docstring = ast.get_docstring(node, clean=False)
                    if docstring is not None:  # then it is the body's first statement
                        yield line + node.body[0].lineno, None, docstring, []
        for key, value in _HEADER_KEY.findall(header):
            if key in TITLE_KEYS:
                yield line, None, value.encode().decode("unicode_escape") if "\\" in value else value, []


def _is_command_decorator(decorator: ast.expr) -> bool:
    """`@main.command(...)`, `@click.group(...)`, `@command`: what makes a function a click command."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
    return name in ("command", "group")


def extract_command_help(fileobj, keywords, comment_tags, options) -> Iterator[tuple]:
    """A Babel extractor: each click command's docstring and each `help="..."` string (cli.py),
    cleaned as click cleans them, so the message id is the text cli_language.help_words looks up."""
    tree = ast.parse(fileobj.read().decode(options.get("encoding", "utf-8")))
    for node in ast.walk(tree):
        docstring = ast.get_docstring(node, clean=False) if isinstance(node, ast.FunctionDef) else None
        if (
            isinstance(node, ast.FunctionDef)
            and any(map(_is_command_decorator, node.decorator_list))
            and docstring is not None
        ):
            yield node.body[0].lineno, None, inspect.cleandoc(docstring), []
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                if (
                    keyword.arg == "help"
                    and isinstance(keyword.value, ast.Constant)
                    and isinstance(keyword.value.value, str)
                ):
                    yield keyword.value.lineno, None, inspect.cleandoc(keyword.value.value), []


# ---------------------------------------------------------------- the table of domains


@dataclass(frozen=True)
class CatalogDomain:
    """One gettext domain: its catalogs and the files its message ids are written in."""

    name: str
    locale_dir: Path
    sources: tuple[tuple[str, object], ...]  # (glob below `root`, extraction method)
    root: Path | None = (
        None  # where the globs start: the repository's top, unless a third party's words are the source
    )

    def base(self, root: Path) -> Path:
        return self.root or root

    def po_path(self, language: str) -> Path:
        return self.locale_dir / language / "LC_MESSAGES" / f"{self.name}.po"

    def mo_path(self, language: str) -> Path:
        return self.po_path(language).with_suffix(".mo")

    def files(self, root: Path = REPO_ROOT) -> list[tuple[Path, object]]:
        found: dict = {}
        for pattern, method in self.sources:
            for path in sorted(self.base(root).glob(pattern)):
                if path.is_file() and "__pycache__" not in path.parts:
                    found.setdefault(
                        (path.resolve(), method), (path, method)
                    )  # a file may have two kinds of messages
        return list(found.values())


DOMAINS = (
    # What the student's kernel shows (shipped in bpkit/), and the kit's notebook prose.
    # misconceptions.py, graphs.py, gate_kinds.py and table.py are solutions/'s own files (bpkit/ links them).
    CatalogDomain(
        STUDENT_DOMAIN,
        STUDENT_LOCALE,
        (
            ("autograder/bpkit/*.py", "python"),
            ("solutions/misconceptions.py", "python"),
            ("solutions/graphs.py", "python"),
            ("solutions/gate_kinds.py", "python"),
            ("solutions/table.py", "python"),
            ("autograder/notebooks.py", "python"),
            ("autograder/exercises.py", "python"),
            ("assignments/*.py", extract_notebook_prose),
        ),
    ),
    # What the grader, the reports and the CLI show to TAs, instructors and students reading
    # feedback (autograder/words.py); misconception texts are the student catalog's, not repeated here.
    CatalogDomain(
        STAFF_DOMAIN,
        STAFF_LOCALE,
        (
            ("autograder/cli.py", "python"),
            ("autograder/cli.py", extract_command_help),
            ("autograder/cli_language.py", "python"),
            ("autograder/intake.py", "python"),
            ("autograder/course.py", "python"),
            ("autograder/values.py", "python"),  # show-values and check-config's family sizes
            ("autograder/authored.py", "python"),  # check-config's words on course.yaml's exercises
            (
                "autograder/config/*.py",
                "python",
            ),  # course.yaml's problems (the docs' keys table, config/docs.py, stays English)
            ("autograder/grading/*.py", "python"),
            ("autograder/reports/*.py", "python"),
            ("autograder/batch/*.py", "python"),
            ("autograder/gradescope/*.py", "python"),
            ("autograder/hub/*.py", "python"),
            ("autograder/lti/login.py", "python"),  # a refused launch, as the hub's page shows it
            ("autograder/lti/config.py", "python"),  # the LTI config's problems, as `hub --lti` tells them
            ("autograder/templates/feedback/*.j2", "jinja2"),
            ("autograder/reports/templates/*.j2", "jinja2"),
        ),
    ),
    # click's own words in the kit's CLI ("Usage:", "Error: No such option ..."), read from the
    # installed click (cli_language.py has its modules look them up here).
    CatalogDomain(
        CLICK_DOMAIN,
        STAFF_LOCALE,
        tuple((f"click/{module}.py", "python") for module in CLICK_MODULES),
        root=Path(click.__file__).resolve().parent.parent,
    ),
)
BY_NAME = {d.name: d for d in DOMAINS}
TRANSLATED = tuple(language for language in LANGUAGES if language != SOURCE_LANGUAGE)


# ---------------------------------------------------------------- extraction, update, compilation


def extract(domain: CatalogDomain, root: Path = REPO_ROOT) -> Catalog:
    """Every message id the domain's files hold, with where each is used (the .pot, in memory)."""
    template = Catalog(domain=domain.name, project="backprop-kit", fuzzy=False)
    for path, method in domain.files(root):
        for line, message, comments, context in extract_from_file(
            method, str(path), keywords=KEYWORDS, comment_tags=(TRANSLATORS_NOTE,), strip_comment_tags=True
        ):
            template.add(
                message,
                locations=[(str(path.relative_to(domain.base(root))), line)],
                auto_comments=comments,
                context=context,
            )
    return template


def read_catalog(path: Path, language: str) -> Catalog:
    with open(path, "rb") as po:
        return read_po(po, locale=language)


def write_catalog(path: Path, catalog: Catalog) -> None:
    """A .po as the kit keeps it. Locations name files without line numbers: an edit that moves a
    message inside its file then changes no catalog (line numbers made every such edit a .po diff,
    and a catalog one commit behind the code)."""
    with open(path, "wb") as out:
        write_po(
            out,
            catalog,
            width=100,
            omit_header=False,
            sort_output=False,
            ignore_obsolete=True,
            include_lineno=False,
        )


def compiled(catalog: Catalog) -> bytes:
    """The .mo the catalog compiles to (fuzzy entries left out: they are not translations yet)."""
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def update(domain: CatalogDomain, root: Path = REPO_ROOT, log: Callable[[str], None] = print) -> None:
    """Every .po of the domain brought in step with the code (new ids added untranslated; an
    entry whose English changed kept as fuzzy beside its new id, for the translator to confirm;
    entries no code uses dropped), then compiled to its .mo."""
    template = extract(domain, root)
    for language in TRANSLATED:
        po = domain.po_path(language)
        if po.is_file():
            catalog = read_catalog(po, language)
            template.creation_date = catalog.creation_date  # unchanged code, unchanged files
        else:
            po.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(
                locale=language,
                domain=domain.name,
                project="backprop-kit",
                header_comment=HEADER_COMMENT.format(language=language, domain=domain.name),
                language_team=f"backprop-kit {language}",
                last_translator="backprop-kit",
            )
        catalog.update(template, update_header_comment=False)
        catalog.obsolete.clear()
        catalog.fuzzy = False  # the header: its charset must reach the .mo
        write_catalog(po, catalog)
        catalog = read_catalog(po, language)  # as written: the .mo is the file's, byte for byte
        domain.mo_path(language).write_bytes(compiled(catalog))
        missing = sum(1 for m in catalog if m.id and (m.fuzzy or not _translated(m)))
        log(
            f"{po.relative_to(root) if po.is_relative_to(root) else po}: {len(template)} messages, "
            f"{missing} to translate"
        )


# ---------------------------------------------------------------- the check


def placeholders(text: str) -> set[str]:
    """The `{name}` fields of a message (str.format's), `{{` and `}}` being literal braces."""
    try:
        return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError:
        return {"<unbalanced braces>"}


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
    return all(s for s in strings)


def _ids(message) -> tuple:
    return tuple(message.id) if isinstance(message.id, (tuple, list)) else (message.id,)


def _strings(message) -> tuple:
    return tuple(message.string) if isinstance(message.string, (tuple, list)) else (message.string,)


def expected_placeholders(entry) -> list[set[str]]:
    """The placeholder sets a translated form may have: its English's; for a plural message, those
    of one of its English forms, or of the plural form alone in a language with one form (Korean:
    that form is shown for every count, so it must say what the plural says)."""
    ids = _ids(entry)
    forms = ids[-1:] if len(_strings(entry)) == 1 else ids
    return [set(s) for s in dict.fromkeys(frozenset(placeholders(i)) for i in forms)]


def _short(text: str, width: int = 70) -> str:
    one_line = " ".join(text.split())
    return repr(one_line if len(one_line) <= width else one_line[: width - 1] + "…")


def problems(domain: CatalogDomain, root: Path = REPO_ROOT) -> list[str]:
    """What is wrong with the domain's catalogs, one line each (file, message, expected vs found)."""
    template = extract(domain, root)
    wanted = {m.id if not isinstance(m.id, list) else tuple(m.id): m for m in template if m.id}
    found = []
    for language in TRANSLATED:
        po, mo = domain.po_path(language), domain.mo_path(language)
        where = po.relative_to(root) if po.is_relative_to(root) else po
        if not po.is_file():
            found.append(f"{where}: missing; `backprop-kit catalogs` creates it from the code")
            continue
        catalog = read_catalog(po, language)
        entries = {m.id if not isinstance(m.id, list) else tuple(m.id): m for m in catalog if m.id}
        for key, message in wanted.items():
            entry = entries.get(key)
            used_at = ", ".join(f"{f}:{n}" for f, n in message.locations[:2])
            if entry is None:
                found.append(
                    f"{where}: no entry for {_short(_ids(message)[0])} (used at {used_at}); "
                    "run `backprop-kit catalogs`, then translate it"
                )
            elif entry.fuzzy:
                found.append(
                    f"{where}: fuzzy entry for {_short(_ids(message)[0])} (used at {used_at}): its English "
                    "changed; check the translation, then remove the fuzzy flag"
                )
            elif not _translated(entry):
                found.append(
                    f"{where}: no {language} translation for {_short(_ids(message)[0])} (used at {used_at})"
                )
            else:
                expected = expected_placeholders(entry)
                for translation in _strings(entry):
                    got = placeholders(translation)
                    if got not in expected:
                        found.append(
                            f"{where}: placeholders of {_short(_ids(message)[0])}: expected "
                            f"{' or '.join(str(sorted(e)) for e in expected)}, found {sorted(got)} "
                            f"in {_short(translation)}"
                        )
        for key, entry in entries.items():
            if key not in wanted:
                found.append(
                    f"{where}:{entry.lineno}: stale entry {_short(_ids(entry)[0])}: no code uses this "
                    "English any more; run `backprop-kit catalogs` (it keeps the translation as fuzzy "
                    "beside the new English)"
                )
        if catalog.obsolete:
            found.append(
                f"{where}: {len(catalog.obsolete)} obsolete (#~) entries; run `backprop-kit catalogs`"
            )
        if not mo.is_file() or mo.read_bytes() != compiled(catalog):
            found.append(
                f"{mo.relative_to(root) if mo.is_relative_to(root) else mo}: "
                f"{'missing' if not mo.is_file() else 'out of date'} with {po.name}; run `backprop-kit catalogs`"
            )
    return found


def check(domains: Iterable[CatalogDomain] = DOMAINS, root: Path = REPO_ROOT) -> list[str]:
    return [line for domain in domains for line in problems(domain, root)]
