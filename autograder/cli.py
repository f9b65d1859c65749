"""backprop-kit's command line: init, generate, check-config, show-values, autograde, report, gradescope, hub, add-student, lti, catalogs (and demo)."""

import sys
from pathlib import Path

import click

from . import __version__
from .cli_language import CourseLanguageGroup
from .words import _, speak

DEFAULT_COURSE_YAML = "course.yaml"


def _load(course_yaml):
    from .config import ConfigError, load_course

    try:
        course = load_course(course_yaml)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    speak(course)  # what the command says from here on is in the course's language
    return course


def _load_and_build(course_yaml, with_built=False):
    """The course, its notebooks rendered as init renders them (so OK here means init agrees),
    every problem of course.yaml reported at once; with_built: (course, the rendered notebooks)."""
    from .course import load_and_build

    try:
        course, built = load_and_build(course_yaml)
    except _init_errors() as e:
        raise click.ClickException(str(e)) from None
    speak(course)
    return (course, built) if with_built else course


def _init_errors():
    """What building a course raises for a person to fix, each with a complete message: a
    course.yaml naming a notebook or an exercise that does not exist, a notebook source that
    cannot be rendered, a course directory init must leave alone."""
    from .config import ConfigError
    from .course import CourseDirectoryError
    from .notebooks import NotebookSourceError

    return ConfigError, CourseDirectoryError, NotebookSourceError


@click.group(cls=CourseLanguageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="backprop-kit")
def main():
    """Autograded backpropagation assignments (cs231n lecture 4) on nbgrader.

    Edit course.yaml, run `backprop-kit init DIR`, then grade with plain
    `nbgrader autograde` inside DIR."""
    from .tool_path import put_tools_on_path

    # Commands that open a gradebook in-process (lti roster, add-student, report...) may make it,
    # and nbgrader then runs `alembic` by name: found in this environment even when not activated.
    put_tools_on_path()


@main.command("check-config")
@click.option("--config", "course_yaml", default=DEFAULT_COURSE_YAML, show_default=True, type=click.Path())
def check_config(course_yaml):
    """Validate course.yaml (and that the notebooks and exercises it names exist); say what it sets up."""
    from solutions import graphs as described

    from .bpkit import problems
    from .values import family_line, family_sizes

    course, built = _load_and_build(course_yaml, with_built=True)
    names = ", ".join(a.name for a in course.assignments)
    click.echo(
        _("{file}: OK: course {course_id}, seed {seed}, {randomization} values, assignments: {names}").format(
            file=course_yaml,
            course_id=course.course_id,
            seed=course.seed,
            randomization=course.randomization,
            names=names,
        )
    )
    undrawable = []
    for exercise_id, family, n in family_sizes(course, built):
        click.echo("  " + family_line(exercise_id, family, n))
        shape = described.shape(described.BY_ID[exercise_id], course.graphs)
        undrawable += [(exercise_id, g, why) for g, why in problems.undrawable(shape).items()]
    if undrawable:  # a student drawing one of these graphs would get no numbers
        raise click.ClickException(
            "\n".join(
                _("{exercise}: no draw lets every mistake show on {graph}: {why}").format(
                    exercise=e, graph=g.title, why=why
                )
                for e, g, why in undrawable
            )
        )


@main.command()
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=None,
    help="Use this seed; without it a fresh random seed is drawn.",
)
@click.option("--config", "course_yaml", default=DEFAULT_COURSE_YAML, show_default=True, type=click.Path())
def generate(seed, course_yaml):
    """Draw new course-wide problem values by recording a new seed in course.yaml."""
    import secrets

    from .config import ConfigError, write_seed

    _load(course_yaml)
    seed = secrets.randbelow(10**9) if seed is None else seed
    try:
        course = write_seed(course_yaml, seed)
    except ConfigError as e:
        raise click.ClickException(str(e)) from None
    click.echo(
        _(
            "{file}: seed is now {seed}. Run `backprop-kit init DIR` to build a course with the new values."
        ).format(file=course_yaml, seed=course.seed)
    )


@main.command()
@click.option(
    "--out", "course_yaml", default=DEFAULT_COURSE_YAML, show_default=True, type=click.Path(dir_okay=False)
)
def starter(course_yaml):
    """Write the kit's own course.yaml for editing, with a freshly drawn seed."""
    import secrets

    from .config import MAX_SEED, write_seed
    from .course import KIT_COURSE_YAML

    target = Path(course_yaml)
    if target.exists():
        raise click.ClickException(
            _(
                "{file} exists; it was left as it is. Pass --out to write the starter course.yaml elsewhere."
            ).format(file=target)
        )
    target.write_bytes(KIT_COURSE_YAML.read_bytes())
    course = write_seed(target, secrets.randbelow(MAX_SEED + 1))
    speak(course)
    click.echo(
        _(
            "{file}: the kit's course, with a fresh seed ({seed}): edit it, check it with `backprop-kit "
            "check-config --config {file}`, then build the course with `backprop-kit init DIR`."
        ).format(file=target, seed=course.seed)
    )


@main.command("show-values")
@click.option("--config", "course_yaml", default=DEFAULT_COURSE_YAML, show_default=True, type=click.Path())
@click.option("--assignment", default=None, help="Defaults to the first assignment.")
@click.option("--student", default="", help="The student id (per-student mode).")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the student's graphs, values and what each exercise asks, as JSON (no answers).",
)
@click.option(
    "--answers",
    "with_answers",
    is_flag=True,
    help="STAFF ONLY: print the student's correct answers (office hours, regrade requests).",
)
@click.option(
    "--variants",
    "variants_of",
    default=None,
    metavar="EXERCISE",
    help="List the graphs EXERCISE can draw and how many students of --roster draw each.",
)
@click.option(
    "--roster",
    type=click.Path(exists=True, dir_okay=False),
    help="A file of student ids, one a line (for --variants).",
)
def show_values(course_yaml, assignment, student, as_json, with_answers, variants_of, roster):
    """Print the problem values (and graphs) a student gets; never the answers unless --answers."""
    import json

    from .config import ConfigError
    from .exercises import BY_ID as HAND_EXERCISES
    from .values import StudentValues, family_line, graph_mode_note, variants

    course = _load(course_yaml)
    try:
        a = course.assignment(assignment) if assignment else course.assignments[0]
        if variants_of is not None:
            if variants_of not in HAND_EXERCISES:
                raise click.ClickException(
                    _("--variants {exercise}: not a hand exercise; expected one of {expected}").format(
                        exercise=variants_of, expected=", ".join(HAND_EXERCISES)
                    )
                )
            ids = (
                [line.strip() for line in Path(roster).read_text().splitlines() if line.strip()]
                if roster
                else []
            )
            click.echo(graph_mode_note(course))
            listed = variants(course, a.name, variants_of, ids)
            family = HAND_EXERCISES[variants_of].description.family
            if len(listed) > 1 and family is not None:
                click.echo(family_line(variants_of, family.name, len(listed)))
            for graph, count in listed:
                click.echo(f"  {count:5d}  {graph.title}")
            if not roster:
                click.echo(_("  (give --roster FILE, one student id a line, to count who draws each)"))
            return
        if course.randomization == "per-student" and not student.strip():
            raise click.ClickException(
                _(
                    "{file} draws per-student values (randomization: per-student), so "
                    "show-values needs a student id: pass --student ID, the id the student "
                    "types as STUDENT_ID (their JupyterHub user name on a hub)."
                ).format(file=course_yaml)
            )
        values = StudentValues.of(course, a.name, student)
        if as_json:
            click.echo(
                json.dumps(
                    values.answers() if with_answers else values.contract(), indent=1, ensure_ascii=False
                )
            )
            return
        p = values.drawn()
    except (ValueError, ConfigError) as e:
        raise click.ClickException(str(e)) from None
    except _init_errors() as e:
        raise click.ClickException(str(e)) from None
    click.echo(p.describe())
    for exercise_id in values.exercises:
        problem = HAND_EXERCISES[exercise_id].problem
        shown = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in p.values[problem].items()}
        graph = p.graphs[problem]
        click.echo(
            f"  {problem}: {shown}" + (f"   graph {graph.title}" if course.graphs != "lecture" else "")
        )
    if with_answers:  # for a person: rounded as the hand tolerance allows (--json keeps them exact)
        from .reports.wording import answer_for_people, hand_decimals

        decimals = hand_decimals(course.tolerances.hand_answer_abs)
        click.echo(_("Correct answers (STAFF ONLY: do not share):"))
        for exercise_id, answers in values.answers().items():
            click.echo(
                f"  {exercise_id}: "
                + ", ".join(f"{k} = {answer_for_people(v, decimals)}" for k, v in answers.items())
            )


@main.command()
@click.argument("course_dir", type=click.Path(file_okay=False))
@click.option(
    "--config",
    "course_yaml",
    default=None,
    type=click.Path(),
    help="[default: course.yaml here; without one, the kit's own course]",
)
def init(course_dir, course_yaml):
    """Make an nbgrader course directory ready for TAs (source/, release/, nbgrader_config.py)."""
    from .course import KIT_COURSE_YAML
    from .course import init as init_course

    if course_yaml is None and not Path(DEFAULT_COURSE_YAML).exists():
        course_yaml = KIT_COURSE_YAML
        click.echo(
            _(
                "No course.yaml here: building the kit's own course ({file}). To make it yours, run "
                "`backprop-kit starter` (a course.yaml to edit, with a fresh seed) and init again."
            ).format(file=course_yaml)
        )
    course_yaml = course_yaml or DEFAULT_COURSE_YAML
    course = _load_and_build(course_yaml)
    try:
        state = init_course(Path(course_dir), course, course_yaml, log=lambda m: click.echo(f"  {m}"))
    except _init_errors() as e:
        raise click.ClickException(str(e)) from None
    click.echo(
        _(
            "{folder}: {state}. Release notebooks are in {release}; grade with `cd {folder} && nbgrader "
            "autograde <assignment>`."
        ).format(folder=course_dir, state=_(state), release=Path(course_dir) / "release")
    )


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
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Submissions graded at once on this machine. [default: the number of cores]",
)
@click.option("--force", is_flag=True, help="Regrade students who are already graded.")
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Grade on a Dask cluster, e.g. tcp://10.0.0.5:8786, instead of on this machine.",
)
def autograde(assignment, students, jobs, force, scheduler):
    """Grade every submission of ASSIGNMENT, in parallel; run it inside the course directory.

    It writes what `nbgrader autograde` writes (autograded/, the gradebook, the reports),
    with the same grades; `nbgrader generate_feedback` and `nbgrader export` work on them.
    A rerun grades only the students not yet graded, unless --force."""
    # jsonschema imports this optional IRI grammar when it is installed (Jupyter's format
    # extras bring it), and building the grammar costs 0.75 s at every start; nothing the
    # batch validates has an IRI format, and without it jsonschema leaves such formats unchecked.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # None: import refused
    from .batch.graders import BatchError
    from .batch.pipeline import PipelineError
    from .batch.run import autograde as run_batch

    try:
        summary = run_batch(Path.cwd(), assignment, students, jobs=jobs, force=force, scheduler=scheduler)
    except (BatchError, PipelineError) as e:
        raise click.ClickException(str(e)) from None
    _post_to_lms(Path.cwd(), assignment, list(summary.graded))
    sys.exit(130 if summary.interrupted else 0 if summary.ok else 1)


def _post_to_lms(course_dir: Path, assignment: str, students: list[str]) -> None:
    """A course launched from an LMS (LTI) gets the new grades there; its grades stay as they
    are whatever the LMS answers (autograder/lti/passback.py)."""
    from .lti.passback import configured

    if not students or not configured(course_dir):
        return
    from .lti.passback import gradebook_scores, post_scores
    from .reports.collect import db_url

    pushed = post_scores(course_dir, assignment, gradebook_scores(db_url(course_dir), assignment, students))
    if pushed is not None:
        click.echo(
            _(
                "LTI: {sent} score(s) posted to the LMS, {kept} kept in the queue (`backprop-kit lti status`)."
            ).format(sent=len(pushed.sent), kept=len(pushed.kept))
        )


@main.command()
@click.argument("assignment")
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder for the report. Default: backprop-kit/class-report/ASSIGNMENT inside the course.",
)
@click.option(
    "--course",
    "course_dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="The course directory (where nbgrader_config.py is).",
)
@click.option(
    "--canvas-assignment-id",
    default="",
    help="Canvas's id of the assignment, so canvas.csv updates it instead of making a new column.",
)
@click.option(
    "--canvas-student-id",
    type=click.Choice(["sis-user-id", "sis-login-id"]),
    default="sis-user-id",
    show_default=True,
    help="Which Canvas column holds the nbgrader student id.",
)
def report(assignment, out_dir, course_dir, canvas_assignment_id, canvas_student_id):
    """After grading: cells.csv, canvas.csv and class.html (charts, misconceptions, integrity signals)."""
    from rich.console import Console
    from rich.markup import escape

    from .reports.build import build, misconception_table
    from .reports.collect import ReportError
    from .reports.variants import difficulty_warning
    from .reports.wording import counted

    try:
        built = build(course_dir, assignment, out_dir, canvas_assignment_id, canvas_student_id)
    except ReportError as e:
        raise click.ClickException(str(e)) from None
    console = Console()
    console.print(misconception_table(built))
    signals = built.signals
    console.print(
        _(
            "Integrity signals: {notebooks} made for another id, {answers} correct for someone else's "
            "numbers, {groups} of identical code (see class.html)."
        ).format(
            notebooks=counted(len(signals.made_for), "notebook"),
            answers=counted(len(signals.copied_answers), "hand answer"),
            groups=counted(len(signals.shared_code), "group"),
        )
    )
    for grade_id, d in built.difficulty.items():
        if d.beyond_chance:
            console.print(
                f"[yellow]{_('warning')}[/]: {escape(difficulty_warning(grade_id, d))}", highlight=False
            )
    for student, why in sorted(built.results.not_graded.items()):
        console.print(
            "[red]{}[/]: {}: {}".format(_("not graded"), student, why), markup=True, highlight=False
        )
    for name in ("cells.csv", "canvas.csv", "class.html"):
        click.echo(f"  {built.out_dir / name}")


@main.command()
@click.argument("assignment")
@click.option(
    "--out",
    "out_zip",
    required=True,
    type=click.Path(dir_okay=False),
    help="The zip to write, e.g. backprop-gradescope.zip.",
)
@click.option(
    "--course",
    "course_dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="The course directory (where course.yaml and source/ are).",
)
def gradescope(assignment, out_zip, course_dir):
    """A Gradescope autograder zip: same hidden checks, sandbox and per-student numbers."""
    from .config import ConfigError
    from .gradescope.bundle import BundleError, build_bundle

    try:
        path = build_bundle(course_dir, assignment, out_zip)
    except (BundleError, ConfigError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(
        _(
            "{zip}: upload it as the assignment's autograder on Gradescope (Ubuntu image). Students submit "
            "their notebook; it is graded for the student id in the `gradescope.student_id_field` of "
            "course.yaml."
        ).format(zip=path)
    )


@main.command()
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for jupyterhub_config.py and the hub's state, readable by every account (e.g. /srv/cs231n/hub).",
)
@click.option(
    "--course-account",
    default=None,
    help="System account the formgrader service runs as. [default: grader-<course_id>]",
)
@click.option(
    "--instructor", "instructors", multiple=True, help="Hub user who may open formgrader (repeatable)."
)
@click.option(
    "--roster",
    "roster_csv",
    default=None,
    type=click.Path(dir_okay=False, exists=True),
    help="CSV of students (nbgrader's import format: id,first_name,last_name,email), added to the gradebook.",
)
@click.option(
    "--exchange", default=None, help="nbgrader's exchange. [default: /usr/local/share/nbgrader/exchange]"
)
@click.option(
    "--authenticator",
    default="pam",
    show_default=True,
    help="JupyterHub's authenticator_class (pam: system accounts), e.g. oauthenticator.generic.GenericOAuthenticator.",
)
@click.option(
    "--service-port",
    default=9999,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Formgrader's port on 127.0.0.1.",
)
@click.option(
    "--hub-port",
    default=8081,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="The hub API's port on 127.0.0.1.",
)
@click.option(
    "--proxy-api-port",
    default=8001,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="configurable-http-proxy's API port on 127.0.0.1.",
)
@click.option(
    "--lti",
    "lti_config",
    default=None,
    type=click.Path(dir_okay=False, exists=True),
    help="LTI 1.3 config (YAML): students and staff launch the hub from the LMS, grades go back to it.",
)
def hub(
    out_dir,
    course_account,
    instructors,
    roster_csv,
    exchange,
    authenticator,
    service_port,
    hub_port,
    proxy_api_port,
    lti_config,
):
    """Serve this course on JupyterHub: run inside the course, as root; writes OUT/jupyterhub_config.py."""
    from .hub.write import DEFAULT_EXCHANGE, HubError, write_hub

    try:
        written = write_hub(
            Path.cwd(),
            out_dir,
            course_account=course_account,
            exchange=exchange or DEFAULT_EXCHANGE,
            instructors=instructors,
            roster_csv=roster_csv,
            authenticator=authenticator,
            service_port=service_port,
            hub_port=hub_port,
            proxy_api_port=proxy_api_port,
            lti_config=lti_config,
        )
    except HubError as e:
        raise click.ClickException(str(e)) from None
    s = written.settings
    if written.imported:
        click.echo(
            _("{file}: {n} students added to the gradebook.").format(file=roster_csv, n=written.imported)
        )
    click.echo(
        _(
            "{file}: course {course}, {n} students, instructors {instructors}; formgrader at "
            "/services/{course}/ as {account}; exchange {exchange}."
        ).format(
            file=written.config_file,
            course=s.course_id,
            n=len(written.students),
            instructors=", ".join(s.instructors) or _("none (add --instructor NAME)"),
            account=s.course_account,
            exchange=s.exchange,
        )
    )
    click.echo(_("Start it (as root):"))
    click.echo(
        f"  cd {s.out_dir} && {s.bin_dir}/jupyterhub -f {written.config_file} --ip 0.0.0.0 --port 8000"
    )
    if written.lti:
        tool = written.lti
        click.echo(
            _(
                "LTI: launches from {issuer} log in; the tool's public key for the LMS: {jwks} (JWK), {pem} "
                "(PEM), or the URL /hub/lti13/jwks; OIDC login URL /hub/lti13/oauth_login, redirect URL "
                "/hub/lti13/oauth_callback."
            ).format(issuer=s.extra["lti"]["issuer"], jwks=tool.jwks_file, pem=tool.public_pem_file)
        )
        if tool.new_key:
            click.echo(_("LTI: a new tool key was made: register its public half at the LMS."))
    else:
        click.echo(_("Add a student later (as root):"))
        click.echo(f"  {s.bin_dir}/backprop-kit add-student ID --hub {s.out_dir}")


# The option of every command that works on a course `backprop-kit hub` set up.
hub_folder = click.option(
    "--hub",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, exists=True),
    help="The folder `backprop-kit hub --out` wrote.",
)


@main.command("grading-service")
@hub_folder
def grading_service(out_dir):
    """Grade each submission of a `feedback: on-submit` assignment as it arrives (JupyterHub runs this, as the course account)."""
    from .hub import on_submit
    from .hub.settings import HubSettings

    s = HubSettings.load(out_dir)
    on_submit.serve(s.course_dir, s.nbgrader_config_dir)


@main.command("grant-attempt")
@click.argument("student_id")
@click.argument("assignment")
@hub_folder
def grant_attempt(student_id, assignment, out_dir):
    """Give one student one more on-submit attempt at ASSIGNMENT (as root or the course account)."""
    from .hub import on_submit
    from .hub.settings import HubSettings

    s = HubSettings.load(out_dir)
    try:
        allowed = on_submit.grant_attempt(
            s.course_dir, s.nbgrader_config_dir, student_id, assignment, s.course_account
        )
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    click.echo(
        _("{student} may now submit {assignment} {n} times in all.").format(
            student=student_id, assignment=assignment, n=allowed
        )
    )


@main.command("add-student")
@click.argument("student_id")
@hub_folder
@click.option("--first-name", default=None)
@click.option("--last-name", default=None)
@click.option("--email", default=None)
def add_student(student_id, out_dir, first_name, last_name, email):
    """Add a student to the course on JupyterHub: the gradebook, the hub's allow list and the course group."""
    from .hub.students import AddStudentError
    from .hub.students import add_student as add

    try:
        added = add(out_dir, student_id, first_name, last_name, email)
    except AddStudentError as e:
        raise click.ClickException(str(e)) from None
    where = (
        _("{student}: in the gradebook, the hub and the course group.")
        if added.hub_told
        else _("{student}: in the gradebook.")
    )
    click.echo(where.format(student=added.student_id))
    for note in added.notes:
        click.echo("  " + _("note: {note}").format(note=note))


@main.group()
def lti():
    """Grades sent to the LMS (LTI 1.3): what is still queued, and sending it again."""


_COURSE_OPTION = click.option(
    "--course",
    "course_dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, exists=True),
    help="The course directory (where nbgrader_config.py is).",
)


def _require_lti(course_dir):
    """Refuse, in one sentence, a course that `backprop-kit hub --lti` has not set up."""
    from .lti.passback import configured

    if not configured(course_dir):
        raise click.ClickException(
            _("{folder} sends no grades to an LMS: `backprop-kit hub --lti CONFIG` sets it up.").format(
                folder=Path(course_dir).resolve()
            )
        )


@lti.command("status")
@_COURSE_OPTION
def lti_status(course_dir):
    """List the scores the LMS has not taken yet, with why (exit status 1 when there is one)."""
    from .lti.outbox import Outbox

    _require_lti(course_dir)
    entries = Outbox(course_dir).entries()
    if not entries:
        click.echo(_("LTI: every score has been posted to the LMS."))
        return
    for e in entries:
        click.echo(
            _(
                "{assignment} {student}: {given:g}/{maximum:g}, graded {when}, tried {tries} time(s): {why}"
            ).format(
                assignment=e.assignment,
                student=e.student,
                given=e.given,
                maximum=e.maximum,
                when=e.graded_at[:19].replace("T", " "),
                tries=e.tries,
                why=e.last_error or _("not tried yet"),
            )
        )
    click.echo(
        _("LTI: {n} score(s) queued; `backprop-kit lti push` sends them again.").format(n=len(entries))
    )
    sys.exit(1)


@lti.command("push")
@_COURSE_OPTION
def lti_push(course_dir):
    """Send every queued score to the LMS again (exit status 1 when some are still refused)."""
    from .lti.passback import push

    _require_lti(course_dir)
    pushed = push(course_dir)
    for entry, why in pushed.kept:
        click.echo(
            _("{assignment} {student}: still queued: {why}").format(
                assignment=entry.assignment, student=entry.student, why=why
            )
        )
    click.echo(
        _(
            "LTI: {sent} score(s) posted to the LMS, {kept} kept in the queue (`backprop-kit lti status`)."
        ).format(sent=len(pushed.sent), kept=len(pushed.kept))
    )
    sys.exit(1 if pushed.kept else 0)


@lti.command("roster")
@hub_folder
def lti_roster(out_dir):
    """Add the LMS's roster to the course (NRPS): learners to the gradebook and the course group,
    instructors and TAs to the graders' group (as root, like the hub)."""
    from .hub.settings import HubSettings
    from .lti.ags import AgsError
    from .lti.nrps import sync

    s = HubSettings.load(out_dir)
    _require_lti(s.course_dir)
    try:
        done = sync(s, log=lambda line: None)
    except AgsError as e:
        raise click.ClickException(_("LTI roster: {why}").format(why=e)) from None
    except OSError as e:
        raise click.ClickException(
            _("LTI roster: {file} cannot be read ({why}): run it as root (sudo), like the hub").format(
                file=e.filename, why=e.strerror
            )
        ) from None
    click.echo(
        _("LTI roster: {learners} learner(s) and {staff} staff member(s) in the course.").format(
            learners=len(done.learners), staff=len(done.staff)
        )
    )
    if done.waiting:
        click.echo(
            "  "
            + _(
                "{n} member(s) join at their first launch (their login comes with it): LMS user ids {ids}"
            ).format(n=len(done.waiting), ids=", ".join(done.waiting))
        )
    if done.inactive:
        click.echo(
            "  "
            + _("{n} member(s) inactive in the LMS, not added (nothing removed): {ids}").format(
                n=len(done.inactive), ids=", ".join(done.inactive)
            )
        )
    for why in done.refused:
        click.echo("  " + _("not added: {why}").format(why=why))
    if not done.hub_told:
        click.echo("  " + _("the hub is not running: it lets them in when it starts"))
    sys.exit(1 if done.refused else 0)


@main.command()
@click.option(
    "--check",
    "only_check",
    is_flag=True,
    help="Change nothing: list every message without a translation, with other placeholders, stale or "
    "fuzzy, and every compiled catalog out of date (exit status 1 when there is one).",
)
def catalogs(only_check):
    """Bring the translators' .po files in step with the code's messages and compile them (.mo)."""
    from . import catalogs as message_catalogs

    # Its lines stay English: it checks the kit's own catalogs (the repository's, whatever course
    # the current folder holds), for whoever changes the kit's code or its translations, and they
    # quote the English message ids.
    if only_check:
        found = message_catalogs.check()
        for line in found:
            click.echo(line)
        if found:
            raise click.ClickException(f"{len(found)} catalog problem(s)")
        click.echo("catalogs: every message translated, every .mo compiled from its .po")
        return
    for domain in message_catalogs.DOMAINS:
        message_catalogs.update(domain, log=click.echo)


if __name__ == "__main__":
    sys.exit(main())
