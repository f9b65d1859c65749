"""Whose numbers a submitted notebook was made with, and what to say when that is not the
student it is graded as.

Grades always use the graded id's numbers: nobody may choose their numbers. But a correct
notebook made with STUDENT_ID = "a" and submitted as "b" fails every hand answer, and the
student deserves to be told why rather than to be told about mistakes they never made.

The id is read from the submission before nbgrader's sanitize pass clears outputs
(`RecordMadeFor`, first of the sanitize steps): the setup cell prints whose numbers it
loaded, which is the JupyterHub user or STUDENT_ID as the kernel saw it; when that output is
gone, the STUDENT_ID the student typed. It is only ever used for words and report facts,
never for a score, so a student who forges it changes nothing but their own feedback.
"""

import ast
import re

from nbgrader.preprocessors import NbGraderPreprocessor

from ..bpkit.i18n import LANGUAGES, STUDENT_WORDS, speaking
from ..words import _

# bpkit/problems.py: Problems.describe() in per-student mode, in every language a course may speak
# (the words before the id, as the catalog has them).
DESCRIBED_AS = "These numbers belong to student id {id} ({course}, assignment {assignment})."
QUOTED = r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"


def _describe_pattern():
    heads = []
    for language in LANGUAGES:
        with speaking(language):
            head = STUDENT_WORDS.gettext(DESCRIBED_AS).split("{id}")[0]
        if head.strip():  # words before the id; without any, a translation cannot be told from other output
            heads.append(head)
    return re.compile("(?:" + "|".join(re.escape(h) for h in dict.fromkeys(heads)) + ")" + QUOTED)


DESCRIBE = _describe_pattern()
METADATA_KEY = "bpkit"


def made_for(nb):
    """The student id the notebook's numbers were made for, or None when it cannot be told."""
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            match = DESCRIBE.search(text if isinstance(text, str) else "".join(text))
            if match:
                try:
                    return str(ast.literal_eval(match.group(1))).strip() or None
                except (ValueError, SyntaxError):
                    continue
    return typed_student_id(nb)


def typed_student_id(nb):
    """STUDENT_ID = "..." as typed in a plain code cell of the notebook, or None."""
    for cell in nb.cells:
        if cell.get("cell_type") != "code" or "nbgrader" in cell.get("metadata", {}):
            continue
        try:
            tree = ast.parse(cell.get("source", ""))
        except SyntaxError:
            continue
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and getattr(node.targets[0], "id", None) == "STUDENT_ID"
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
                and node.value.value.strip()
            ):
                return node.value.value.strip()
    return None


class RecordMadeFor(NbGraderPreprocessor):
    """Sanitize step, before ClearOutput: note in the notebook's metadata whose numbers it was
    made with (always overwritten, so a value a student planted there is never read)."""

    def preprocess(self, nb, resources):
        nb.metadata.setdefault(METADATA_KEY, {})["made_for"] = made_for(nb)
        return nb, resources


def recorded_made_for(nb):
    value = nb.metadata.get(METADATA_KEY, {}).get("made_for")
    return value if isinstance(value, str) and value else None


def mismatch_note(made_for_id, graded_id):
    """The words shown at the top of the feedback and at every exercise that uses the numbers."""
    return _(
        "Note: this notebook was made with the numbers of student id {made_for}, but it is graded as student "
        "id {graded}. Grades always use the graded student's own numbers, so answers computed with the numbers "
        "of {made_for} are marked wrong here. If {graded} is you, set STUDENT_ID to {graded} (or run the "
        "notebook on your own JupyterHub account), redo the hand answers and submit again; if not, ask your "
        "TA."
    ).format(made_for=repr(made_for_id), graded=repr(graded_id))


def spare_other_ids_answers(result, other, made_for_id):
    """Outcomes that fail for the graded id's numbers but pass for made_for's are the other
    id's right answers, not a mistake: name no misconception for them and say so."""
    passed_for_other = {o.name for o in other.outcomes if o.passed}
    for outcome in result.outcomes:
        if not outcome.passed and outcome.name in passed_for_other:
            outcome.misconception = ""
            outcome.message = _(
                "right for the numbers of student id {made_for}, not for the graded student's"
            ).format(made_for=repr(made_for_id))
    return result
