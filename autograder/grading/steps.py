"""Two of nbgrader's own steps, doing the same with less work; both grading commands run them.

  CheckCellMetadataOnce  nbgrader's CheckCellMetadata, its JSON schema compiled once per process
                         (fastjsonschema, which nbformat already uses) instead of being checked
                         itself and interpreted again for every cell (a fifth of a second per
                         notebook), and not again for each notebook (6 ms a pass). A violation
                         raises jsonschema's ValidationError, as before.
  SaveAutoGradesOnce     nbgrader's SaveAutoGrades with the notebook's grades and comments read
                         in two queries and written in one transaction, instead of two queries
                         and a commit per cell; a graded cell's score is the number
                         TrustedChecks gave it (`scores_of`), not its printed output parsed back.

`collect_records` (and `auto_score` in it) are the one rule for what a notebook records, and
`save_records` the one way they are written: `backprop-kit autograde` collects them in its
graders (CollectAutoGrades, batch/pipeline.py) and writes them from its coordinator
(batch/record.py).
"""

import json
import threading
from typing import Any

import jsonschema
from nbgrader import utils
from nbgrader.preprocessors import CheckCellMetadata, SaveAutoGrades

from ..words import N_

# nbgrader's comment on an answer cell left as released, recorded in English as nbgrader records
# it (the gradebook is the same in every language); the feedback page says it in the course's.
NO_RESPONSE = N_("No response.")

SCORES = "backprop_kit_scores"  # the key of nbconvert's resources where TrustedChecks leaves its scores


def scores_of(resources):
    """{grade_id: points earned} of the cells TrustedChecks scored (set by it, read here)."""
    return resources.setdefault(SCORES, {})


def auto_score(cell, resources, log=None):
    """A grade cell's automatic score: TrustedChecks' number for the cells it scored, nbgrader's
    own rule (determine_grade) for any other (an answer graded by hand: None, or 0 untouched)."""
    grade_id = cell.metadata["nbgrader"]["grade_id"]
    scores = scores_of(resources)
    if grade_id in scores:
        return scores[grade_id]
    return utils.determine_grade(cell, log)[0]


class _SchemaCompiledOnce:
    """Stands in for the jsonschema module inside nbgrader's metadata validator."""

    def __init__(self):
        # nbgrader reads its schema anew for every validator, so each pass brings an equal schema
        # in a new dict: compiled schemas are kept by content, and the last one by identity.
        self.compiled = {}  # the schema as canonical JSON -> its compiled validator
        self.last: tuple[Any, Any] = (
            None,
            None,
        )  # (schema, compiled) of the last call: a pass asks once per cell

    def validate(self, instance, schema):
        import fastjsonschema

        last_schema, compiled = self.last
        if schema is not last_schema:
            key = json.dumps(schema, sort_keys=True)
            if key not in self.compiled:
                jsonschema.validators.validator_for(schema).check_schema(schema)
                self.compiled[key] = fastjsonschema.compile(schema)
            compiled = self.compiled[key]
            self.last = (schema, compiled)
        try:
            compiled(instance)
        except fastjsonschema.JsonSchemaValueException as e:
            raise jsonschema.ValidationError(e.message) from None


class CheckCellMetadataOnce(CheckCellMetadata):
    _validation = _SchemaCompiledOnce()
    _swap = threading.Lock()  # the stand-in is module-wide while it is in place

    def preprocess(self, nb, resources):
        from nbgrader.nbgraderformat import common

        with self._swap:
            original, common.jsonschema = common.jsonschema, self._validation
            try:
                return super().preprocess(nb, resources)
            finally:
                common.jsonschema = original


def collect_records(nb, resources, log=None):
    """({grade_id: auto_score}, {grade_id: auto_comment}): what SaveAutoGrades writes for a
    graded notebook, by its rules (a score per grade cell, "No response." for an untouched
    answer)."""
    grades, comments = {}, {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if utils.is_grade(cell):
            grades[grade_id] = auto_score(cell, resources, log)
        if utils.is_solution(cell) or utils.is_task(cell):
            unchanged = cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell)
            comments[grade_id] = NO_RESPONSE if unchanged and not utils.is_task(cell) else None
    return grades, comments


def save_records(gradebook, notebook_id, grades, comments):
    """Write collect_records' records to a submitted notebook's Grade and Comment rows (its
    database id), each kind read in one query with its cells (a lookup per cell would cost a
    query each); nothing is committed here."""
    from nbgrader.api import BaseCell, Comment, Grade
    from sqlalchemy.orm import contains_eager

    def rows(kind):
        return (
            gradebook.db.query(kind)
            .join(BaseCell, BaseCell.id == kind.cell_id)
            .options(contains_eager(kind.cell))
            .filter(kind.notebook_id == notebook_id)
            .all()
        )

    for grade in rows(Grade):
        if grade.name in grades:
            grade.auto_score = grades[grade.name]
            # As nbgrader: a manual grade given before, or no automatic score, needs a person's look.
            grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
    for comment in rows(Comment):
        if comment.name in comments:
            comment.auto_comment = comments[comment.name]


class SaveAutoGradesOnce(SaveAutoGrades):
    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        meta = resources["nbgrader"]
        grades, comments = collect_records(nb, resources, self.log)
        with Gradebook(meta["db_url"]) as gradebook:
            submitted = gradebook.find_submission_notebook(
                meta["notebook"], meta["assignment"], meta["student"]
            )
            save_records(gradebook, submitted.id, grades, comments)
            gradebook.db.commit()
        return nb, resources
