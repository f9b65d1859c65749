"""Submissions are hostile as files too: plain `nbgrader autograde` + `generate_feedback` in a
course made by `backprop-kit init`, with links, pipes, hard links and huge files beside the
notebook, copied/moved/retyped cells and notebooks that cannot be read — listed cases first,
then hypothesis-fuzzed ones. Real nbgrader, real kernels, the real sandbox.

One course is built once (module fixture); the listed cases are graded in one nbgrader run,
and each fuzzed example submits its mutants as many students graded in one run."""

import hashlib
import itertools
import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from nbgrader.api import Gradebook

from autograder import demo
from autograder.config import load_course
from autograder.course import init
from autograder.exercises import FUNCTIONS_BY_ID
from autograder.grading.cells import graded_call
from autograder.grading.report import read_report, report_path
from autograder.sandbox.bwrap import sandbox_available

simulated_class = demo.load_simulated_class()  # demo/simulated_class.py: demo and test data

REPO = Path(__file__).resolve().parent.parent
SECRET = b"TOP-SECRET-GRADER-FILE 8f1c"
CAP_MB = 1

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sandbox_available(), reason="bubblewrap (bwrap) is not installed"),
]


class Course:
    def __init__(self, root):
        self.root = root
        self.dir = root / "course"
        self.secret = root / "private.txt"  # a grader's file outside the course

    def submission(self, student):
        return self.dir / "submitted" / student / "backprop"

    def submit(self, student, content):
        folder = self.submission(student)
        folder.mkdir(parents=True)
        if isinstance(content, bytes):
            (folder / "backprop.ipynb").write_bytes(content)
        elif content is not None:
            (folder / "backprop.ipynb").write_text(content)
        return folder

    def nbgrader(self, *args):
        done = demo.nbgrader(self.dir, *args)
        return done.returncode, done.stdout + done.stderr

    def report(self, student):
        return read_report(report_path(self.dir, "backprop", student, "backprop"))

    def scores(self, student):
        with Gradebook(f"sqlite:///{self.dir / 'gradebook.db'}") as gb:
            nb = gb.find_submission_notebook("backprop", "backprop", student)
            return {g.name: g.auto_score for g in nb.grades}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    # Its own gradings, not the shared class's (shared_class.py): another course setting
    # (a file-size cap, a secret beside the gradebook), and each case grades its own files.
    root = tmp_path_factory.mktemp("hostile")
    text = (REPO / "course.yaml").read_text()
    text = re.sub(r"(?m)^(\s*timeout_seconds:).*$", r"\1 5", text)
    text = re.sub(r"(?m)^(\s*require_sandbox:).*$", r"\1 true", text)
    text = re.sub(r"(?m)^(\s*max_file_mb:).*$", rf"\1 {CAP_MB}", text)
    (root / "course.yaml").write_text(text)
    c = Course(root)
    init(c.dir, load_course(root / "course.yaml"), root / "course.yaml", log=lambda m: None)
    c.secret.write_bytes(SECRET)
    release = nbformat.read(c.dir / "release" / "backprop" / "backprop.ipynb", as_version=4)
    c.source = nbformat.read(c.dir / "source" / "backprop" / "backprop.ipynb", as_version=4)
    c.good = nbformat.writes(simulated_class.fill(release, simulated_class.reference_answers(c.source)))
    c.needs = needs_by_test(c.source)
    c.answers = {
        cell.metadata["nbgrader"]["grade_id"]
        for cell in c.source.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    return c


def needs_by_test(source):
    """{test grade_id: the answer cells its check runs}."""
    needs = {}
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            exercise = graded_call(cell.source).exercise
            function = FUNCTIONS_BY_ID.get(exercise)
            needs[meta["grade_id"]] = {exercise, *(function.needs if function else ())}
    return needs


def cells_with(nb_json, grade_id):
    return [
        i
        for i, c in enumerate(nb_json["cells"])
        if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id
    ]


# ---------------------------------------------------------------------------------------------
# Listed cases, graded in one run


@dataclass(frozen=True)
class Listed:
    course: Course
    code: int  # of nbgrader autograde
    log: str
    feedback_code: int  # of nbgrader generate_feedback
    feedback_log: str


@pytest.fixture(scope="module")
def listed(course) -> Listed:
    c = course
    c.submit("ann", c.good)
    mal = c.submit("mal", c.good)
    os.symlink(c.dir / "gradebook.db", mal / "grades.db")
    os.symlink(c.secret, mal / "private.txt")
    os.symlink(c.root, mal / "everything")
    os.symlink(c.root / "no-such-file", mal / "dangling")
    os.link(c.secret, mal / "hard.txt")
    os.mkfifo(mal / "pipe")
    (mal / "mine").mkdir()
    (mal / "mine" / "notes.txt").write_text("my own notes")
    (mal / "huge.bin").write_bytes(b"x" * int(1.5 * CAP_MB * 1_000_000))

    good = json.loads(c.good)
    dup = json.loads(c.good)
    test = cells_with(dup, "test_add_gate_backward")[0]
    dup["cells"].insert(test + 1, json.loads(json.dumps(dup["cells"][test])))  # a test cell pasted twice
    answer = json.loads(json.dumps(dup["cells"][cells_with(dup, "mul_gate")[0]]))
    answer["source"] = "class MulGate:\n    pass  # an abandoned draft\n"
    answer["id"] = "draft-copy"
    dup["cells"].append(answer)  # an answer cell copied to the end and broken there
    c.submit("dup", json.dumps(dup))

    mov = json.loads(c.good)
    first = mov["cells"].pop(cells_with(mov, "test_add_gate_forward")[0])
    mov["cells"].insert(0, first)  # a test cell moved to the top
    sig = mov["cells"][cells_with(mov, "sigmoid_gate")[0]]
    sig["cell_type"] = "markdown"  # an answer cell retyped
    del sig["outputs"], sig["execution_count"]
    del mov["cells"][cells_with(mov, "setup_simple")[0]]  # a setup cell deleted
    mov["cells"][cells_with(mov, "test_max_gate_ties")[0]]["metadata"]["nbgrader"]["schema_version"] = 1
    c.submit("mov", json.dumps(mov))

    c.submit("deep", "[" * 100000 + "]" * 100000)
    c.submit("empty", "")
    c.submit("binary", bytes(range(256)) * 40)
    c.submit("v5", json.dumps({**good, "nbformat": 5}))
    c.submit("notnb", json.dumps({"hello": "world"}))
    (c.root / "elsewhere.ipynb").write_text(c.good)
    os.symlink(c.root / "elsewhere.ipynb", c.submit("linked", None) / "backprop.ipynb")
    os.mkfifo(c.submit("piped", None) / "backprop.ipynb")

    code, log = c.nbgrader("autograde", "backprop")
    # A link in autograded/, as a link-following autograde (nbgrader without the kit) leaves one.
    os.symlink(c.secret, c.dir / "autograded" / "ann" / "backprop" / "left-by-an-old-run.txt")
    fcode, flog = c.nbgrader("generate_feedback", "backprop")
    return Listed(c, code, log, fcode, flog)


UNREADABLE = {
    "deep": "nested too deeply",
    "empty": "the file is empty",
    "binary": "binary file",
    "v5": "format version 5",
    "notnb": "JSON without a list of cells",
    "linked": "symbolic link",
    "piped": "not a regular file",
}


def test_the_batch_runs_to_the_end(listed):
    code, log, fcode, flog = listed.code, listed.log, listed.feedback_code, listed.feedback_log
    assert code == 0, log[-3000:]
    assert fcode == 0, flog[-3000:]
    assert "Traceback" not in log and "Traceback" not in flog


def test_links_pipes_hard_links_and_huge_files_never_leave_the_submission(listed):
    c = listed.course
    for top in ("autograded", "feedback"):
        out = c.dir / top / "mal" / "backprop"
        names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if not p.is_dir())
        assert [n for n in names if not n.startswith("bpkit/")] == sorted(
            ["backprop.ipynb" if top == "autograded" else "backprop.html", "mine/notes.txt"]
        ), names
        assert not any(p.is_symlink() for p in out.rglob("*"))
        assert (out / "mine" / "notes.txt").read_text() == "my own notes"
    assert_nothing_from_outside(c, ["mal"])


def test_refused_files_are_named_in_the_log_the_report_and_the_feedback(listed):
    c, log = listed.course, listed.log
    refused = {r["path"]: r["reason"] for r in c.report("mal")["refused_files"]}
    assert set(refused) == {
        "grades.db",
        "private.txt",
        "everything",
        "dangling",
        "hard.txt",
        "pipe",
        "huge.bin",
    }
    assert "symbolic link" in refused["grades.db"] and "hard link" in refused["hard.txt"]
    assert "named pipe" in refused["pipe"] and "cap" in refused["huge.bin"]
    assert "mal/backprop: grades.db was not copied: a symbolic link; not followed." in log
    html = (c.dir / "feedback" / "mal" / "backprop" / "backprop.html").read_text()
    for path in refused:
        assert re.search(
            rf"The file .{{0,12}}{re.escape(path)}.{{0,12}} in your submission was ignored", html
        ), path
    # ... and the rest was graded as usual.
    assert all(r["score"] == r["points"] for r in c.report("mal")["cells"])


def test_a_copied_test_cell_and_a_copied_answer_cell_cost_nothing(listed):
    c = listed.course
    report = c.report("dup")
    assert report["unreadable"] is None
    assert all(r["score"] == r["points"] for r in report["cells"]), [
        r for r in report["cells"] if r["score"] < r["points"]
    ]
    assert len(report["cells"]) == len(c.needs)
    assert any("'test_add_gate_backward' appears 2 times" in n for n in report["notes"])
    assert any("'mul_gate' appears 2 times" in n for n in report["notes"])
    html = (c.dir / "feedback" / "dup" / "backprop" / "backprop.html").read_text()
    assert "appears 2 times" in html
    assert c.scores("dup") == c.scores("ann")


def test_moved_retyped_deleted_and_mangled_cells_cost_nothing_here(listed):
    c = listed.course
    report = c.report("mov")
    assert all(r["score"] == r["points"] for r in report["cells"]), [
        r for r in report["cells"] if r["score"] < r["points"]
    ]
    notes = " ".join(report["notes"])
    assert (
        "moved" in notes
        and "'sigmoid_gate' was changed to markdown" in notes
        and "'setup_simple' was missing" in notes
    )
    nb = nbformat.read(c.dir / "autograded" / "mov" / "backprop" / "backprop.ipynb", as_version=4)
    ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells]
    order = [
        cell.metadata["nbgrader"]["grade_id"]
        for cell in c.source.cells
        if "nbgrader" in cell.metadata and cell.metadata["nbgrader"].get("grade_id")
    ]
    assert [i for i in ids if i] == order  # graded in the assignment's order, every cell once


@pytest.mark.parametrize("student", sorted(UNREADABLE))
def test_unreadable_notebooks_get_the_plain_message_and_a_zero_in_the_gradebook(listed, student):
    c, log = listed.course, listed.log
    assert f"{student}/backprop: backprop.ipynb cannot be graded: " in log
    report = c.report(student)
    assert UNREADABLE[student] in report["unreadable"]
    # Nothing of the student's was read: "not answered", not "error" (the grader's own faults only).
    assert report["cells"] and all(r["score"] == 0 and r["status"] == "not answered" for r in report["cells"])
    scores = c.scores(student)
    assert set(scores) == set(c.needs) and all(s == 0 for s in scores.values())  # a 0, not an empty grade
    html = (c.dir / "feedback" / student / "backprop" / "backprop.html").read_text()
    assert "Your notebook could not be read" in html
    assert_nothing_from_outside(c, [student])


def test_neighbours_are_graded_as_if_alone(listed):
    c = listed.course
    assert all(r["score"] == r["points"] for r in c.report("ann")["cells"])


def test_generate_feedback_copies_no_link_either(listed):
    c, flog = listed.course, listed.feedback_log
    assert not (c.dir / "feedback" / "ann" / "backprop" / "left-by-an-old-run.txt").exists()
    assert "ann/backprop: left-by-an-old-run.txt was not copied: a symbolic link; not followed." in flog


# ---------------------------------------------------------------------------------------------
# Fuzzed: hypothesis mutates a valid submission as files and as JSON


def assert_nothing_from_outside(c, students):
    """No file under autograded/ or feedback/ of these students came from outside their submission:
    each is the graded notebook or its HTML, a helper file of the source, or a byte-for-byte copy of a
    regular file of the submission; no link, and the secret's and the gradebook's bytes nowhere."""
    source = c.dir / "source" / "backprop"
    for student in students:
        submission = c.submission(student)
        for top in ("autograded", "feedback"):
            out = c.dir / top / student / "backprop"
            for path in out.rglob("*") if out.exists() else []:
                assert not path.is_symlink(), path
                if path.is_dir():
                    continue
                rel = path.relative_to(out)
                data = path.read_bytes()
                assert SECRET not in data and not data.startswith(b"SQLite format 3"), path
                if rel.as_posix() in ("backprop.ipynb", "backprop.html"):
                    continue
                if rel.parts[0] == "bpkit" and (source / rel).is_file():
                    assert data == (source / rel).read_bytes(), path
                    continue
                original = submission / rel
                assert not any(
                    p.is_symlink()
                    for p in [original, *original.parents]
                    if submission in p.parents or p == original
                ), path
                assert original.is_file() and original.read_bytes() == data, path


def key_of(cell, key):
    """(container, key) for a cell key or one of its nbgrader metadata keys, or None."""
    if key in ("nbgrader", "tags", "execution", "jupyter", "collapsed"):  # keys of the cell's metadata
        meta = cell.get("metadata")
        return (meta, key) if isinstance(meta, dict) and (key in meta or key != "nbgrader") else None
    if key in ("grade_id", "points", "schema_version", "solution", "locked", "grade"):
        meta = cell.get("metadata")
        nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
        return (nbg, key) if isinstance(nbg, dict) and key in nbg else None
    return (cell, key) if key in cell else None


ODD = [None, 7, 1.5, True, "x", [], {}, [1, "a"], {"a": {"b": []}}, "\u202e\U0001f600" * 3, -1]
CELL_KEYS = [
    "source",
    "metadata",
    "cell_type",
    "outputs",
    "id",
    "execution_count",
    "nbgrader",
    "grade_id",
    "points",
    "schema_version",
    "solution",
    "locked",
    "grade",
    "tags",
    "execution",
    "jupyter",
    "collapsed",
]
ATTACHMENTS = [
    {"a.png": {"image/png": "iVBORw0KGgo="}},
    {"b.png": "not a bundle"},
    ["x"],
    {"c.gif": {"image/gif": 3}},
]

cell_ops = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, 999), st.sampled_from(CELL_KEYS)),
    st.tuples(st.just("swap"), st.integers(0, 999), st.sampled_from(CELL_KEYS), st.sampled_from(ODD)),
    st.tuples(st.just("duplicate"), st.integers(0, 999), st.integers(-3, 3)),
    st.tuples(st.just("move"), st.integers(0, 999), st.integers(0, 999)),
    st.tuples(
        st.just("retype"), st.integers(0, 999), st.sampled_from(["code", "markdown", "raw", "heading", 3])
    ),
    st.tuples(st.just("rename"), st.integers(0, 999), st.text(max_size=12)),
    st.tuples(st.just("huge"), st.integers(0, 999), st.sampled_from([200_000, 600_000])),
    st.tuples(st.just("attach"), st.integers(0, 999), st.sampled_from(ATTACHMENTS)),
)
notebook_ops = st.one_of(
    st.tuples(st.just("nbformat"), st.sampled_from([3, 5, 99, "4", None, 4.0, True])),
    st.tuples(st.just("nbformat_minor"), st.sampled_from([0, 99, -1, "5", None])),
    st.tuples(st.just("drop"), st.sampled_from(["cells", "metadata", "nbformat", "nbformat_minor"])),
    st.tuples(st.just("metadata"), st.sampled_from(ODD)),
    st.tuples(st.just("language_info"), st.sampled_from(ODD)),
    st.tuples(st.just("kernelspec"), st.sampled_from(ODD)),
    st.tuples(st.just("cells"), st.sampled_from([{}, "cells", None, [[]]])),
    st.tuples(st.just("text"), st.sampled_from(["truncate", "list", "deep", "binary", "empty", "bom"])),
)
FILE_OPS = [
    "extra_file",
    "extra_dir",
    "link_secret",
    "link_gradebook",
    "link_dir",
    "link_dangling",
    "hard_link",
    "fifo",
    "huge_file",
    "notebook_link",
    "notebook_fifo",
    "hard_link_inside",
    "dotfile",
    "nested_link",
    "notebook_dir",
    "odd_names",
    "socket",
]
mutants = st.tuples(
    st.lists(cell_ops, max_size=3),
    st.lists(notebook_ops, max_size=1),
    st.lists(st.sampled_from(FILE_OPS), max_size=3, unique=True),
)


def mutate_json(c, raw, ops):
    """Apply cell ops to the notebook JSON; returns the answer cells whose work was touched."""
    touched = set()
    for op, index, *args in ops:
        cells = raw.get("cells") if isinstance(raw, dict) else None
        if not isinstance(cells, list) or not cells:
            return touched
        i = index % len(cells)
        cell = cells[i]
        gid = (
            cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if isinstance(cell, dict)
            and isinstance(cell.get("metadata"), dict)
            and isinstance(cell["metadata"].get("nbgrader"), dict)
            else None
        )
        gid = gid if isinstance(gid, str) else None
        if op in ("delete", "swap"):
            found = key_of(cell, args[0]) if isinstance(cell, dict) else None
            if found:
                container, key = found
                if op == "delete":
                    container.pop(key, None)
                else:
                    container[key] = json.loads(json.dumps(args[1]))
                if key not in ("tags", "execution", "jupyter", "collapsed"):  # those never change a grade
                    touched.add(gid)
        elif op == "duplicate":
            cells.insert(max(0, min(len(cells), i + 1 + args[0])), json.loads(json.dumps(cell)))
        elif op == "move":
            cells.insert(args[0] % len(cells), cells.pop(i))
        elif op == "retype":
            if isinstance(cell, dict):
                cell["cell_type"] = args[0]
                if args[0] not in ("code", "markdown", "raw"):
                    touched.add(gid)
        elif op == "rename":
            if gid is not None:
                cell["metadata"]["nbgrader"]["grade_id"] = args[0]
                touched.add(gid)
        elif op == "huge":
            cells.insert(i, {"cell_type": "markdown", "metadata": {}, "source": "huge " * (args[0] // 5)})
        elif op == "attach":  # noqa: SIM102
            if isinstance(cell, dict):
                cell["attachments"] = json.loads(json.dumps(args[0]))
    return touched & c.answers


def mutate_notebook(raw, ops):
    """Apply notebook-level ops; returns (the notebook's bytes, whether the ops replaced its cells)."""
    return _mutated_bytes(raw, ops), any(op == "cells" for op, _ in ops)


def _mutated_bytes(raw, ops):
    for op, arg in ops:
        if op == "nbformat":
            raw["nbformat"] = arg
        elif op == "nbformat_minor":
            raw["nbformat_minor"] = arg
        elif op == "drop":
            raw.pop(arg, None)
        elif op == "metadata":
            raw["metadata"] = arg
        elif op in ("language_info", "kernelspec") and isinstance(raw.get("metadata"), dict):
            raw["metadata"][op] = arg
        elif op == "cells":
            raw["cells"] = arg
        elif op == "text":
            text = json.dumps(raw).encode()
            return {
                "truncate": text[: len(text) // 2],
                "list": b"[" + text + b"]",
                "binary": os.urandom(3000),
                "deep": b'{"cells": ' + b"[" * 5000 + b"]" * 5000 + b"}",
                "empty": b"",
                "bom": b"\xef\xbb\xbf" + text,
            }[arg]
    return json.dumps(raw).encode()


def add_files(c, folder, ops):
    """Put files of every kind in a submission folder; returns what may legitimately travel."""
    own = {}
    for op in ops:
        if op == "extra_file":
            (folder / "data.csv").write_text("1,2,3\n")
            own["data.csv"] = b"1,2,3\n"
        elif op == "extra_dir":
            (folder / "extra" / "deeper").mkdir(parents=True)
            (folder / "extra" / "deeper" / "x.py").write_text("print('x')\n")
            own["extra/deeper/x.py"] = b"print('x')\n"
        elif op == "dotfile":
            (folder / ".hidden").write_text("h")
            own[".hidden"] = b"h"
        elif op == "link_secret":
            os.symlink(c.secret, folder / "secret.txt")
        elif op == "link_gradebook":
            os.symlink(c.dir / "gradebook.db", folder / "gradebook.db")
        elif op == "link_dir":
            os.symlink(c.dir, folder / "course")
        elif op == "link_dangling":
            os.symlink("/nonexistent/file", folder / "gone")
        elif op == "nested_link":
            (folder / "sub").mkdir(exist_ok=True)
            os.symlink("../../../../gradebook.db", folder / "sub" / "db")
        elif op == "hard_link":
            os.link(c.secret, folder / "hard.txt")
        elif op == "hard_link_inside":
            (folder / "a.txt").write_text("twice")
            os.link(folder / "a.txt", folder / "b.txt")
            own.update({"a.txt": b"twice", "b.txt": b"twice"})
        elif op == "fifo":
            os.mkfifo(folder / "fifo")
        elif op == "huge_file":
            (folder / "big.bin").write_bytes(b"\0" * (CAP_MB * 1_000_000 + 1))
        elif op == "notebook_link":
            if not (folder / "backprop.ipynb").is_file() or (folder / "backprop.ipynb").is_symlink():
                continue  # already a pipe
            (folder / "backprop.ipynb").rename(folder / "real.ipynb.txt")
            os.symlink(c.root / "elsewhere.ipynb", folder / "backprop.ipynb")
            own["real.ipynb.txt"] = (folder / "real.ipynb.txt").read_bytes()
        elif op == "notebook_fifo":
            (folder / "backprop.ipynb").unlink()
            os.mkfifo(folder / "backprop.ipynb")
        elif op == "notebook_dir":
            (folder / "backprop.ipynb").unlink()
            (folder / "backprop.ipynb").mkdir()
            (folder / "backprop.ipynb" / "inside.txt").write_text("a folder named like the notebook")
        elif op == "odd_names":
            name = "r\u00e9sum\u00e9 \n\u202e.txt"
            (folder / name).write_text("odd")
            own[name] = b"odd"
            os.symlink(c.secret, os.path.join(os.fsencode(folder), b"\xff\xfe-link"))
        elif op == "socket":
            with socket.socket(socket.AF_UNIX) as sock:
                sock.bind(str(folder / "sock"))
    return own


def snapshot(c):
    """Every graded student's gradebook scores and the bytes of their autograded/ and feedback/ files."""
    with Gradebook(f"sqlite:///{c.dir / 'gradebook.db'}") as gb:
        students = [s.id for s in gb.students]
    files = {}
    for top in ("autograded", "feedback"):
        for path in sorted((c.dir / top).rglob("*")):
            if path.is_file():
                files[path.relative_to(c.dir).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return {s: c.scores(s) for s in students}, files


_names = itertools.count()


@settings(
    max_examples=3,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@given(batch=st.lists(mutants, min_size=8, max_size=8))
def test_fuzzed_submissions_are_graded_or_refused_plainly_and_touch_nothing_else(listed, batch):
    c = listed.course
    before_scores, before_files = snapshot(c)
    expected = {}
    for cell_ops_, notebook_ops_, file_ops in batch:
        student = f"fuzz{next(_names)}"
        raw = json.loads(c.good)
        touched = mutate_json(c, raw, cell_ops_)
        data, replaced = mutate_notebook(raw, notebook_ops_)
        touched = c.answers if replaced else touched
        folder = c.submit(student, data)
        expected[student] = (touched, add_files(c, folder, file_ops), (cell_ops_, notebook_ops_, file_ops))

    code, log = c.nbgrader("autograde", "backprop")
    fcode, flog = c.nbgrader("generate_feedback", "backprop")
    assert code == 0 and fcode == 0, (log + flog)[-4000:]  # the batch never stops

    after_scores, after_files = snapshot(c)
    assert {s: after_scores[s] for s in before_scores} == before_scores  # nobody else's grades changed
    assert {k: after_files[k] for k in before_files} == before_files  # nor their files
    for student, (touched, own, ops) in expected.items():
        report = c.report(student)
        event("unreadable" if report and report["unreadable"] else "graded")
        assert report is not None, (student, ops)
        scores = c.scores(student)
        assert set(scores) == set(c.needs), (student, ops)
        if report["unreadable"]:
            assert f"{student}/backprop: backprop.ipynb cannot be graded: " in log, (student, ops)
            assert all(v == 0 for v in scores.values()), (student, ops)
        else:
            for test, needs in c.needs.items():
                if not needs & touched:
                    row = next(r for r in report["cells"] if r["grade_id"] == test)
                    assert row["score"] == row["points"] == scores[test], (student, test, row, ops)
        out = c.dir / "autograded" / student / "backprop"
        travelled = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {
            "backprop.ipynb"
        }
        assert {t for t in travelled if not t.startswith("bpkit/")} == set(own), (student, ops)
        assert (c.dir / "feedback" / student / "backprop" / "backprop.html").is_file(), (student, ops)
    assert_nothing_from_outside(c, list(expected))


# ---------------------------------------------------------------------------------------------
# The same mutations, many more of them, through the reader and the real sanitize steps in process


def sanitize_in_process(c, data):
    """The sanitize pass of `nbgrader autograde` as the kit's nbgrader_config.py wires it, on bytes."""
    from nbgrader.nbgraderformat import MetadataValidator
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        OverwriteCells,
        OverwriteKernelspec,
    )

    from autograder.grading.reading import parse_notebook
    from autograder.grading.sanitize import SanitizeCells, ShowNotes

    read = parse_notebook(data)
    if read.nb is None:
        return read.reason, None
    nb = read.nb
    nb.metadata["backprop_kit"] = {"unreadable": None, "notes": list(read.notes), "refused_files": []}
    resources = {
        "nbgrader": {
            "student": "fuzz",
            "assignment": "backprop",
            "notebook": "backprop",
            "db_url": f"sqlite:///{c.dir / 'gradebook.db'}",
        }
    }
    for step in (
        ClearOutput(),
        SanitizeCells(),
        DeduplicateIds(),
        OverwriteKernelspec(),
        OverwriteCells(add_missing_cells=False),
        CheckCellMetadata(),
        ShowNotes(),
    ):
        nb, resources = step.preprocess(nb, resources)
    nbformat.validate(nb)
    MetadataValidator().validate_nb(nb)
    return "", nbformat.reads(nbformat.writes(nb), as_version=4)


@settings(
    max_examples=150, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
@given(mutant=mutants)
def test_sanitize_never_fails_and_keeps_untouched_answers(course, mutant):
    c = course
    cell_ops_, notebook_ops_, _ = mutant
    raw = json.loads(c.good)
    touched = mutate_json(c, raw, cell_ops_)
    data, replaced = mutate_notebook(raw, notebook_ops_)
    touched = c.answers if replaced else touched
    reason, nb = sanitize_in_process(c, data)
    event("unreadable" if nb is None else f"graded, {len(touched)} answer cells touched")
    if nb is None:
        assert reason and "\n" not in reason and len(reason) < 300
        return
    assigned = [
        cell.metadata["nbgrader"]["grade_id"]
        for cell in c.source.cells
        if cell.metadata.get("nbgrader", {}).get("grade_id")
    ]
    ids = [cell.metadata["nbgrader"]["grade_id"] for cell in nb.cells if "nbgrader" in cell.metadata]
    locked = [g for g in assigned if g not in c.answers]
    assert [g for g in ids if g in locked] == locked  # every locked cell once, in order
    assert len(ids) == len(set(ids)) and ids == [g for g in assigned if g in ids]
    good = {
        cell.metadata["nbgrader"]["grade_id"]: cell
        for cell in nbformat.reads(c.good, as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("grade_id")
    }
    assert c.answers - touched <= set(ids)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in c.answers and gid not in touched:
            assert cell.source == good[gid].source and cell.cell_type == good[gid].cell_type, gid


# ---------------------------------------------------------------------------------------------
# nbgrader collect: the exchange's inbound folder is the student's own


def test_collect_copies_only_regular_files_out_of_the_exchange(course):
    c = course
    inbound = c.root / "exchange" / "cs231n-backprop" / "inbound"
    folder = inbound / "zed+backprop+2026-11-25 10:00:00.000000 UTC+abc123"
    folder.mkdir(parents=True)
    (folder / "backprop.ipynb").write_text(c.good)
    (folder / "timestamp.txt").write_text("2026-11-25 10:00:00.000000 UTC")
    os.symlink(c.dir / "gradebook.db", folder / "grades.db")
    os.link(c.secret, folder / "hard.txt")
    os.mkfifo(folder / "pipe")
    code, log = c.nbgrader(
        "collect",
        "backprop",
        f"--Exchange.root={c.root / 'exchange'}",
        "--CourseDirectory.course_id=cs231n-backprop",
    )
    assert code == 0, log[-3000:]
    collected = c.submission("zed")
    assert sorted(p.name for p in collected.iterdir()) == ["backprop.ipynb", "timestamp.txt"]
    assert (collected / "backprop.ipynb").read_text() == c.good and not any(
        p.is_symlink() for p in collected.iterdir()
    )
    for name in ("grades.db", "hard.txt", "pipe"):
        assert f"{name} was not collected" in log, name
