"""A course with `language: ko`: the release notebook's prose, titles and stubs' comments are
Korean, and so is everything bpkit says in the student's own kernel (self-checks, Validate);
the words change, never the ids, points or code; an instructor's own prose stays as written;
and the Korean release carries no answer either (its compiled catalog included)."""

import ast
import gettext
import re
import subprocess
import sys
import unicodedata

import jupytext
import nbformat
import pytest
import test_course
from lanes import lane
from submissions import run_in_kernel
from test_course import ASSIGNMENT, REPO, run_cli, write_course_yaml

from autograder.bpkit import i18n
from autograder.config import load_course
from autograder.course import KIT_ASSIGNMENTS, build_sources
from autograder.exercises import HAND_ANSWERS

HANGUL = re.compile("[\uac00-\ud7a3]")
KO = i18n.Domain(i18n.STUDENT_DOMAIN, i18n.STUDENT_LOCALE)


def korean(message):
    with i18n.speaking("ko"):
        return KO.gettext(message)


def written(cell, language):
    """What a markdown cell of a notebook source says in `language`: its prose through the
    catalog, or, for the cell of a question with fixed answers (exercise="..."), the question its
    description writes (autograder/exercises.py)."""
    if cell.metadata.get("exercise"):
        with i18n.speaking(language):
            return HAND_ANSWERS[cell.metadata["exercise"]].asked()
    return korean(cell.source) if language == "ko" else cell.source


def course_yaml(path, language, randomization="per-course"):
    path = write_course_yaml(path, randomization=randomization)
    path.write_text(re.sub(r"(?m)^language: .*$", f"language: {language}", path.read_text()))
    return path


@pytest.fixture(scope="module")
@lane("e2e")  # nbgrader generate_assignment, then the release run in kernels and by nbgrader validate (~40 s)
def ko_course(tmp_path_factory):
    root = tmp_path_factory.mktemp("ko")
    done = run_cli(
        "init", str(root / "course"), "--config", str(course_yaml(root / "course.yaml", "ko")), cwd=REPO
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return root / "course"


def release_notebook(course):
    return nbformat.read(course / "release" / ASSIGNMENT / "backprop.ipynb", as_version=4)


# ---------------------------------------------------------------- the notebook's words


def test_the_kits_prose_titles_and_stub_comments_are_korean(ko_course):
    nb = release_notebook(ko_course)
    source = jupytext.read(KIT_ASSIGNMENTS / "backprop.py", fmt="py:percent")
    prose = [c for c in source.cells if c.cell_type == "markdown"]
    shown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert shown and all(HANGUL.search(text) for text in shown), [
        t[:60] for t in shown if not HANGUL.search(t)
    ]
    assert set(shown) <= {written(cell, "ko") for cell in prose}
    assert shown[0].startswith("# 역전파(backpropagation)") and "계산 그래프" in shown[0]
    assert any("연쇄 법칙" in text for text in shown) and any("자코비안 행렬" in text for text in shown)
    gates = next(text for text in shown if text.startswith("## 2."))
    assert "*distributor*" in gates and "*router*" in gates and "*switcher*" in gates
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    titles = [c.source.splitlines()[0] for c in graded]
    assert "f = (x + y) · z 손으로 계산 (1부)" in titles[0] and "AddGate.backward" in " ".join(titles)
    assert all("제출한 뒤 여러분의 커널 밖에서" in c.source for c in graded)
    said = [line for c in graded for line in c.source.splitlines()[1:] if line.startswith("# ")]
    assert not [line for line in said if re.search(r"\b(on|the|your|and|with)\b", line)], (
        said
    )  # what each checks
    answers = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "simple_by_hand")
    assert answers.source.startswith(
        "# 답: ...을 모두 숫자로 바꾸고,\n# YOUR CODE HERE 줄은 지우세요.\nq = ..."
    )
    add_gate = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "add_gate")
    assert '"""Distributor: upstream gradient가 그대로 두 입력 모두에 전해집니다."""' in add_gate.source


def test_the_lectures_formulas_and_numbers_are_unchanged_in_korean():
    """Every number of every prose cell, every `code` span and every formula (a token with =, · or ²)."""
    source = jupytext.read(KIT_ASSIGNMENTS / "backprop.py", fmt="py:percent")
    for cell in source.cells:
        if cell.cell_type == "markdown":
            english, ko = written(cell, "en"), written(cell, "ko")
            numbers = sorted(re.findall(r"−?\d+(?:[.,]\d+)*", english))
            assert numbers or cell.metadata.get("exercise") is None, english  # the question's numbers
            assert sorted(re.findall(r"−?\d+(?:[.,]\d+)*", ko)) == numbers, english[:60]
            for math in re.findall(r"`[^`]+`|\S*[=·²][^\s,]*", english):
                assert math.strip("().:;,*") in ko, (math, english[:60])


def sources(tmp_path, language, assignments=None):
    folder = tmp_path / language
    folder.mkdir()
    if assignments:
        (folder / "assignments").mkdir()
        for name, text in assignments.items():
            (folder / "assignments" / f"{name}.py").write_text(text)
    ((_, notebooks),) = build_sources(load_course(course_yaml(folder / "course.yaml", language)))
    return notebooks


def words_only(nb):
    """Everything of a notebook that is not words: cell types, nbgrader metadata, and the code as
    Python reads it (comments gone; titles, class and function docstrings and the words a setup
    cell prints before a value blanked)."""
    kept = []
    for cell in nb.cells:
        code = None
        if cell.cell_type == "code":
            tree = ast.parse(cell.source)
            for node in ast.walk(tree):
                if isinstance(node, ast.keyword) and node.arg == "title":
                    node.value = ast.Constant("")
                if isinstance(node, ast.ClassDef | ast.FunctionDef) and ast.get_docstring(node) is not None:
                    node.body[0] = ast.Expr(ast.Constant(""))
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "id", None) == "print"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    node.args[0] = ast.Constant("")
            code = ast.dump(tree)
        kept.append((cell.cell_type, cell.metadata.get("nbgrader"), code))
    return kept


@pytest.mark.parametrize("graphs", ["lecture", "per-student"])
def test_language_changes_words_only_never_ids_points_or_code(tmp_path, graphs):
    def built(language):
        folder = tmp_path / f"{language}-{graphs}"
        folder.mkdir()
        yaml = course_yaml(folder / "course.yaml", language, "per-student")
        yaml.write_text(re.sub(r"(?m)^graphs: .*$", f"graphs: {graphs}", yaml.read_text()))
        ((_, notebooks),) = build_sources(load_course(yaml))
        return notebooks["backprop"]

    en, ko = built("en"), built("ko")
    assert words_only(en) == words_only(ko)
    assert [c.source for c in en.cells] != [c.source for c in ko.cells]


def test_english_is_the_source_as_written(tmp_path):
    nb = sources(tmp_path, "en")["backprop"]
    source = jupytext.read(KIT_ASSIGNMENTS / "backprop.py", fmt="py:percent")
    assert [c.source for c in nb.cells if c.cell_type == "markdown"] == [
        written(c, "en")
        for c in source.cells
        if c.cell_type == "markdown" and c.metadata.get("graphs", "lecture") == "lecture"
    ]
    assert not any(HANGUL.search(c.source) for c in nb.cells)


INSTRUCTOR_NOTEBOOK = """\
# %% [markdown]
# # My own notebook
#
# Prose the instructor wrote stays as it is written.

# %% kind="setup" grade_id="setup"
import numpy as np
from bpkit import selfcheck

# %% kind="gate" grade_id="add_gate"
"""


def test_an_instructors_own_prose_stays_as_written_around_the_kits_korean(tmp_path):
    yaml = tmp_path / "course.yaml"
    (tmp_path / "assignments").mkdir()
    (tmp_path / "assignments" / "mine.py").write_text(INSTRUCTOR_NOTEBOOK)
    text = course_yaml(yaml, "ko").read_text().replace("    notebooks: [backprop]", "    notebooks: [mine]")
    yaml.write_text(text)
    ((_, notebooks),) = build_sources(load_course(yaml))
    cells = notebooks["mine"].cells
    assert cells[0].source == "# My own notebook\n\nProse the instructor wrote stays as it is written."
    graded = [c for c in cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded and all("제출한 뒤 여러분의 커널 밖에서" in c.source for c in graded)


# ---------------------------------------------------------------- in the student's kernel


def columns(text):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def run(nb, folder):
    run_in_kernel(nb, folder, allow_errors=True)
    return nb


def text_of(cell):
    out = []
    for o in cell.get("outputs", []):
        out.append(o.get("text", "") if o.output_type == "stream" else "\n".join(o.get("traceback", [])))
    return "\n".join(out)


HALVING_ADD_GATE = """
import numpy as np


class AddGate:
    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        return 0.5 * dout, 0.5 * dout
"""


def test_a_wrong_gate_and_unfinished_work_are_told_in_korean_in_a_real_kernel(ko_course):
    """The release as a student runs it: the add gate halves the gradient, the rest is untouched."""
    nb = release_notebook(ko_course)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "add_gate":
            cell.source = HALVING_ADD_GATE
    run(nb, ko_course / "release" / ASSIGNMENT)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    assert "이 숫자들은 수강생 모두가 같이 씁니다" in text_of(by_id["setup"])
    said = text_of(by_id["selfcheck_add_gate"])
    assert "AddGate: 문제 1개를 찾았습니다." in said and "'add-split' 실수로 보입니다" in said, said
    assert "힌트: x가 작은 h만큼 바뀌면 x + y는 얼마나 바뀔까요?" in said
    hand = text_of(by_id["selfcheck_simple_by_hand"])
    assert "아직 답하지 않았습니다: q, f, dfdq, dfdz, dfdx, dfdy" in hand, hand
    assert "MulGate.forward: 아직 끝나지 않았습니다: MulGate 셀의 forward 작성하기." in text_of(
        by_id["test_mul_gate_forward"]
    )
    summary = text_of([c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")][-1])
    assert "아직 끝나지 않은 문제가" in summary and "고칠 문제:" in summary, summary
    assert "AddGate.backward: 코드가 스스로 모순됩니다." in summary
    listed = [line for line in summary.splitlines() if line.startswith("  - ")]
    assert len(listed) > 15 and "  - MulGate.forward: MulGate 셀의 forward 작성하기" in listed, summary
    wide = [line for line in summary.splitlines() if columns(line) > 83]  # Hangul takes two columns
    assert not wide, wide  # nbgrader's dialog shows 83 columns whole
    for cell in nb.cells:  # no English sentence of bpkit's left in what the kernel printed
        for english in (
            "not finished yet",
            "problem(s) found",
            "This looks like",
            "Not answered yet",
            "These numbers belong",
            "Hint:",
        ):
            assert english not in text_of(cell), (english, text_of(cell)[:300])


def test_nbgrader_validate_reports_in_korean(ko_course, tmp_path):
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "bpkit").symlink_to(ko_course / "release" / ASSIGNMENT / "bpkit")
    nbformat.write(release_notebook(ko_course), folder / "backprop.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", "backprop.ipynb"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = done.stdout + done.stderr
    assert "VALIDATION FAILED ON 1 CELL(S)" in output, output[-2000:]
    assert "아직 끝나지 않은 문제가" in output and "AddGate.forward: AddGate 셀의 forward 작성하기" in output


# ---------------------------------------------------------------- nothing leaks


def no_leak_in(path, text):
    for marker in (
        "BEGIN SOLUTION",
        "END SOLUTION",
        "BEGIN HIDDEN TESTS",
        "END HIDDEN TESTS",
        "import autograder",
        "from autograder",
        "import solutions",
        "from solutions",
    ):
        assert marker not in text, f"{path.name} contains {marker!r}"
    normalized = {" ".join(line.split()) for line in text.splitlines()}
    assert not {line for line in test_course.reference_code_lines() if line in normalized}, path.name
    assert not {s for s in test_course.graded_answer_strings() if s in text}, (
        f"{path.name} contains graded answer values"
    )


def catalog_text(path):
    """Every word a compiled catalog holds, English and translated."""
    with open(path, "rb") as mo:
        words = gettext.GNUTranslations(mo)._catalog
    return "\n".join(str(k) + "\n" + v for k, v in words.items())


def test_the_shipped_catalog_holds_no_solution_code_hidden_tests_or_graded_values():
    mo = i18n.STUDENT_LOCALE / "ko" / "LC_MESSAGES" / "bpkit.mo"
    no_leak_in(mo, catalog_text(mo))


def test_the_korean_release_carries_no_solution_code_hidden_tests_or_graded_values(ko_course):
    files = test_course.release_files(ko_course)
    catalogs = [p for p in files if p.suffix == ".mo"]
    assert [p.relative_to(ko_course / "release" / ASSIGNMENT) for p in catalogs] == [
        i18n.STUDENT_LOCALE.relative_to(i18n.STUDENT_LOCALE.parent.parent) / "ko" / "LC_MESSAGES" / "bpkit.mo"
    ]
    assert not [p for p in files if p.suffix == ".po"]
    for path in files:
        if path.suffix == ".mo":
            text = catalog_text(path)
        elif path.suffix == ".ipynb":  # compare code as written, not JSON-escaped
            text = "\n".join(c.source for c in nbformat.reads(path.read_text(), as_version=4).cells)
        else:
            text = path.read_text()
        no_leak_in(path, text)


# ---------------------------------------------------------------- seen in a browser

HANGUL_WIDTH = """
const probe = document.createElement('span');
probe.style.font = getComputedStyle(arguments[0]).font;
probe.textContent = '역전파 계산 그래프';
document.body.appendChild(probe);
const size = parseFloat(getComputedStyle(probe).fontSize), width = probe.getBoundingClientRect().width;
probe.remove();
return width / size;
"""


@pytest.mark.browser
def test_the_korean_notebook_reads_in_chromium_with_hangul_glyphs(ko_course):
    """The release as run by a student with a halving AddGate, exported by nbconvert and shown in
    headless Chromium: its prose and bpkit's words in Hangul (full-width glyphs, not empty boxes)."""
    from browser import chrome, screenshot_folder
    from nbconvert import HTMLExporter
    from selenium.webdriver.common.by import By

    nb = release_notebook(ko_course)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "add_gate":
            cell.source = HALVING_ADD_GATE
    run(nb, ko_course / "release" / ASSIGNMENT)
    page = ko_course / "korean-notebook.html"
    page.write_text(HTMLExporter().from_notebook_node(nb)[0], encoding="utf-8")
    folder = screenshot_folder("korean-release-notebook")
    driver = chrome(1100, 1000)
    try:
        driver.get(page.as_uri())
        heading = driver.find_element(By.TAG_NAME, "h1")
        assert heading.text.startswith("역전파(backpropagation)")
        # 7 Hangul glyphs and 2 spaces: about 7.5 em in a CJK font; empty boxes are narrower
        assert 6.0 < driver.execute_script(HANGUL_WIDTH, heading) < 9.0
        driver.save_screenshot(str(folder / "1-top.png"))
        for name, words in (
            ("2-add-gate-self-check", "'add-split' 실수로 보입니다"),
            ("3-validate-summary", "아직 끝나지 않은 문제가"),
        ):
            found = driver.find_elements(By.XPATH, f'//pre[contains(., "{words}")]')
            assert found, words
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", found[0])
            driver.save_screenshot(str(folder / f"{name}.png"))
    finally:
        driver.quit()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_bpkit_ships_the_compiled_catalog_of_its_language_only(tmp_path, language):
    """English needs no catalog (its words are the ids); ko's bpkit gets its .mo, never the .po."""
    from autograder.course import assemble_bpkit

    course = load_course(course_yaml(tmp_path / "course.yaml", language))
    bpkit = assemble_bpkit(tmp_path / "bpkit", course, course.assignments[0])
    shipped = sorted(
        str(p.relative_to(bpkit)) for p in bpkit.rglob("*") if p.is_file() and "locale" in p.parts
    )
    assert shipped == ([] if language == "en" else ["locale/ko/LC_MESSAGES/bpkit.mo"])
    assert (bpkit / "i18n.py").is_file()
