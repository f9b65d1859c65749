"""Sanitize step: put the hidden tests back into untouched test cells before nbgrader checks them.

nbgrader saves each test cell in the gradebook with its hidden tests, and its checksum is
taken over that full source; the release carries the cell without them. OverwriteCells then
compares every submitted test cell with the gradebook's checksum, so an untouched cell
always differs and nbgrader warns "Attribute 'checksum' for cell test_... has changed!" for
every test cell of every submission: a warning meant to reveal tampering that fires on
everybody teaches TAs to ignore it.

RestoreHiddenTests, run just before OverwriteCells, gives a test cell its full source back
when what was submitted is exactly the released form (the full source with nbgrader's own
ClearHiddenTests applied). A cell a student edited is left alone, so OverwriteCells still
warns about it and restores it, as before.
"""

import copy

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor


class RestoreHiddenTests(NbGraderPreprocessor):
    @staticmethod
    def locked_sources(gradebook, meta):
        """{grade_id: full source} of the assignment notebook's locked cells, or None when unknown."""
        try:
            source = gradebook.find_notebook(meta["notebook"], meta["assignment"])
        except MissingEntry:
            return None
        return {c.name: c.source for c in source.source_cells if c.locked}

    def locked(self, resources):
        """From the gradebook; `backprop-kit autograde` reads its snapshot instead."""
        meta = resources["nbgrader"]
        with Gradebook(meta["db_url"]) as gb:
            return self.locked_sources(gb, meta)

    def preprocess(self, nb, resources):
        locked = self.locked(resources)
        if locked is None:
            return nb, resources
        clear = ClearHiddenTests(config=self.config)
        for cell in nb.cells:
            full = locked.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
            if full is not None and full != cell.source and cell.source == released_form(full, cell, clear):
                cell.source = full
        return nb, resources


def released_form(full_source, cell, clear):
    """What nbgrader's generate_assignment made of this source: hidden tests removed."""
    released = copy.deepcopy(cell)
    released.source = full_source
    clear._remove_hidden_test_region(released)
    return released.source
