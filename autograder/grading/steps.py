"""Two of nbgrader's own steps, doing the same with less work; both grading commands run them.

  CheckCellMetadataOnce  nbgrader's CheckCellMetadata, its JSON schema compiled once per process
                         (fastjsonschema, which nbformat already uses) instead of being checked
                         itself and interpreted again for every cell (a fifth of a second per
                         notebook). A violation raises jsonschema's ValidationError, as before.
  SaveAutoGradesOnce     nbgrader's SaveAutoGrades in one gradebook transaction per notebook
                         instead of a commit per cell; a graded cell's score is the number
                         TrustedChecks gave it (`scores_of`), not its printed output parsed back.

`auto_score` is the one rule for what a cell scores, shared with `backprop-kit autograde`'s
CollectAutoGrades (batch/pipeline.py), which returns the records instead of writing them.
"""
import threading

import jsonschema
from nbgrader import utils
from nbgrader.preprocessors import CheckCellMetadata, SaveAutoGrades

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
        self.validators = {}  # id(schema) -> (schema, compiled): the schema kept, so its id stays its own

    def validate(self, instance, schema):
        import fastjsonschema

        if id(schema) not in self.validators:
            jsonschema.validators.validator_for(schema).check_schema(schema)
            self.validators[id(schema)] = (schema, fastjsonschema.compile(schema))
        try:
            self.validators[id(schema)][1](instance)
        except fastjsonschema.JsonSchemaException as e:
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


class _OneCommit:
    """The gradebook's session with commit() deferred: nbgrader's SaveAutoGrades commits after
    every cell; the notebook's records are committed together, once, at the end."""

    def __init__(self, session):
        self.session = session

    def __getattr__(self, name):
        return getattr(self.session, name)

    def commit(self):
        self.session.flush()


class SaveAutoGradesOnce(SaveAutoGrades):
    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        meta = resources["nbgrader"]
        self.notebook_id, self.assignment_id = meta["notebook"], meta["assignment"]
        self.student_id, self.db_url = meta["student"], meta["db_url"]
        self.gradebook = Gradebook(self.db_url)
        with self.gradebook:
            session, self.gradebook.db = self.gradebook.db, _OneCommit(self.gradebook.db)
            try:
                for index, cell in enumerate(nb.cells):
                    nb.cells[index], resources = self.preprocess_cell(cell, resources, index)
                session.commit()
            finally:
                self.gradebook.db = session
        return nb, resources

    def _add_score(self, cell, resources):
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        grade.auto_score = auto_score(cell, resources, self.log)
        # As nbgrader: a manual grade given before, or no automatic score, needs a person's look.
        grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        self.gradebook.db.commit()
