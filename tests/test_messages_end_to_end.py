"""Messages a student can act on, and functions graded on their method (issue 33, items 4 and 5),
end to end: a class of students who wrote what real students write, graded in one batch by real
`nbgrader autograde` and by `backprop-kit autograde --jobs 2`, in English and in Korean; and
`nbgrader validate` (the Validate button) on the same notebooks, before submission.

- A hand-answer cell that uses what the setup cells do not define (the student's own MulGate, a
  helper defined beside a gate) is told so: graded with the setup cells only.
- A module the grading environment lacks (scipy: JupyterHub images have it) is named, with numpy
  as the way out; Validate warns before submission (a stand-in scipy sits beside the notebook,
  as JupyterHub's would).
- A function whose gradients do not come from the gates' backward loses the method's share.
"""

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest
from lanes import lane, require_sandbox

from autograder import demo
from autograder.bpkit import reach
from autograder.bpkit.i18n import speaking
from autograder.config import load_course
from autograder.course import init, nbgrader_environment
from autograder.grading import checks
from autograder.words import _ as staff_words
from autograder.words import student_words

simulated_class = demo.load_simulated_class()
REPO = Path(__file__).resolve().parent.parent

HAND_WITH_GATE = """
    add, mul = AddGate(), MulGate()          # my own gates do the arithmetic
    q = add.forward(x, y)
    f = mul.forward(q, z)
    dfdq, dfdz = mul.backward(1.0)
    dfdx, dfdy = add.backward(dfdq)
    """
SIGMOID_WITH_HELPER = """
    import numpy as np

    def sig(v):                              # a helper beside the class, used by hand below
        return 1 / (1 + np.exp(-v))

    class SigmoidGate:
        def forward(self, x):
            self.s = sig(x)
            return self.s
        def backward(self, dout):
            return dout * self.s * (1 - self.s)
    """
SIGMOID_WITH_SCIPY = """
    from scipy.special import expit

    class SigmoidGate:
        def forward(self, x):
            self.s = expit(x)
            return self.s
        def backward(self, dout):
            return dout * self.s * (1 - self.s)
    """
SIMPLE_BY_DIFFERENCES = """
    def simple_with_gates(x, y, z):
        def f(x, y, z):
            return (x + y) * z
        h = 1e-6
        return f(x, y, z), (
            (f(x + h, y, z) - f(x - h, y, z)) / (2 * h),
            (f(x, y + h, z) - f(x, y - h, z)) / (2 * h),
            (f(x, y, z + h) - f(x, y, z - h)) / (2 * h),
        )
    """
NEURON_BY_FORMULA = """
    import numpy as np

    def neuron_with_gates(w, x):
        s = SigmoidGate().forward(w[0] * x[0] + w[1] * x[1] + w[2])
        local = s * (1 - s)
        return s, ((x[0] * local, x[1] * local, local), (w[0] * local, w[1] * local))
    """
FAKE_SCIPY = {  # what a JupyterHub image provides, for the student's own kernel only
    "scipy/__init__.py": "",
    "scipy/special.py": "import numpy as np\n\ndef expit(x):\n    return 1 / (1 + np.exp(-np.asarray(x, float)))\n",
}


def neuron_by_hand_with_helper(correct):
    """The reference hand answers for the neuron, with f computed by the helper `sig` of the
    SigmoidGate cell (what the helper gives is right in the student's kernel)."""
    return correct + "\nf = sig(w[0] * x[0] + w[1] * x[1] + w[2])\n"


def answers_of(correct):
    """{student: (what they did, their answer cells)}."""
    return {
        "hana": ("a hand cell calling her own gates", {**correct, "simple_by_hand": HAND_WITH_GATE}),
        "ivan": (
            "a hand cell using a helper of a gate cell",
            {
                **correct,
                "sigmoid_gate": SIGMOID_WITH_HELPER,
                "neuron_by_hand": neuron_by_hand_with_helper(correct["neuron_by_hand"]),
            },
        ),
        "june": ("scipy in a gate cell", {**correct, "sigmoid_gate": SIGMOID_WITH_SCIPY}),
        "kai": (
            "functions without the gates' backward",
            {**correct, "simple_with_gates": SIMPLE_BY_DIFFERENCES, "neuron_with_gates": NEURON_BY_FORMULA},
        ),
        "lee": ("correct", correct),
    }


def submit(base, release, answers):
    for student, (_what, cells) in answers.items():
        folder = base / "submitted" / student / "backprop"
        folder.mkdir(parents=True)
        nb = simulated_class.fill(release, {k: textwrap.dedent(v) for k, v in cells.items()})
        for cell in nb.cells:
            if cell.cell_type == "code" and cell.source.startswith("STUDENT_ID"):
                cell.source = f'STUDENT_ID = "{student}"'
        nbformat.write(nb, folder / "backprop.ipynb")


def build(root, language):
    text = (REPO / "course.yaml").read_text()
    text = re.sub(r"(?m)^language:.*$", f"language: {language}", text)
    text = re.sub(r"(?m)^(\s*timeout_seconds:).*$", r"\1 20", text)
    config = root / "course.yaml"
    config.write_text(text)
    base = root / "base"
    init(base, load_course(config), config, log=lambda m: None)
    source = nbformat.read(base / "source" / "backprop" / "backprop.ipynb", as_version=4)
    release = nbformat.read(base / "release" / "backprop" / "backprop.ipynb", as_version=4)
    answers = answers_of(simulated_class.reference_answers(source))
    submit(base, release, answers)
    return base, release, answers


def kit_autograde(course_dir):
    done = subprocess.run(
        [sys.executable, "-m", "autograder.cli", "autograde", "backprop", "--jobs", "2"],
        cwd=course_dir,
        capture_output=True,
        text=True,
        env=nbgrader_environment(),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


class Graded(NamedTuple):
    stock: Path  # graded by nbgrader autograde
    kit: Path  # graded by backprop-kit autograde --jobs 2
    release: object
    answers: dict
    language: str


@lane("e2e")
@pytest.fixture(scope="module", params=["en", "ko"])
def graded(request, tmp_path_factory):
    """The class graded both ways, in English and in Korean."""
    require_sandbox()
    root = tmp_path_factory.mktemp(f"messages-{request.param}")
    base, release, answers = build(root, request.param)
    stock, kit = root / "stock", root / "kit"
    shutil.copytree(base, stock, symlinks=True)
    shutil.copytree(base, kit, symlinks=True)
    stock_run = demo.nbgrader(stock, "autograde", "backprop")
    assert stock_run.returncode == 0, stock_run.stderr[-3000:]
    kit_autograde(kit)
    return Graded(stock, kit, release, answers, request.param)


def said(language, catalog_words, message, **fields):
    """A message as the course's language says it (English: the message id)."""
    with speaking(language):
        return catalog_words(message).format(**fields)


def cells(course_dir, student):
    report = course_dir / "backprop-kit" / "reports" / "backprop" / student / "backprop.json"
    return {c["grade_id"]: c for c in json.loads(report.read_text())["cells"]}


def test_both_graders_give_the_same_scores_and_words(graded):
    for student in graded.answers:
        assert cells(graded.stock, student) == cells(graded.kit, student), student


def test_a_hand_cell_using_the_students_own_gates_is_told_it_is_graded_with_the_setup_cells_only(graded):
    hana = cells(graded.stock, "hana")["test_simple_by_hand"]
    assert hana["score"] == 0
    assert "NameError" in hana["feedback"]  # what happened, then what to do about it
    told = said(graded.language, student_words, reach.OUTSIDE_SETUP, names="AddGate, MulGate")
    assert told in hana["feedback"], hana["feedback"]
    ivan = cells(graded.stock, "ivan")
    told = said(graded.language, student_words, reach.OUTSIDE_SETUP, names="sig")
    assert told in ivan["test_neuron_by_hand"]["feedback"], ivan["test_neuron_by_hand"]["feedback"]
    assert ivan["test_sigmoid_gate_forward"]["score"] == ivan["test_sigmoid_gate_forward"]["points"]


def test_a_module_the_grading_environment_lacks_is_named_with_numpy_as_the_way_out(graded):
    june = cells(graded.stock, "june")
    told = said(graded.language, student_words, reach.NOT_AVAILABLE, module="scipy")
    if graded.language == "en":
        assert told == "scipy is not available where your notebook is graded; use numpy."
    for grade_id in ("test_sigmoid_gate_forward", "test_sigmoid_gate_backward"):
        assert june[grade_id]["score"] == 0
        assert told in june[grade_id]["feedback"], june[grade_id]["feedback"]
    assert june["test_add_gate_forward"]["score"] == june["test_add_gate_forward"]["points"]


def test_functions_without_the_gates_backward_lose_the_methods_half_only(graded):
    kai, lee = cells(graded.stock, "kai"), cells(graded.stock, "lee")
    method = said(graded.language, staff_words, checks.METHOD_NAME)
    for grade_id, stayed in (
        ("test_simple_with_gates", "dx, dy, dz"),
        ("test_neuron_with_gates", "dw0, dw1, dw2, dx0, dx1"),
    ):
        feedback = kai[grade_id]["feedback"]
        assert kai[grade_id]["score"] == kai[grade_id]["points"] / 2, feedback
        why = said(graded.language, staff_words, checks.NOT_FROM_GATES, names=stayed)
        assert f"[FAIL] {method}: {why}" in feedback, feedback
        assert lee[grade_id]["score"] == lee[grade_id]["points"]
        assert f"[ok ] {method}" in lee[grade_id]["feedback"]
    assert all(c["score"] == c["points"] for c in lee.values())


# ---------------------------------------------------------------- before submission


def validate(course_dir, nb, name, extra_files=None):
    folder = course_dir / "students" / name
    folder.mkdir(parents=True)
    (folder / "bpkit").symlink_to(course_dir / "release" / "backprop" / "bpkit")
    for path, text in (extra_files or {}).items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    nbformat.write(nb, folder / "backprop.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", "backprop.ipynb"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.stdout + done.stderr


def filled(release, student, cells_of):
    nb = simulated_class.fill(release, {k: textwrap.dedent(v) for k, v in cells_of.items()})
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith("STUDENT_ID"):
            cell.source = f'STUDENT_ID = "{student}"'
    return nb


def test_validate_warns_before_submission(graded):
    """In the course's language: the Korean course's Validate says the same, in Korean."""
    will_fail = "this will fail where your notebook is graded."  # bpkit/validate.py's HEADS["graded"]

    def told(message, **fields):
        return " ".join(said(graded.language, student_words, message, **fields).split())

    stock, release, answers = graded.stock, graded.release, graded.answers
    hana = " ".join(validate(stock, filled(release, "hana", answers["hana"][1]), "hana").split())
    assert "Success!" not in hana, hana[-3000:]
    assert told(will_fail) in hana, hana
    assert told(reach.OUTSIDE_SETUP, names="AddGate, MulGate") in hana, hana
    if graded.language == "en":
        assert "f = (x + y) · z by hand (part 1): this will fail where your notebook is graded." in hana, hana
    june = validate(stock, filled(release, "june", answers["june"][1]), "june", FAKE_SCIPY)
    june = " ".join(june.split())
    assert "Success!" not in june, june[-3000:]
    assert told(reach.NOT_AVAILABLE, module="scipy") in june, june
    if graded.language == "ko":
        assert "노트북을 채점하는 곳에는 scipy이(가) 없습니다. numpy를 쓰세요." in june, june
    lee = validate(stock, filled(release, "lee", answers["lee"][1]), "lee")
    assert "Success! Your notebook passes all the tests." in lee, lee[-3000:]
