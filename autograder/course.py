"""Build an nbgrader course directory from course.yaml: source notebooks, the student-side
helpers (bpkit/), nbgrader_config.py, and the release made by nbgrader itself."""

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from solutions import graphs as described

from . import notebooks
from .authored import authored_cells
from .bpkit.i18n import SOURCE_LANGUAGE, STUDENT_DOMAIN, STUDENT_LOCALE, speaking
from .config import ConfigError, Problem
from .exercises import BY_ID as HAND_EXERCISES
from .exercises import shipped_functions
from .words import N_, _

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
# The kit's own course (course.yaml and assignments/): at the top of a checkout, and inside the
# package as kit/ in an installed wheel (setup.py copies them there).
KIT_COURSE = PACKAGE_DIR / "kit" if (PACKAGE_DIR / "kit" / "course.yaml").is_file() else REPO_ROOT
KIT_COURSE_YAML = KIT_COURSE / "course.yaml"
KIT_ASSIGNMENTS = KIT_COURSE / "assignments"  # the kit's own notebook sources
# The student-side helpers. graphs.py, misconceptions.py, gate_kinds.py, table.py and variants.py are the
# reference's own files (solutions/), linked into bpkit/ so the kit's checkout imports them as a
# release does; a release's table.py is the operation table without its local gradients.
BPKIT_MODULES = (
    "__init__.py",
    "acceptance.py",
    "forms.py",
    "gate_kinds.py",
    "gradcheck.py",
    "graphs.py",
    "i18n.py",
    "misconceptions.py",
    "pictures.py",
    "problems.py",
    "reach.py",
    "selfcheck.py",
    "slips.py",
    "table.py",
    "validate.py",
    "variants.py",
)
STUDENT_WORK = ("submitted", "autograded", "feedback")  # never touched by init


class CourseDirectoryError(RuntimeError):
    pass


# What a notebook may import where it is graded, besides course.yaml's grading.packages: the
# standard library, numpy, the release's own bpkit/ and IPython (the grading worker runs cells
# as a kernel does, display() included).
ALWAYS_IMPORTABLE = ("numpy", "bpkit", "IPython")


def importable_modules(packages):
    """The top-level modules a notebook may import where it is graded, sorted (`packages`:
    course.yaml's grading.packages): shipped in the release's course.json, where Validate and the
    self-checks read them (bpkit/reach.py), and what the grader's feedback goes by."""
    names = set(sys.stdlib_module_names) | set(ALWAYS_IMPORTABLE)
    for requirement in packages:
        names.update(modules_of_package(requirement))
    return sorted(names)


def modules_of_package(requirement):
    """The top-level modules a package of grading.packages provides: its installed distribution's
    own list where the kit runs (scikit-learn: sklearn), else its name as Python writes it."""
    import importlib.metadata
    import re

    name = re.split(r"[<>=!~,]", requirement, maxsplit=1)[0]
    provided = [
        module
        for module, distributions in importlib.metadata.packages_distributions().items()
        if any(d.lower().replace("_", "-") == name.lower().replace("_", "-") for d in distributions)
    ]
    return provided or [name.lower().replace("-", "_").replace(".", "_")]


def hand_cells(rendered, graph_mode):
    """{hand exercise: {"setup": the names the setup cells graded with it define, "answers": its
    answer names}} of an assignment's notebooks: the student side tells a hand-answer cell that
    uses anything else before submission (bpkit/reach.py), as the grader does after."""
    from .bpkit import reach
    from .grading.cells import is_setup, nbgrader_meta

    found, shapes = {}, notebooks.answer_shapes_by_exercise(graph_mode)
    for nb in rendered.values():
        defined = {"STUDENT_ID"}  # the grader's first cell, as the student's is
        for cell in nb.cells:
            grade_id = nbgrader_meta(cell).get("grade_id", "")
            if is_setup(cell):
                defined.update(reach.bound_names(reach.python_of(cell.source)))
            elif grade_id in HAND_EXERCISES and nbgrader_meta(cell).get("solution"):
                found[grade_id] = {"setup": sorted(defined), "answers": list(shapes.get(grade_id, {}))}
    return found


def released_draw_rule(course_dir, assignment):
    """The rule by which this assignment's students' numbers are drawn (bpkit/acceptance.py:
    DRAW_RULES): the one its release was made with, which source/<assignment>/bpkit/course.json
    (the grader's copy of what students got) records; one written before releases recorded it was
    made under rule 1; an assignment not generated yet takes today's. So a newer kit grades, and
    regenerates, a release with the numbers its students saw."""
    from .bpkit import acceptance, problems

    for folder in ("source", "release"):  # the release alone where only it was copied (Gradescope)
        path = Path(course_dir) / folder / assignment / "bpkit" / "course.json"
        try:
            settings = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(settings, dict):
            return problems.released_rule(settings)
    return acceptance.DRAW_RULE


def assemble_bpkit(dest, course, assignment, exercises=None, hand=None, draw_rule=None):
    """bpkit/ as shipped to students: the student-side modules, the exercise descriptions and the
    misconception catalog and the operation table (solutions/'s own files; the table without its
    local gradients), the functions built from gates as data (exercise_table.json: generated here for the course's graph
    mode, so it cannot disagree with the kit's tables) and the course settings that pick the
    student's numbers and graphs (course.json; `exercises`: the hand exercises whose numbers
    the assignment's notebooks use; `draw_rule`: the rule they are drawn by, today's by default)."""
    from .bpkit import acceptance

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in BPKIT_MODULES:
        shutil.copyfile(PACKAGE_DIR / "bpkit" / name, dest / name)
    (dest / "table.py").write_text(without_local_gradients((PACKAGE_DIR / "bpkit" / "table.py").read_text()))
    (dest / "exercise_table.json").write_text(json.dumps(shipped_functions(course.graphs), indent=1) + "\n")
    settings = {
        "course_id": course.course_id,
        "seed": course.seed,
        "randomization": course.randomization,
        "graphs": course.graphs,
        "language": course.language,
        "assignment": assignment.name,
        "tolerances": course.tolerances.model_dump(),
        "importable": importable_modules(course.grading.packages),
        "hand_cells": hand or {},
        "draw_rule": acceptance.DRAW_RULE if draw_rule is None else int(draw_rule),
    }
    if exercises is not None:  # the hand exercises its notebooks grade: only their numbers are drawn
        settings["exercises"] = list(exercises)
        # course.yaml's own exercises, as data: bpkit registers them before it draws (problems.load)
        settings["authored"] = [
            described.as_contract(a.exercise) for a in course.authored if a.exercise.id in exercises
        ]
    (dest / "course.json").write_text(json.dumps(settings, indent=1) + "\n")
    for catalog in shipped_catalogs(course.language):
        (dest / catalog).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(STUDENT_LOCALE.parent / catalog, dest / catalog)
    return dest


def without_local_gradients(source):
    """The operation table's source without any row's `backward=` (the graded gates' answers) and
    the `forward=` of a row with `forward_is_answer=True` (a layer's), as nbgrader's ClearSolutions
    clears a solution: the lines of each such keyword argument (and the comment right above it) go.
    A row whose answer shares a line with anything else is refused, not half removed."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    drop: set = set()
    answers: list[ast.keyword] = [
        node for node in ast.walk(tree) if isinstance(node, ast.keyword) and node.arg == "backward"
    ]
    for call in ast.walk(tree):  # a layer's forward is an answer too where its row says so
        if isinstance(call, ast.Call) and any(
            k.arg == "forward_is_answer" and isinstance(k.value, ast.Constant) and k.value.value is True
            for k in call.keywords
        ):
            answers += [k for k in call.keywords if k.arg == "forward"]
    for node in answers:
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        if not lines[first].lstrip().startswith(f"{node.arg}=") or lines[last].rstrip()[-1:] != ",":
            raise ValueError(
                f"solutions/table.py:{node.lineno}: a row's {node.arg}= must stand on lines of its own"
            )
        while first > 0 and lines[first - 1].lstrip().startswith("#"):
            first -= 1  # its comment says how the answer is computed: it goes too
        drop.update(range(first, last + 1))
    kept = "".join(line for i, line in enumerate(lines) if i not in drop)
    ast.parse(kept)  # still the table, just without answers
    return kept


def shipped_catalogs(language):
    """The compiled catalogs bpkit/ needs to speak the course's language, relative to bpkit/ (the
    .po sources stay with the kit: bpkit reads .mo files only). English needs none: its words are
    the message ids."""
    if language == SOURCE_LANGUAGE:
        return []
    return [Path(STUDENT_LOCALE.name) / language / "LC_MESSAGES" / f"{STUDENT_DOMAIN}.mo"]


def notebook_folder(course):
    """Where a course's notebook sources are: the assignments/ folder beside its course.yaml
    when there is one (the instructor's own notebooks), otherwise the kit's own, so that a
    course.yaml kept alone (or the copy init puts in the course directory) builds the kit's
    notebooks. Never a mix of the two: a notebook missing from the instructor's folder is an
    error, not silently the kit's."""
    beside = course.root / "assignments"
    return beside if beside.is_dir() else KIT_ASSIGNMENTS


def notebook_sources(course, assignment):
    """{notebook: its jupytext source} for one assignment. A listed notebook without a source
    is a ConfigError naming course.yaml's line, the assignment, the notebook and the path."""
    sources, problems = _notebook_sources(course, assignment)
    if problems:
        raise ConfigError(problems, course.source)
    return sources


def _notebook_sources(course, assignment):
    """({notebook: source path}, [Problem] for the listed notebooks without a source)."""
    folder = notebook_folder(course)
    where = (
        _("the assignments/ folder beside course.yaml")
        if folder == course.root / "assignments"
        else _("the kit's own assignments/, as there is no assignments/ folder beside course.yaml")
    )
    index = course.assignment_names.index(assignment.name)
    sources, problems = {}, []
    for i, notebook in enumerate(assignment.notebooks):
        sources[notebook] = path = folder / f"{notebook}.py"
        if not path.is_file():
            key = f"assignments[{index}].notebooks[{i}]"
            problems.append(
                Problem(
                    course.source and str(course.source),
                    course.line_of(key),
                    key,
                    _(
                        "assignment {assignment!r} lists notebook {notebook!r}, but its source {path} does not exist "
                        "(notebook sources are read from {where})"
                    ).format(assignment=assignment.name, notebook=notebook, path=path, where=where),
                )
            )
    return sources, problems


def build_sources(course):
    """[(assignment, {notebook: source notebook})]: every notebook of the course rendered with
    course.yaml's points, in memory, so that a wrong course.yaml is found before anything is
    written. Every missing source and unknown exercise of every assignment is reported at
    once (one ConfigError)."""
    built, problems = _build(course)
    if problems:
        raise ConfigError(by_line(problems), course.source)
    return built


def _build(course):
    built, problems = [], []
    for assignment in course.assignments:
        if (
            not assignment.name
        ):  # a placeholder of load_lenient: that assignment's schema problems are reported
            continue
        sources, missing = _notebook_sources(course, assignment)
        problems += missing
        with speaking(course.language):  # the kit's prose and comments in the course's language
            rendered = {
                name: notebooks.render(
                    path, course.graphs, extra=authored_cells(course, assignment, name, path)
                )
                for name, path in sources.items()
                if path.is_file()
            }
        if missing:  # an override may name an exercise of the missing notebook: checked once it is there
            continue
        try:
            points = course.points_for(
                assignment.name, [e for nb in rendered.values() for e in notebooks.graded_exercises(nb)]
            )
        except ConfigError as e:
            problems += e.problems
            continue
        for nb in rendered.values():
            notebooks.apply_points(nb, points)
        built.append((assignment, rendered))
    return built, problems


def by_line(problems):
    return sorted(dict.fromkeys(problems), key=lambda p: (p.line or 0, p.key))


def load_and_build(course_yaml):
    """(Course, built sources): course.yaml loaded and every notebook it names rendered, every
    problem of the file reported in one ConfigError — those of its schema, its notebook
    sources and its points overrides together, one a line by line number."""
    from .config import load_course, load_lenient

    try:
        course, problems = load_course(course_yaml), []
    except ConfigError as e:
        lenient, problems = load_lenient(course_yaml), list(e.problems)
        if lenient is None:
            raise
        course = lenient
    built, more = _build(course)
    if problems or more:
        raise ConfigError(by_line(problems + more), course.source)
    return course, built


def write_sources(course_dir, course, built):
    """source/<assignment>/: the rendered notebooks, and bpkit/."""
    for assignment, rendered in built:
        target = Path(course_dir) / "source" / assignment.name
        target.mkdir(parents=True, exist_ok=True)
        for name, nb in rendered.items():
            nbformat.write(nb, target / f"{name}.ipynb")
        graded = [e for nb in rendered.values() for e in notebooks.graded_exercises(nb)]
        rule = released_draw_rule(course_dir, assignment.name)  # read before bpkit/ is rewritten
        assemble_bpkit(
            target / "bpkit",
            course,
            assignment,
            [e for e in graded if e in HAND_EXERCISES],
            hand_cells(rendered, course.graphs),
            draw_rule=rule,
        )


def nbgrader_environment():
    """The environment for running nbgrader: it calls `alembic` by name, so the tools of this
    Python's environment come first on PATH even when it was not activated."""
    from .tool_path import with_tools

    env = dict(os.environ)
    env["PATH"] = with_tools(env.get("PATH", ""))
    return env


def holds_student_work(course_dir):
    course_dir = Path(course_dir)
    return [d for d in STUDENT_WORK if (course_dir / d).is_dir() and any((course_dir / d).iterdir())]


def write_config(course_dir, course_yaml, course=None):
    """nbgrader_config.py, a copy of course.yaml and, when the notebooks are the instructor's
    own, a copy of their sources in assignments/: the course directory then checks and builds
    on its own (`backprop-kit check-config` inside it reads the same notebooks)."""
    course_dir = Path(course_dir)
    template = (PACKAGE_DIR / "templates" / "nbgrader_config.py").read_text()
    stub = f'"{notebooks.CODE_STUB_MESSAGE}"'
    assert stub in template, "the template's code stub says notebooks.CODE_STUB_MESSAGE"
    with speaking(course.language if course is not None else SOURCE_LANGUAGE):
        said = json.dumps(notebooks.STUDENT_WORDS.gettext(notebooks.CODE_STUB_MESSAGE), ensure_ascii=False)
    (course_dir / "nbgrader_config.py").write_text(template.replace(stub, said), encoding="utf-8")
    _copy(course_yaml, course_dir / "course.yaml")
    if course is not None and notebook_folder(course) != KIT_ASSIGNMENTS:
        for assignment in course.assignments:
            for notebook, path in notebook_sources(course, assignment).items():  # noqa: B007
                (course_dir / "assignments").mkdir(exist_ok=True)
                _copy(path, course_dir / "assignments" / path.name)


def _copy(source, target):
    if not (Path(target).exists() and Path(target).samefile(source)):  # init run on the course itself
        shutil.copyfile(source, target)


def dropped_assignments(course_dir, course):
    """{assignment: where it still is} for what the course directory holds (source/, release/,
    the gradebook) of assignments course.yaml no longer lists."""
    course_dir = Path(course_dir)
    found: dict = {}
    for folder in ("source", "release"):
        for path in sorted((course_dir / folder).glob("*")):
            if path.is_dir():
                found.setdefault(path.name, []).append(f"{folder}/{path.name}/")
    if (course_dir / "gradebook.db").is_file():
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{course_dir / 'gradebook.db'}") as gb:
            for assignment in gb.assignments:
                found.setdefault(assignment.name, []).append(GRADEBOOK)
    return {name: where for name, where in found.items() if name not in course.assignment_names}


GRADEBOOK = N_("the gradebook")  # where an assignment may be besides its folders (translated where shown)


def removal_note(name, where):
    """What init says of an assignment course.yaml no longer lists: kept, and how to remove it."""
    folders = " ".join(w.rstrip("/") for w in where if w != GRADEBOOK)
    steps = [
        *(["nbgrader db assignment remove " + name] if GRADEBOOK in where else []),
        *([f"rm -r {folders}"] if folders else []),
    ]
    return _(
        "assignment {name!r} is no longer in course.yaml: kept as it is ({where}); to remove it, run in the "
        "course directory: {steps}"
    ).format(name=name, where=", ".join(_(w) for w in where), steps=" && ".join(steps))


def init(course_dir, course, course_yaml, run=subprocess.run, log=print):
    """Make (or safely update) an nbgrader course directory. Returns "created" or "updated".
    ConfigError when course.yaml names a notebook or an exercise that does not exist.

    Submissions, autograded notebooks, feedback and the gradebook are never touched: when
    a directory already holds student work, init refuses, because regenerating an
    assignment under graded submissions could change what they are graded against."""
    course_dir = Path(course_dir)
    busy = holds_student_work(course_dir)
    if busy:
        raise CourseDirectoryError(
            _(
                "{folder} already holds student work ({work}/); init leaves such a course alone. Nothing was changed. "
                "Use a new directory for a new term."
            ).format(folder=course_dir, work=", ".join(busy))
        )
    built = build_sources(course)  # a wrong course.yaml or notebook source leaves the directory untouched
    state = (
        N_("updated") if (course_dir / "nbgrader_config.py").exists() else N_("created")
    )  # an id; said with _()
    course_dir.mkdir(parents=True, exist_ok=True)
    write_config(course_dir, course_yaml, course)
    write_sources(course_dir, course, built)
    for name, where in dropped_assignments(course_dir, course).items():
        log(removal_note(name, where))
    for assignment in course.assignments:
        log(
            _("nbgrader generate_assignment {assignment}: making the release notebooks").format(
                assignment=assignment.name
            )
        )
        done = run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", assignment.name, "--force"],
            cwd=course_dir,
            capture_output=True,
            text=True,
            env=nbgrader_environment(),
        )
        if done.returncode != 0:
            raise CourseDirectoryError(
                _("nbgrader generate_assignment {assignment} failed in {folder}:\n{output}").format(
                    assignment=assignment.name, folder=course_dir, output=done.stderr[-3000:]
                )
            )
    return state
