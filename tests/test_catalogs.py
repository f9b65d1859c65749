"""No message is left behind: every English message id of the code has a translation in every
catalog of every domain (autograder/catalogs.py: DOMAINS), with the same placeholders, no entry
is stale or fuzzy, and every .mo is its .po compiled. The checker itself is tested on a small
domain of its own, one fault at a time, so a checker that missed a fault would fail here."""

import gettext
import shutil
import subprocess
import sys

import pytest

from autograder import catalogs
from autograder.bpkit import i18n
from autograder.catalogs import CatalogDomain

ROOT = catalogs.REPO_ROOT


@pytest.mark.parametrize("domain", catalogs.DOMAINS, ids=lambda d: d.name)
def test_every_message_of_the_code_is_translated(domain):
    found = catalogs.problems(domain)
    assert not found, "\n".join(found)


def test_every_shipped_catalog_is_read_by_the_standard_library():
    """The student's kernel reads the .mo with gettext alone (no Babel there)."""
    for domain in catalogs.DOMAINS:
        for language in catalogs.TRANSLATED:
            with open(domain.mo_path(language), "rb") as mo:
                read = gettext.GNUTranslations(mo)
            assert read.info()["content-type"] == "text/plain; charset=utf-8"
            assert len(read._catalog) > 10


# ---------------------------------------------------------------- the checker, on a domain of its own

SOURCE = """\
from autograder.bpkit.i18n import N_
_ = str
TABLE = (N_("a gate"), N_("two gates"))
def say(name):
    return _("Your gate {name} is wrong").format(name=name)
"""
NOTEBOOK = """\
# %% [markdown]
# # A title
#
# Some prose, **with markdown**.

# %% kind="test" grade_id="test_x" points=2 title="The x exercise (part 1)"

# %%
print("code is not prose")
"""
KOREAN = {
    "a gate": "게이트 하나",
    "two gates": "게이트 둘",
    "Your gate {name} is wrong": "게이트 {name} 이(가) 틀렸습니다",
    "# A title\n\nSome prose, **with markdown**.": "# 제목\n\n설명, **마크다운**.",
    "The x exercise (part 1)": "x 문제 (1부)",
}


@pytest.fixture
def tiny(tmp_path):
    """A checkout of one Python file and one notebook source, its ko catalog fully translated."""
    (tmp_path / "code.py").write_text(SOURCE)
    (tmp_path / "notes.py").write_text(NOTEBOOK)
    domain = CatalogDomain(
        "tiny", tmp_path / "locale", (("code.py", "python"), ("notes.py", catalogs.extract_notebook_prose))
    )
    catalogs.update(domain, tmp_path, log=lambda line: None)
    edit_po(domain, lambda text: translate_all(text))
    catalogs.update(domain, tmp_path, log=lambda line: None)  # compiles the translations
    assert catalogs.problems(domain, tmp_path) == []
    return domain, tmp_path


def translate_all(text):
    import io

    from babel.messages.pofile import read_po, write_po

    catalog = read_po(io.BytesIO(text.encode()), locale="ko")
    for message in catalog:
        if message.id:
            message.string = KOREAN[message.id]
    out = io.BytesIO()
    write_po(out, catalog, width=100)
    return out.getvalue().decode()


def edit_po(domain, change):
    po = domain.po_path("ko")
    po.write_text(change(po.read_text()))


def test_the_extractor_finds_code_strings_markdown_cells_and_titles(tiny):
    domain, root = tiny
    ids = {m.id for m in catalogs.extract(domain, root) if m.id}
    assert ids == set(KOREAN)


def test_a_translated_domain_speaks_korean_through_the_runtime(tiny):
    domain, root = tiny
    words = i18n.Domain("tiny", domain.locale_dir)
    with i18n.speaking("ko"):
        assert (
            words.gettext("Your gate {name} is wrong").format(name="AddGate")
            == "게이트 AddGate 이(가) 틀렸습니다"
        )
    assert words.gettext("Your gate {name} is wrong") == "Your gate {name} is wrong"


def test_a_new_message_without_korean_is_found(tiny):
    domain, root = tiny
    (root / "code.py").write_text(SOURCE + '    _("A new message")\n')
    assert any(
        "no entry for 'A new message'" in line and "code.py:6" in line
        for line in catalogs.problems(domain, root)
    )
    catalogs.update(domain, root, log=lambda line: None)
    assert [line for line in catalogs.problems(domain, root)] == [
        "locale/ko/LC_MESSAGES/tiny.po: no ko translation for 'A new message' (used at code.py:6)"
    ]


def test_english_that_changed_leaves_a_stale_entry_then_a_fuzzy_one(tiny):
    domain, root = tiny
    (root / "code.py").write_text(
        SOURCE.replace("Your gate {name} is wrong", "Your gate {name} is wrong here")
    )
    found = catalogs.problems(domain, root)
    assert any("stale entry 'Your gate {name} is wrong'" in line for line in found), found
    assert any("no entry for 'Your gate {name} is wrong here'" in line for line in found), found
    catalogs.update(domain, root, log=lambda line: None)
    found = catalogs.problems(domain, root)
    assert len(found) == 1 and "fuzzy entry for 'Your gate {name} is wrong here'" in found[0], found


def test_placeholders_that_differ_are_found(tiny):
    domain, root = tiny
    edit_po(domain, lambda text: text.replace("게이트 {name} 이(가)", "게이트 {nmae} 이(가)"))
    catalogs.update(domain, root, log=lambda line: None)
    found = catalogs.problems(domain, root)
    assert len(found) == 1 and "expected ['name'], found ['nmae']" in found[0], found


def test_a_mo_out_of_date_with_its_po_is_found(tiny):
    domain, root = tiny
    edit_po(domain, lambda text: text.replace("게이트 하나", "게이트 한 개"))
    found = catalogs.problems(domain, root)
    assert found == ["locale/ko/LC_MESSAGES/tiny.mo: out of date with tiny.po; run `backprop-kit catalogs`"]
    domain.mo_path("ko").unlink()
    assert "missing with tiny.po" in catalogs.problems(domain, root)[0]


def test_a_missing_translation_and_a_missing_catalog_are_found(tiny):
    domain, root = tiny
    edit_po(domain, lambda text: text.replace('msgstr "게이트 둘"', 'msgstr ""'))
    catalogs.update(domain, root, log=lambda line: None)
    assert catalogs.problems(domain, root) == [
        "locale/ko/LC_MESSAGES/tiny.po: no ko translation for 'two gates' (used at code.py:3)"
    ]
    shutil.rmtree(root / "locale")
    assert catalogs.problems(domain, root) == [
        "locale/ko/LC_MESSAGES/tiny.po: missing; `backprop-kit catalogs` creates it from the code"
    ]


def test_updating_unchanged_code_changes_no_file(tiny):
    domain, root = tiny
    before = domain.po_path("ko").read_bytes(), domain.mo_path("ko").read_bytes()
    catalogs.update(domain, root, log=lambda line: None)
    assert (domain.po_path("ko").read_bytes(), domain.mo_path("ko").read_bytes()) == before


def test_the_command_checks_the_kits_catalogs():
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "catalogs", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every message translated" in done.stdout


def test_bpkit_never_imports_babel():
    for path in (ROOT / "autograder" / "bpkit").glob("*.py"):
        assert "babel" not in path.read_text().lower(), path
