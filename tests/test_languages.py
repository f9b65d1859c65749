"""Which languages a course may speak: English and every language with a catalog. A third
language is its .po files (docs/korean.md: "Add a language"), nothing else: the schema, the keys table
and the runtime read the list from the catalogs present."""

import re
from pathlib import Path

import pytest

from autograder.bpkit import i18n
from autograder.config import ConfigError, load_course
from autograder.config.schema import Course
from autograder.course import REPO_ROOT
from autograder.words import STAFF_DOMAIN, STAFF_LOCALE


def test_a_language_is_its_catalog_files(tmp_path):
    for language, name in (("ko", "bpkit.po"), ("fr", "bpkit.po"), ("de", "bpkit.mo"), ("es", "other.po")):
        (tmp_path / language / "LC_MESSAGES").mkdir(parents=True)
        (tmp_path / language / "LC_MESSAGES" / name).write_text("")
    assert i18n.languages_with_catalogs(tmp_path, "bpkit") == ("en", "de", "fr", "ko")


def test_the_kit_speaks_english_and_each_language_both_catalogs_have():
    assert i18n.LANGUAGES == ("en", "ko")
    assert i18n.languages_with_catalogs(STAFF_LOCALE, STAFF_DOMAIN) == i18n.LANGUAGES  # the grader's too
    assert Course.model_fields["language"].annotation.__args__ == i18n.LANGUAGES


def test_course_yaml_names_the_languages_it_accepts(tmp_path):
    text = re.sub(r"(?m)^language:.*$", "language: fr", (REPO_ROOT / "course.yaml").read_text())
    (tmp_path / "course.yaml").write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_course(tmp_path / "course.yaml")
    assert re.search(r"course\.yaml:\d+: language: .*'en'.*'ko'", str(refused.value)), str(refused.value)


def test_the_hub_refuses_a_students_server_in_the_course_language(tmp_path):
    """The hub reads course.yaml's language when it starts (hub/hubconfig.py: configure); a student
    outside the course group is told so in it, the command to run kept as it is."""
    import sys

    from autograder.hub.hubconfig import spawn_problem
    from autograder.hub.settings import HubSettings

    s = HubSettings(
        course_id="cs231n",
        course_dir=str(tmp_path),
        course_account="grader-cs231n",
        exchange=str(tmp_path / "exchange"),
        bin_dir=str(Path(sys.prefix) / "bin"),
        out_dir="/srv/hub",
    )
    with i18n.speaking("ko"):
        said = spawn_problem("ann", ["nbgrader-other"], s)
    assert (
        "과목 그룹 nbgrader-cs231n에 없어서" in said
        and "`sudo backprop-kit add-student ann --hub /srv/hub`" in said
    )
    assert spawn_problem("ann", ["nbgrader-other"], s).startswith("ann is not in the course group")


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_feedback_reads_what_a_graded_cell_checks_in_every_language(language):
    """feedback.py takes "Checked: ..." from the graded cell's comments, leaving out the comments
    notebooks.py writes around it (feedback.GRADED_AFTER_MESSAGE, VALIDATE_MESSAGE: notebooks.py's
    own messages, as the cell shows them in the course's language)."""
    from autograder.grading.feedback import checked_of
    from autograder.grading.registry import describe_check
    from autograder.notebooks import test_cell

    with i18n.speaking(language):
        for exercise, check in (
            ("add_gate", "backward"),
            ("simple_by_hand", "answers"),
            ("l2_with_gates", "function"),
        ):
            source = test_cell(exercise, check, 2).source
            assert checked_of(source) == " ".join(describe_check(exercise, check).split()), source


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_a_graded_cells_title_line_is_in_the_course_language_and_the_feedback_reads_it_back(language):
    """The first line of a graded cell names the exercise in the student's language (English:
    "# Exercise: ..."); the feedback page and TrustedChecks take the title back from it, under
    the language the cell was written in, and a notebook written in English still reads."""
    from autograder.grading.feedback import title_of
    from autograder.notebooks import test_cell

    with i18n.speaking(language):
        source = test_cell("add_gate", "backward", 2, title="AddGate 역전파: backward (2)").source
        first = source.splitlines()[0]
        assert title_of(source, "default") == "AddGate 역전파: backward (2)"
        assert first.startswith("# Exercise: ") == (language == "en"), first
        if language == "ko":
            assert first == "# 문제: AddGate 역전파: backward (2)"
        assert title_of("# Exercise: Written in English\nx = 1", "default") == "Written in English"
        assert title_of("x = 1", "default") == "default"
