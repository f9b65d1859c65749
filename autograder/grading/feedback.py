"""Feedback a student can read alone: what `nbgrader generate_feedback` renders.

nbgrader renders the autograded notebook as it is: every graded cell shows its hidden
tests (grader code), a bare `Out[ ]: 0.0`, and the table of contents calls every graded
cell "Test cell". `FeedbackForStudents` (a GenerateFeedback preprocessor, after GetGrades)
and the template templates/feedback/backprop-feedback.html.j2 (which extends nbgrader's
feedback template: same name, later in the search path) turn it into a page
per exercise: its title and points, what was checked, what passed and what failed, and
each mistake recognised with its hint, once. Self-check cells (not run while grading)
are left out, pictures get their description as alt text, and long lines wrap.

Everything shown comes from the autograded notebook, whose graded cells' sources were
restored from the gradebook by nbgrader and whose outputs were written by TrustedChecks;
text that may quote student code (an exception message) is escaped.

The page is one self-contained file that loads nothing (students get only the .html from
`nbgrader release_feedback`, and may read it offline; a CDN would see every view): math in
markdown is rendered into the page as MathML (latex2mathml; browsers draw it natively) by
`FeedbackExporter`, and the template loads no MathJax.
"""

import html
import re
from pathlib import Path

import nbformat
from latex2mathml.converter import convert as latex_to_mathml
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, List

from ..bpkit.i18n import EXERCISE_TITLE
from ..words import _, student_words
from .outcomes import HINT_LINE, LOOKS_LIKE, MISTAKE_LINE, SCORE_LINE
from .steps import NO_RESPONSE

try:  # jinja2 >= 3
    from jinja2 import pass_context
except ImportError:  # pragma: no cover
    from jinja2 import contextfilter as pass_context

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
TEMPLATE_FILE = "backprop-feedback.html.j2"
# The comments notebooks.py writes around what a graded cell checks, as message ids of the student's
# catalog (the notebook is rendered in the course's language): the one before it and the Validate
# lines after it are not what is checked. tests/test_languages.py checks they are notebooks.py's.
GRADED_AFTER_MESSAGE = "Graded after you submit, outside your kernel, on inputs you have not seen:"
VALIDATE_MESSAGE = (
    "Validate runs the lines below: they fail while this exercise is unfinished\n"
    "or your code disagrees with itself (they never tell whether it is right)."
)


def _line_pattern(template):
    """A regular expression matching the lines `template` (a message with {placeholders})
    writes: the placeholders match anything, the words only themselves."""
    parts = re.split(r"\{(\w+)\}", template)  # words, a placeholder's name, words, ...
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.*?)" for i, p in enumerate(parts)) + "$"
    )


def _written_as(message):
    """The patterns of `message`'s lines in the language in force and in English: feedback
    written before a course switched language still reads as it did."""
    return [_line_pattern(t) for t in dict.fromkeys((_(message), message))]


def template_basedirs():
    """Where the HTML exporter finds our feedback/ template and nbgrader's, which it extends."""
    import nbgrader

    formgrader = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
    return [str(TEMPLATE_DIR), str(formgrader)]


def title_of(source, default):
    """The title on a graded cell's first line (EXERCISE_TITLE, in the course's language or in
    English), else `default`."""
    first = source.split("\n", 1)[0]
    for line in dict.fromkeys((student_words(EXERCISE_TITLE), EXERCISE_TITLE)):
        before, _placeholder, after = line.partition("{title}")
        if first.startswith(before) and first.endswith(after) and len(first) > len(before) + len(after):
            return first[len(before) : len(first) - len(after)].strip() or default
    return default


def checked_of(source):
    """What the graded cell says it checks: its comment lines after the title, before the
    visible Validate lines."""
    graded_after, validate = _comment_lines(GRADED_AFTER_MESSAGE), _comment_lines(VALIDATE_MESSAGE)
    lines = []
    for line in source.split("\n")[1:]:
        if not line.startswith("#") or line.rstrip() in validate or line.startswith("###"):
            break
        if line.rstrip() not in graded_after:
            lines.append(line.lstrip("# ").rstrip())
    return " ".join(lines)


def _comment_lines(message):
    """The comment lines `message` is written as, in the language in force and in English."""
    return {f"# {line}".rstrip() for text in (student_words(message), message) for line in text.splitlines()}


def feedback_html(text):
    """HTML for the words TrustedChecks wrote (CheckResult.feedback): passed checks in one
    line, failed ones as a list, each mistake with its hint, notes as paragraphs."""
    passed, failed, mistakes, notes = [], [], [], []
    score, mistake, hint = _written_as(SCORE_LINE), _written_as(MISTAKE_LINE), _written_as(HINT_LINE)
    # A failed line's " (looks like 'id')": the page names the mistake once, in its box below,
    # after the words that explain it (the text report keeps both, for the terminal and CSVs).
    looks_like = _written_as(LOOKS_LIKE)

    def matches(patterns, line):
        return next((m for m in (p.match(line) for p in patterns) if m), None)

    for line in text.splitlines():
        if matches(score, line):
            continue  # the score is in the panel's heading
        if line.startswith("[ok ] "):
            passed.append(line[6:])
        elif line.startswith("[FAIL] "):
            failed.append(_without_looks_like(line[7:], looks_like))
        elif said := matches(mistake, line):
            mistakes.append([said.group("explanation"), said.group("id"), ""])
        elif mistakes and (said := matches(hint, line)):
            mistakes[-1][2] = said.group("hint")
        elif line.strip():
            notes.append(line.strip())

    def e(text):  # text between tags: quotes need no escaping, and stay readable in the file
        return html.escape(text, quote=False)

    failed_head, passed_head, hint_head = e(_("Failed:")), e(_("Passed:")), e(_("Hint:"))
    out = [f'<p class="bpkit-note">{e(n)}</p>' for n in notes]
    if failed:
        out.append(
            f'<p class="bpkit-failed-head">{failed_head}</p><ul class="bpkit-failed">'
            + "".join(f"<li>✗ {e(f)}</li>" for f in failed)
            + "</ul>"
        )
    if passed:
        out.append(f'<p class="bpkit-passed">✓ {passed_head} ' + "; ".join(e(p) for p in passed) + "</p>")
    for explanation, mistake_id, hint in mistakes:
        out.append(
            f'<div class="bpkit-mistake"><p>{e(explanation)} <span class="bpkit-mistake-id">'
            f"({e(mistake_id)})</span></p>"
            + (f"<p><b>{hint_head}</b> {e(hint)}</p>" if hint else "")
            + "</div>"
        )
    return '<div class="bpkit-feedback">' + "".join(out) + "</div>"


def _without_looks_like(line, patterns):
    for pattern in patterns:
        found = pattern.search(line)
        if found:
            return line[: found.start()]
    return line


def _panel_follows(cells, at):
    """Whether a graded cell (one the page shows as an exercise's panel) comes after the answer
    cell at `at`, before the next answer cell."""
    for cell in cells[at + 1 :]:
        nbgrader = cell.metadata.get("nbgrader", {}) if cell.cell_type == "code" else {}
        if nbgrader.get("solution"):
            return False
        if nbgrader.get("grade") and not str(nbgrader.get("grade_id", "")).startswith("selfcheck"):
            return True
    return False


def picture_alt(svg):
    """A picture's description for screen readers and text-only readers: its <title> and <desc>."""
    title = re.search(r"<title>(.*?)</title>", svg, re.S)
    desc = re.search(r"<desc>(.*?)</desc>", svg, re.S)
    parts = [html.unescape(m.group(1)).strip() for m in (title, desc) if m]
    if not parts:
        return _("Computational graph")
    return _("Computational graph: {description}").format(description=". ".join(p for p in parts if p))


class MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, with math written as MathML instead of left as $...$
    for MathJax. LaTeX that latex2mathml cannot read is shown as its source, as code."""

    def _math(self, latex, display):
        try:
            return latex_to_mathml(latex, display=display)
        except Exception:  # latex2mathml raises its own and plain exceptions on bad input
            return f'<code class="bpkit-latex">{self.escape_html(latex)}</code>'

    def inline_math(self, body):
        return self._math(body, "inline")

    def block_math(self, body):
        return self._math(body, "block")

    def latex_environment(self, name, body):
        return self._math(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block")


class FeedbackExporter(HTMLExporter):
    """GenerateFeedback's exporter: nbconvert's HTMLExporter with math rendered as MathML, and
    the template's words from the grader's catalog (`_`), in the course's language."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.globals["_"] = _
        return environment

    @pass_context
    def markdown2html(self, context, source):
        cell = context.get("cell", {})
        renderer = MathMLRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return MarkdownWithMath(renderer=renderer).render(source)


class FeedbackForStudents(NbGraderPreprocessor):
    """GenerateFeedback step, after GetGrades: the autograded notebook as a student should read it."""

    # Declared configurable, as nbgrader's GetGrades does: HTMLExporter configures it for every
    # nbconvert class, and traitlets warns about a configured trait that is not configurable.
    display_data_priority = List(NbGraderPreprocessor.display_data_priority.default_value).tag(config=True)
    outcome_only = Bool(
        False,
        help="Each exercise's pass or fail only, no points, checks or mistakes: the page released on "
        "submit for `on_submit.visibility: after_due_date` (the full page follows at the due date).",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        if self.outcome_only:
            resources["bpkit_outcome_only"] = True
            nb.cells.insert(
                0,
                nbformat.v4.new_markdown_cell(
                    _(
                        "This page says only whether each exercise passed. The full feedback (what was "
                        "checked, your points, the mistakes recognised) is released after the due date."
                    ),
                    metadata={"bpkit": {"kind": "notice"}},
                ),
            )
        if nb.metadata.get("backprop_kit", {}).get("unreadable"):
            # Nothing of the student's was read: the grader's note (why, and what to do) is the
            # whole page; the assignment's cells put back for grading would only bury it.
            nb.cells = [c for c in nb.cells if c.metadata.get("backprop_kit") == "notes"]
            return nb, resources
        cells = []
        for at, cell in enumerate(nb.cells):
            nbgrader = cell.metadata.get("nbgrader", {}) if cell.cell_type == "code" else {}
            if str(nbgrader.get("grade_id", "")).startswith("selfcheck"):
                continue  # self-checks are for the student's own kernel; grading never runs them
            if nbgrader.get("grade") and not nbgrader.get("solution"):
                self._graded(cell)
            elif cell.cell_type == "code":
                self._pictures(cell)
                if nbgrader.get("solution") and _panel_follows(nb.cells, at):
                    # The exercise's panel below says what went wrong, in words, once; the raw
                    # traceback box above it said the same thing a second time.
                    cell.outputs = [o for o in cell.outputs if o.get("output_type") != "error"]
            if nbgrader.get("comment") == NO_RESPONSE:
                # nbgrader's automatic comment on an untouched answer read like a TA's remark;
                # the panel below says the answer is missing. A TA's own comment stays.
                nbgrader["comment"] = None
            cells.append(cell)
        nb.cells = cells
        return nb, resources

    def _graded(self, cell):
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        text = "".join(
            o.get("text", "")
            for o in cell.outputs
            if o.get("output_type") == "stream" and o.get("name") == "stdout"
        )
        cell.metadata["bpkit"] = {
            "kind": "graded",
            "title": title_of(cell.source, grade_id),
            "checked": checked_of(cell.source),
        }
        cell.source = ""  # grader code is no business of the student's
        if self.outcome_only:
            # Pass or fail, nothing a student could probe numeric answers with before the due date.
            nbgrader = cell.metadata["nbgrader"]
            passed = float(nbgrader.get("score") or 0) >= float(nbgrader.get("points") or 0)
            said = _("✓ passed") if passed else _("✗ not passed yet")
            cell.metadata["bpkit"].update(checked="", outcome_only=True)
            css = "bpkit-passed" if passed else "bpkit-failed-head"
            words = html.escape(said, quote=False)
            cell.outputs = [
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        "text/html": f'<div class="bpkit-feedback"><p class="{css}">{words}</p></div>',
                        "text/plain": said,
                    },
                )
            ]
            return
        cell.outputs = [
            nbformat.v4.new_output(
                "display_data", data={"text/html": feedback_html(text), "text/plain": text}
            )
        ]

    def _pictures(self, cell):
        for output in cell.get("outputs", []):
            svg = output.get("data", {}).get("image/svg+xml")
            if svg:
                output.setdefault("metadata", {}).setdefault("image/svg+xml", {})["alt"] = picture_alt(
                    svg if isinstance(svg, str) else "".join(svg)
                )
