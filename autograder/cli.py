"""backprop-kit's command line: init, generate, check-config, show-values, autograde, report, gradescope (and demo)."""
import sys
from pathlib import Path

import click

from . import __version__

DEFAULT_COURSE_YAML = "course.yaml"


def _load(course_yaml):
    from .config import ConfigError, load_course

    try:
        return load_course(course_yaml)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None


def _load_and_build(course_yaml):
    """The course, its notebooks rendered as init renders them (so OK here means init agrees),
    every problem of course.yaml reported at once."""
    from .course import load_and_build

    try:
        return load_and_build(course_yaml)[0]
    except _init_errors() as e:
        raise click.ClickException(str(e)) from None


def _init_errors():
    """What building a course raises for a person to fix, each with a complete message: a
    course.yaml naming a notebook or an exercise that does not exist, a notebook source that
    cannot be rendered, a course directory init must leave alone."""
    from .config import ConfigError
    from .course import CourseDirectoryError
    from .notebooks import NotebookSourceError

    return ConfigError, CourseDirectoryError, NotebookSourceError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="backprop-kit")
def main():
    """Autograded backpropagation assignments (cs231n lecture 4) on nbgrader.

    Edit course.yaml, run `backprop-kit init DIR`, then grade with plain
    `nbgrader autograde` inside DIR."""


@main.command("check-config")
@click.option("--config", "course_yaml", default=DEFAULT_COURSE_YAML, show_default=True, type=click.Path())
def check_config(course_yaml):
    """Validate course.yaml (and that the notebooks and exercises it names exist); say what it sets up."""
    course = _load_and_build(course_yaml)
    names = ", ".join(a.name for a in course.assignments)
    click.echo(f"{course_yaml}: OK: course {course.course_id}, seed {course.seed}, "
               f"{course.randomization} values, assignments: {names}")


@main.command()
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=None,
              help="Use this seed; without it a fresh random seed is drawn.")
@click.option("--config", "course_yaml", default=DEFAULT_COURSE_YAML, show_default=True, type=click.Path())
def generate(seed, course_yaml):
    """Draw new course-wide problem values by recording a new seed in course.yaml."""
    import secrets

    from .config import write_seed

    from .config import ConfigError

    _load(course_yaml)
    seed = secrets.randbelow(10**9) if seed is None else seed
    try:
        course = write_seed(course_yaml, seed)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{course_yaml}: seed is now {course.seed}. Run `backprop-kit init DIR` to build a course "
               "with the new values.")


@main.command()
@click.option("--out", "course_yaml", default=DEFAULT_COURSE_YAML, show_default=True,
              type=click.Path(dir_okay=False))
def starter(course_yaml):
    """Write the kit's own course.yaml for editing, with a freshly drawn seed."""
    import secrets

    from .config import MAX_SEED, write_seed
    from .course import KIT_COURSE_YAML

    target = Path(course_yaml)
    if target.exists():
        raise click.ClickException(f"{target} exists; it was left as it is. Pass --out to write the starter "
                                   "course.yaml elsewhere.")
    target.write_bytes(KIT_COURSE_YAML.read_bytes())
    course = write_seed(target, secrets.randbelow(MAX_SEED + 1))
    click.echo(f"{target}: the kit's course, with a fresh seed ({course.seed}): edit it, check it with "
               f"`backprop-kit check-config --config {target}`, then build the course with `backprop-kit init DIR`.")


@main.command("show-values")
@click.option("--config", "course_yaml", default=DEFAULT_COURSE_YAML, show_default=True, type=click.Path())
@click.option("--assignment", default=None, help="Defaults to the first assignment.")
@click.option("--student", default="", help="The student id (per-student mode).")
def show_values(course_yaml, assignment, student):
    """Print the problem values a student gets (never the answers)."""
    from .bpkit import problems

    from .config import ConfigError

    course = _load(course_yaml)
    if course.randomization == "per-student" and not student.strip():
        raise click.ClickException(f"{course_yaml} draws per-student values (randomization: per-student), so "
                                   "show-values needs a student id: pass --student ID, the id the student "
                                   "types as STUDENT_ID (their JupyterHub user name on a hub).")
    try:
        a = course.assignment(assignment) if assignment else course.assignments[0]
        p = problems.draw(course.seed, course.course_id, a.name, course.randomization, student)
    except (ValueError, ConfigError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(p.describe())
    for name, values in p.values.items():
        shown = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in values.items()}
        click.echo(f"  {name}: {shown}")


@main.command()
@click.argument("course_dir", type=click.Path(file_okay=False))
@click.option("--config", "course_yaml", default=None, type=click.Path(),
              help="[default: course.yaml here; without one, the kit's own course]")
def init(course_dir, course_yaml):
    """Make an nbgrader course directory ready for TAs (source/, release/, nbgrader_config.py)."""
    from .course import KIT_COURSE_YAML, init as init_course

    if course_yaml is None and not Path(DEFAULT_COURSE_YAML).exists():
        course_yaml = KIT_COURSE_YAML
        click.echo(f"No course.yaml here: building the kit's own course ({course_yaml}). To make it yours, "
                   "run `backprop-kit starter` (a course.yaml to edit, with a fresh seed) and init again.")
    course_yaml = course_yaml or DEFAULT_COURSE_YAML
    course = _load_and_build(course_yaml)
    try:
        state = init_course(Path(course_dir), course, course_yaml, log=lambda m: click.echo(f"  {m}"))
    except _init_errors() as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{course_dir}: {state}. Release notebooks are in {Path(course_dir) / 'release'}; "
               f"grade with `cd {course_dir} && nbgrader autograde <assignment>`.")


@main.command()
@click.argument("course_dir", required=False, type=click.Path(file_okay=False))
@click.option("--config", "course_yaml", default=DEFAULT_COURSE_YAML, show_default=True, type=click.Path())
def demo(course_dir, course_yaml):
    """Build the course, grade a simulated class with real nbgrader, print the table.

    COURSE_DIR defaults to a new temporary directory (kept, so you can look around)."""
    import tempfile

    course = _load(course_yaml)  # before the heavy imports: a bad file is told at once
    from . import demo as demo_module

    try:
        demo_module.load_simulated_class()  # before anything is built: an installed kit has no class to grade
    except demo_module.DemoDataMissing as e:
        raise click.ClickException(str(e)) from None
    temporary = course_dir is None
    course_dir = Path(course_dir or tempfile.mkdtemp(prefix="backprop-kit-demo-"))
    try:
        sys.exit(demo_module.main(course_dir, course, course_yaml, temporary=temporary))
    except _init_errors() as e:
        raise click.ClickException(str(e)) from None


@main.command()
@click.argument("assignment")
@click.option("--student", "students", multiple=True, help="Grade only this student (repeatable).")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Submissions graded at once on this machine. [default: the number of cores]")
@click.option("--force", is_flag=True, help="Regrade students who are already graded.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Grade on a Dask cluster, e.g. tcp://10.0.0.5:8786, instead of on this machine.")
def autograde(assignment, students, jobs, force, scheduler):
    """Grade every submission of ASSIGNMENT, in parallel; run it inside the course directory.

    It writes what `nbgrader autograde` writes (autograded/, the gradebook, the reports),
    with the same grades; `nbgrader generate_feedback` and `nbgrader export` work on them.
    A rerun grades only the students not yet graded, unless --force."""
    # jsonschema imports this optional IRI grammar when it is installed (Jupyter's format
    # extras bring it), and building the grammar costs 0.75 s at every start; nothing the
    # batch validates has an IRI format, and without it jsonschema leaves such formats unchecked.
    sys.modules.setdefault("rfc3987_syntax", None)
    from .batch.pipeline import PipelineError
    from .batch.graders import BatchError
    from .batch.run import autograde as run_batch

    try:
        summary = run_batch(Path.cwd(), assignment, students, jobs=jobs, force=force, scheduler=scheduler)
    except (BatchError, PipelineError) as e:
        raise click.ClickException(str(e)) from None
    sys.exit(130 if summary.interrupted else 0 if summary.ok else 1)


@main.command()
@click.argument("assignment")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Folder for the report. Default: backprop-kit/class-report/ASSIGNMENT inside the course.")
@click.option("--course", "course_dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="The course directory (where nbgrader_config.py is).")
@click.option("--canvas-assignment-id", default="",
              help="Canvas's id of the assignment, so canvas.csv updates it instead of making a new column.")
@click.option("--canvas-student-id", type=click.Choice(["sis-user-id", "sis-login-id"]), default="sis-user-id",
              show_default=True, help="Which Canvas column holds the nbgrader student id.")
def report(assignment, out_dir, course_dir, canvas_assignment_id, canvas_student_id):
    """After grading: cells.csv, canvas.csv and class.html (charts, misconceptions, integrity signals)."""
    from rich.console import Console

    from .reports.build import build, misconception_table
    from .reports.collect import ReportError
    from .reports.wording import counted

    try:
        built = build(course_dir, assignment, out_dir, canvas_assignment_id, canvas_student_id)
    except ReportError as e:
        raise click.ClickException(str(e)) from None
    console = Console()
    console.print(misconception_table(built))
    signals = built.signals
    console.print(f"Integrity signals: {counted(len(signals.made_for), 'notebook')} made for another id, "
                  f"{counted(len(signals.copied_answers), 'hand answer')} correct for someone else's numbers, "
                  f"{counted(len(signals.shared_code), 'group')} of identical code (see class.html).")
    for student, why in sorted(built.results.not_graded.items()):
        console.print(f"[red]not graded[/]: {student}: {why}", markup=True, highlight=False)
    for name in ("cells.csv", "canvas.csv", "class.html"):
        click.echo(f"  {built.out_dir / name}")


@main.command()
@click.argument("assignment")
@click.option("--out", "out_zip", required=True, type=click.Path(dir_okay=False),
              help="The zip to write, e.g. backprop-gradescope.zip.")
@click.option("--course", "course_dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="The course directory (where course.yaml and source/ are).")
def gradescope(assignment, out_zip, course_dir):
    """A Gradescope autograder zip: same hidden checks, sandbox and per-student numbers."""
    from .config import ConfigError
    from .gradescope.bundle import BundleError, build_bundle

    try:
        path = build_bundle(course_dir, assignment, out_zip)
    except (BundleError, ConfigError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{path}: upload it as the assignment's autograder on Gradescope (Ubuntu image). Students "
               "submit their notebook; it is graded for the student id in the `gradescope.student_id_field` "
               "of course.yaml.")


if __name__ == "__main__":
    sys.exit(main())
