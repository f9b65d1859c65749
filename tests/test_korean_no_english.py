"""Every word a Korean student reads goes through the catalogs (issue 31, item 6).

A course with `language: ko`, a class of bad submissions built to reach every failure path of
every check (each catalogued mistake, mistakes no model reproduces, each refusal of an answer's
form, the kinks, timeouts, crashes, running out of memory, unfinished and untouched work, tampered
cells), graded by the real grader in its sandbox (`backprop-kit autograde`), its feedback pages
written by `nbgrader generate_feedback`, and the kernel-safe notebooks run in a real kernel, where
the self-checks and Validate speak. In all of that, no English sentence (`english_sentences`).

Python's own words are not the kit's: a traceback's frames and the student's own exception
messages stay as Python and the student wrote them, so the submissions raise with Korean messages.
"""

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from lanes import lane
from submissions import run_in_kernel

from autograder import demo
from autograder.bpkit.i18n import speaking
from autograder.catalogs import DOMAINS
from autograder.course import REPO_ROOT, nbgrader_environment

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data
MISTAKES = simulated_class.MISTAKES
ASSIGNMENT = NOTEBOOK = "backprop"
HANGUL = re.compile("[\uac00-\ud7a3]")

# ---------------------------------------------------------------- what an English sentence is

# English's function words: a sentence has some, a list of identifiers ("q, f, dfdq") none. Single
# letters are left out: they are the lecture's variables (x, y, a).
FUNCTION_WORDS = frozenset(
    [
        "the",
        "an",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "without",
        "into",
        "onto",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "not",
        "no",
        "nor",
        "or",
        "and",
        "but",
        "if",
        "then",
        "than",
        "when",
        "where",
        "which",
        "what",
        "who",
        "whose",
        "how",
        "why",
        "your",
        "you",
        "yours",
        "our",
        "we",
        "they",
        "their",
        "them",
        "he",
        "she",
        "his",
        "her",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "done",
        "must",
        "should",
        "can",
        "could",
        "would",
        "will",
        "may",
        "might",
        "shall",
        "one",
        "per",
        "each",
        "every",
        "all",
        "any",
        "some",
        "more",
        "most",
        "less",
        "only",
        "also",
        "again",
        "yet",
        "still",
        "just",
        "so",
        "too",
        "very",
        "before",
        "after",
        "above",
        "below",
        "while",
        "until",
        "because",
        "though",
        "although",
        "whether",
    ]
)
# A word of prose: ASCII letters, all lowercase or capitalized ("MulGate", "dW", "ReLU" are names).
WORD = re.compile(r"[A-Za-z](?:[a-z]+(?:'[a-z]+)?)?")
# Between two words of one sentence: spaces and the punctuation of prose, nothing else.
JOIN = re.compile(r"[\s,;:]*")
# Not prose: `code`, $math$, 'quoted' or "quoted" names (a misconception id, a cell), paths, URLs.
NOT_PROSE = re.compile(r"`[^`]*`|\$[^$]*\$|'[^'\s]*'|\"[^\"\s]*\"|\S*/\S*")
# Python's words, not the kit's: a traceback's frames, a warning's line, a NameError's message.
PYTHON_WORDS = re.compile(
    r"^\s*(Traceback \(most recent call last\):|File \"|Cell In\[)|^\S+:\d+: \w*Warning: |"
    r"name '\w+' is not defined"
)


def english_sentences(text: str) -> list[str]:
    """Every run of 3 or more consecutive English words in `text`, one of them at least a function
    word of English. Identifiers (`MulGate`, `forward`, `dW`, `dfd_denom`, `x.T`), numbers, formulas
    and quoted ids are one word or break the run; so does a Hangul particle glued to a word
    ("gradient가"), and so does the end of a sentence or a parenthesis."""
    found = []
    for line in text.splitlines():
        line = NOT_PROSE.sub(" | ", PYTHON_WORDS.sub(" | ", line) if not PYTHON_WORDS.match(line) else "")
        run, end = [], 0
        for token in re.finditer(r"\S+", line):
            bare = token.group().strip(",;:.!?()[]")
            if not (WORD.fullmatch(bare) and (len(bare) > 1 or bare in "aAI")):
                found += _sentence(run)
                run = []
                continue
            if run and not (JOIN.fullmatch(line[end : token.start()]) and not token.group().startswith("(")):
                found += _sentence(run)
                run = []
            run.append(bare)
            end = token.end()
            if token.group()[-1] in ".!?)":  # a sentence or a parenthesis ends here
                found += _sentence(run)
                run = []
        found += _sentence(run)
    return found


def _sentence(run):
    return [" ".join(run)] if len(run) >= 3 and any(w.lower() in FUNCTION_WORDS for w in run) else []


@pytest.mark.parametrize(
    "text",
    [
        "off by a relative error of 0.31",
        "[FAIL] forward, vector input: your result is a str, not a number",
        "이 게이트는 not a known mistake either 입니다",
        "MaxGate.backward: wrong where the slope is defined",
        "힌트: Keep what backward needs on self",
    ],
)
def test_an_english_sentence_is_found(text):
    assert english_sentences(text), text


@pytest.mark.parametrize(
    "text",
    [
        "아직 답하지 않았습니다: q, f, dfdq, dfdz, dfdx, dfdy",
        "AddGate.backward: upstream gradient가 그대로 두 입력 모두에 전해집니다.",
        "'add-split' 실수로 보입니다: MulGate.forward(x, y)의 dW가 x.T @ dout",
        "backward, 벡터 입력: dx 상대 오차 0.31만큼 틀렸습니다",
        "MaxGate.backward, 값이 같을 때: 1 / 1점 `np.maximum(x, y)` 와 ReLU",
        'Traceback (most recent call last):\n  File "<cell>", line 3, in forward',
        "f = (x + y) · z 손으로 계산, dfd_denom과 W.T @ dq; see /tmp/a/b",
    ],
)
def test_identifiers_names_and_formulas_are_not_english_sentences(text):
    assert not english_sentences(text), english_sentences(text)


def test_every_korean_translation_of_both_catalogs_is_free_of_english_sentences():
    """A translator who copied the English, or left half of it, fails here without any grading."""
    from babel.messages.pofile import read_po

    left = []
    for domain in DOMAINS:
        path = domain.po_path("ko")
        if not path.is_file():
            continue
        with open(path, "rb") as po:
            catalog = read_po(po)
        for message in catalog:
            if not message.id or not message.string:
                continue
            for english, korean in zip(
                message.id if isinstance(message.id, tuple) else (message.id,),
                message.string if isinstance(message.string, tuple) else (message.string,),
            ):
                if english_sentences(korean):
                    left.append((path.name, english[:60], english_sentences(korean)))
    assert not left, left


@pytest.mark.parametrize("graphs", ["lecture", "per-student"])
def test_the_korean_notebooks_code_says_nothing_in_english(tmp_path, graphs):
    """What the release's code cells say to a student (comments, docstrings, printed strings; the
    solutions nbgrader removes aside) is Korean: the stubs' docstrings, the setup cells' prints."""
    import ast
    import io
    import tokenize

    from autograder.config import load_course
    from autograder.course import build_sources

    text = re.sub(r"(?m)^graphs:.*\n?", "", course_yaml(tmp_path / "course.yaml").read_text())
    (tmp_path / "course.yaml").write_text(text + f"\ngraphs: {graphs}\n")
    built = build_sources(load_course(tmp_path / "course.yaml"))  # every assignment's notebooks
    said = []
    for cell in (cell for _, notebooks in built for nb in notebooks.values() for cell in nb.cells):
        if cell.cell_type != "code":
            continue
        released = re.sub(r"(?s)### BEGIN SOLUTION.*?### END SOLUTION", "", cell.source)
        for token in tokenize.generate_tokens(io.StringIO(released).readline):
            if token.type == tokenize.COMMENT:
                said.append(token.string.lstrip("# "))
            elif token.type == tokenize.STRING and not token.string.startswith(("f", "F")):
                said.append(str(ast.literal_eval(token.string)))
    assert said and not [s for s in said if english_sentences(s)], [s for s in said if english_sentences(s)]


# ---------------------------------------------------------------- the class of bad submissions


def code(text):
    return textwrap.dedent(text).strip() + "\n"


GATE_RAISING = """
    class {name}:
        def forward(self, {args}):
            raise RuntimeError("잘못된 계산")
        def backward(self, dout):
            raise RuntimeError("잘못된 계산")
    """

# Each student: {grade_id: source}, on top of the correct answers.
CLASS = {
    # Every catalogued mistake, at the gates, in a function and by hand (at one node of the graph).
    "mia": {
        **{
            cell: source
            for mid, (cell, source) in MISTAKES.items()
            if mid
            in (
                "add-split",
                "mul-not-swapped",
                "max-routes-both",
                "relu-mask-of-upstream",
                "sigmoid-of-input",
                "l2-missing-2",
                "matmul-transpose",
                "branch-overwrite",
            )
        },
        "simple_by_hand": "q = x + y\nf = q * z\ndfdq = z\ndfdz = q\ndfdx = -dfdq\ndfdy = dfdq\n",
        "branch_by_hand": "q = x + y\nf = q * x\ndfdx = q\ndfdy = x\n",
        "l2_by_hand": (
            "q = W @ x\nf = float(np.sum(q**2))\ndfdq = 2 * q\ndfdW = np.outer(dfdq, x).T\ndfdx = W.T @ dfdq\n"
        ),
    },
    "noa": {
        **{
            cell: source
            for mid, (cell, source) in MISTAKES.items()
            if mid
            in (
                "sign-flip",
                "upstream-ignored",
                "max-routes-smaller",
                "sigmoid-missing-term",
                "batch-not-summed",
            )
        },
        "neuron_by_hand": "f = 0.5\ndfd_denom = 1.0\ndfd_exp = 2.0\ndfd_neg = 3.0\ndfds = 4.0\n"
        "dfdw0 = 5.0\ndfdx0 = 6.0\ndfdw1 = 7.0\ndfdx1 = 8.0\ndfdw2 = 9.0\n",
        "jacobian_question": "jacobian_entries = 4096\njacobian_nonzero = 4096 * 4096\nbatch_jacobian_entries = 1\n",
    },
    # Mistakes no model reproduces, state shared between instances, invalid splits at the kinks.
    "uma": {
        "add_gate": """
            class AddGate:
                def forward(self, x, y):
                    return x + y
                def backward(self, dout):
                    return 3 * dout, 3 * dout
            """,
        "mul_gate": """
            class MulGate:
                def forward(self, x, y):
                    MulGate.x, MulGate.y = x, y      # on the class: shared by every instance
                    return x * y
                def backward(self, dout):
                    return dout * MulGate.y, dout * MulGate.x
            """,
        "max_gate": """
            import numpy as np
            class MaxGate:
                def forward(self, x, y):
                    self.x, self.y = np.asarray(x, float), np.asarray(y, float)
                    return np.maximum(x, y)
                def backward(self, dout):
                    tie = self.x == self.y
                    dx = np.where(tie, 2 * dout, np.where(self.x > self.y, dout, 0.0))
                    dy = np.where(tie, -dout, np.where(self.x < self.y, dout, 0.0))
                    return dx, dy
            """,
        "relu_gate": """
            import numpy as np
            class ReLUGate:
                def forward(self, x):
                    self.x = np.asarray(x, float)
                    return np.maximum(0, x)
                def backward(self, dout):
                    return np.where(self.x > 0, dout, np.where(self.x == 0, 5 * dout, 0.0))
            """,
        "sigmoid_gate": """
            import numpy as np
            class SigmoidGate:
                def forward(self, x):
                    self.x = x
                    return np.tanh(x)
                def backward(self, dout):
                    return dout * (1 - np.tanh(self.x) ** 2)
            """,
        "l2_gate": """
            import numpy as np
            class L2Gate:
                def forward(self, q):
                    self.q = q
                    return q * q
                def backward(self, df):
                    return 2 * self.q * df
            """,
        "simple_by_hand": "q = 1.0\nf = 2.0\ndfdq = 3.0\ndfdz = 4.0\ndfdx = 5.0\ndfdy = 6.0\n",
        "branch_by_hand": "q = 1.0\nf = 2.0\ndfdx = 3.0\ndfdy = 4.0\n",
        "l2_by_hand": "q = 1.0\nf = 2.0\ndfdq = np.zeros(5)\ndfdW = np.zeros((3, 2))\ndfdx = 0.0\n",
        "simple_with_gates": """
            def simple_with_gates(x, y, z):
                return (x + y) * z, (3 * z, z, x + y)
            """,
        "branch_with_gates": """
            def branch_with_gates(x, y):
                return (x + y) * x, (5 * x + y, x)
            """,
    },
    # Every refusal of an answer's form.
    "ola": {
        "add_gate": """
            class AddGate:
                def forward(self, x, y):
                    return "x + y"
                def backward(self, dout):
                    return dout
            """,
        "mul_gate": """
            class MulGate:
                def forward(self, x, y):
                    return [x * y]
                def backward(self, dout):
                    return None, None
            """,
        "max_gate": """
            import numpy as np
            class MaxGate:
                def forward(self, x, y):
                    return np.full(np.shape(x), np.nan)
                def backward(self, dout):
                    return np.full(np.shape(dout), np.inf), True
            """,
        "relu_gate": """
            import numpy as np
            class ReLUGate:
                def forward(self, x):
                    return np.asarray(x) > 0
                def backward(self, dout):
                    return ...
            """,
        "sigmoid_gate": """
            import numpy as np
            class SigmoidGate:
                def forward(self, x):
                    return 1j * np.asarray(x)
                def backward(self, dout):
                    return np.zeros((7, 7))
            """,
        "matmul_gate": """
            import numpy as np
            class MatMulGate:
                def forward(self, W, x):
                    self.W, self.x = W, x
                    return W @ x
                def backward(self, dq):
                    return dq, dq, dq
            """,
        "simple_by_hand": 'q = "3"\nf = None\ndfdq = ...\ndfdz = [1.0, 2.0]\ndfdx = float("nan")\ndfdy = True\n',
        "branch_by_hand": "q = 1j\nf = float('inf')\ndfdx = {'a': 1}\ndfdy = np.array(['a'])\n",
        "simple_with_gates": """
            def simple_with_gates(x, y, z):
                return (x + y) * z
            """,
        "branch_with_gates": """
            def branch_with_gates(x, y):
                return (x + y) * x, ((2 * x + y),)
            """,
        "neuron_with_gates": """
            def neuron_with_gates(w, x):
                return 0.5, (0.0, 0.0, 0.0), (0.0, 0.0)
            """,
        "l2_with_gates": """
            def l2_with_gates(W, x):
                return "f", "gradients"
            """,
    },
    # Code that loops, crashes, runs out of memory, raises, does not parse, or is left unfinished.
    "dan": {
        **simulated_class.BROKEN,  # syntax error, infinite loop, os._exit, 8 GB
        "add_gate": GATE_RAISING.format(name="AddGate", args="x, y"),
        "relu_gate": GATE_RAISING.format(name="ReLUGate", args="x"),
        "branch_by_hand": "import os\nos._exit(1)\n",
        "neuron_by_hand": "while True:\n    pass\n",
        "simple_with_gates": """
            def simple_with_gates(x, y, z):
                while True:
                    pass
            """,
        "neuron_with_gates": """
            def neuron_with_gates(w, x):
                import os
                os._exit(4)
            """,
        "l2_with_gates": simulated_class.UNFINISHED_L2_WITH_GATES,
    },
}
# The release as handed out (every answer unfinished), and a correct notebook whose cells were
# tampered with (a test cell deleted, another edited): the notes at the top of the feedback.
UNTOUCHED, TAMPERED = "pat", "ivy"
# Their notebooks run in a real kernel for the self-checks and Validate: no infinite loop (a
# self-check has no timeout: the student interrupts it) and no os._exit (it kills the kernel).
IN_KERNEL = ("mia", "noa", "uma", "ola", UNTOUCHED)


def course_yaml(path: Path) -> Path:
    text = (REPO_ROOT / "course.yaml").read_text()
    for pattern, replacement in (
        (r"(?m)^language:.*$", "language: ko"),
        (r"(?m)^(\s*timeout_seconds:).*$", r"\1 3"),  # what an infinite loop costs, three times here
    ):
        text, found = re.subn(pattern, replacement, text)
        assert found == 1, pattern
    path.write_text(text)
    return path


def cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "autograder.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**nbgrader_environment(), "COLUMNS": "200"},
    )


def grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


class KoreanClass:
    def __init__(self, root: Path):
        self.root = root
        self.course = root / "course"

    def report(self, student):
        path = self.course / "backprop-kit" / "reports" / ASSIGNMENT / student / f"{NOTEBOOK}.json"
        return json.loads(path.read_text())

    def autograded(self, student):
        return nbformat.read(self.course / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb", 4)

    def feedback(self, student):
        return (self.course / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html").read_text("utf-8")


@pytest.fixture(scope="module")
@lane("e2e")  # init, backprop-kit autograde, nbgrader generate_feedback (~60 s)
def korean_class(tmp_path_factory) -> KoreanClass:
    root = tmp_path_factory.mktemp("korean-no-english")
    made = cli("init", str(root / "course"), "--config", str(course_yaml(root / "course.yaml")), cwd=root)
    assert made.returncode == 0, made.stderr + made.stdout
    graded = KoreanClass(root)
    release = nbformat.read(graded.course / "release" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    source = nbformat.read(graded.course / "source" / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    correct = simulated_class.reference_answers(source)

    def submit(student, nb):
        folder = graded.course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{NOTEBOOK}.ipynb")

    for student, answers in CLASS.items():
        submit(
            student, simulated_class.fill(release, {**correct, **{k: code(v) for k, v in answers.items()}})
        )
    submit(UNTOUCHED, release)
    good = simulated_class.fill(release, correct)
    submit(TAMPERED, simulated_class.cells_tampered_with(good)["deleted"])
    ran = cli("autograde", ASSIGNMENT, "--jobs", "2", cwd=graded.course)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    feedback = demo.nbgrader(graded.course, "generate_feedback", ASSIGNMENT)
    assert feedback.returncode == 0, feedback.stderr[-3000:]
    return graded


STUDENTS = (*CLASS, UNTOUCHED, TAMPERED)


def outputs_text(nb) -> str:
    """Every output of every cell, as a student reads it: streams, results, errors (their value
    and traceback: the kit's words about a dead kernel or a timeout are there)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                parts.append(str(out.get("data", {}).get("text/plain", "")))
                if "text/html" in out.get("data", {}):
                    parts.append(BeautifulSoup(out.data["text/html"], "html.parser").get_text("\n"))
            elif out.output_type == "error":
                parts.append(re.sub(r"\x1b\[[0-9;]*m", "", "\n".join([out.evalue, *out.traceback])))
    return "\n".join(parts)


def page_text(html: str) -> str:
    """The words of a feedback page: its text and pictures' descriptions, without code (the
    student's cells and the graded cells' sources are code), styles, scripts or math."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "math", "code", "pre"]):
        if (
            tag.name == "pre"
            and tag.find_parent(class_="output_area") is not None
            and not tag.find_parent(class_="input_area")
        ):
            continue  # an output's text: words
        tag.decompose()
    for tag in soup.select(".input_area, .highlight"):
        tag.decompose()
    alts = [img.get("alt", "") for img in soup.find_all("img")]
    return soup.get_text("\n") + "\n" + "\n".join(alts)


@pytest.mark.parametrize("student", STUDENTS)
def test_the_graded_notebooks_outputs_have_no_english_sentence(korean_class, student):
    said = outputs_text(korean_class.autograded(student))
    assert HANGUL.search(said), said[:500]
    assert not english_sentences(said), english_sentences(said)


@pytest.mark.parametrize("student", STUDENTS)
def test_the_feedback_page_has_no_english_sentence(korean_class, student):
    said = page_text(korean_class.feedback(student))
    assert "실패" in said or student == TAMPERED, said[:500]
    assert not english_sentences(said), english_sentences(said)


def korean_words(gettext, message):
    """The longest stretch of words of `message`'s Korean translation between its placeholders."""
    with speaking("ko"):
        translated = gettext(message)
    assert HANGUL.search(translated), message
    return max(re.split(r"\{\w*[^}]*\}", translated), key=len).strip()


def test_every_failure_path_was_reached(korean_class):
    """The class reached what it was built for (else finding no English would prove little): every
    catalogued mistake named, in the reports; and in the feedback, in Korean, mistakes no model
    reproduces, state shared between instances, invalid splits at the kinks, each kind of refusal
    of a result's form, timeouts, crashes, memory, a dead kernel, a cell interrupted."""
    from autograder.bpkit import forms
    from autograder.grading import checks, problems
    from autograder.words import STAFF_WORDS, student_words
    from solutions.misconceptions import UNKNOWN, UNKNOWN_BY_HAND
    from solutions.table import kit_catalog

    named = {
        m for student in STUDENTS for c in korean_class.report(student)["cells"] for m in c["misconceptions"]
    }
    # Every mistake the kit's own course can make; the rows an assignment or course.yaml asks for
    # are named in Korean by their own courses' tests (test_course_exercises_e2e.py).
    shown = {m.id for m in kit_catalog()}
    assert shown <= named, sorted(shown - named)
    said = {student: outputs_text(korean_class.autograded(student)) for student in STUDENTS}
    staff = STAFF_WORDS.gettext
    expected = {
        "uma": [
            (student_words, UNKNOWN),
            (student_words, UNKNOWN_BY_HAND),
            (staff, checks.NOT_KNOWN_EITHER),
            (staff, checks.SHARED_STATE),
            (staff, "not a valid split at the kinks ({rule})"),
            (staff, "off by a relative error of {error}"),
        ],
        "ola": [
            (staff, "your result is a {kind}, not a number or a plain numpy array of floats"),
            (staff, problems.UNSUPPORTED["dtype"]),
            (student_words, forms.REASONS["returned a sequence"]),  # MulGate.forward's list
            (student_words, forms.REASONS["unanswered"]),  # f = None
            (staff, "your result is still ...: replace it with your answer"),
            (staff, "your result contains NaN"),
            (staff, "your result contains infinity"),
            (staff, "backward must return {n} gradient(s), one per input (as a tuple)"),
            (staff, "backward must return {n} gradient(s), one per input"),
            (staff, "the function must return f and a tuple of gradients"),
            (staff, "the gradients must be a tuple of {n} entries"),
        ],
        "dan": [
            (staff, problems.PROBLEMS["timeout"]),
            (staff, problems.PROBLEMS["crashed"]),
            (staff, problems.PROBLEMS["memory"]),
            (staff, problems.PROBLEMS["error"]),
            (staff, problems.DETAILS["cell timeout"]),
            (staff, "your function raised {error}"),
            (staff, "your code raised {error}"),
        ],
        UNTOUCHED: [(student_words, "replace this line with your code")],
    }
    missing = [
        (student, message)
        for student, messages in expected.items()
        for gettext, message in messages
        if korean_words(gettext, message) not in said[student]
    ]
    assert not missing, missing
    assert korean_words(staff, "the kernel died while running this cell") in said["dan"]
    # nbgrader's automatic "No response." read like a TA's remark: the page leaves it out (the
    # exercise's panel says the answer was left as released), in either language.
    untouched_page = page_text(korean_class.feedback(UNTOUCHED))
    assert korean_words(staff, "No response.") not in untouched_page and "No response." not in untouched_page


# ---------------------------------------------------------------- in the student's own kernel


@pytest.fixture(scope="module")
def ran_in_kernel(korean_class):
    """The kernel-safe notebooks run top to bottom in a real kernel in the Korean release folder,
    as a student runs them before submitting: the self-checks print, the Validate lines record, the
    last graded cell's summary fails once for the notebook."""
    ran = {}
    for student in IN_KERNEL:
        folder = korean_class.root / "kernel" / student
        shutil.copytree(korean_class.course / "release" / ASSIGNMENT, folder)
        nb = nbformat.read(korean_class.course / "submitted" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb", 4)
        for cell in nb.cells:
            if cell.cell_type == "code" and cell.source.startswith("STUDENT_ID"):
                cell.source = f'STUDENT_ID = "{student}"'
        run_in_kernel(nb, folder, allow_errors=True)
        ran[student] = nb
    return ran


@pytest.mark.parametrize("student", IN_KERNEL)
def test_the_self_checks_and_validate_have_no_english_sentence(ran_in_kernel, student):
    nb = ran_in_kernel[student]
    answer_cells = {grade_id(c) for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}
    # What the student's own cells print is theirs (the submissions print nothing; a syntax error
    # would be Python's words): the self-check cells and the graded cells' Validate lines are the kit's.
    nb.cells = [c for c in nb.cells if grade_id(c) not in answer_cells]
    said = outputs_text(nb)
    summary = [o for c in nb.cells for o in c.get("outputs", []) if o.get("ename") == "NotebookNotReady"]
    assert len(summary) == 1 and HANGUL.search(summary[0].evalue), said[-2000:]
    assert not english_sentences(said), english_sentences(said)
