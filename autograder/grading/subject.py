"""What a check runs against: the student code of one submission, asked to run some of the
notebook's cells and then make some calls. Two kinds follow this protocol:
sandbox/subject.py's SandboxSubject (during grading: the sandboxed worker runs them) and
inprocess.py's InProcessSubject (in the instructor's source notebook: its own kernel's
globals, the reference solution)."""

from collections.abc import Sequence
from typing import Any, Protocol

from ..sandbox.runner import RunResult

Call = dict[str, Any]  # one request of the wire protocol (sandbox/protocol.py): {"op": ..., ...}


class Subject(Protocol):
    """A subject may also take `will_ask(cell_ids, call_lists)`: a check's word that these asks
    come next, so that they may be answered from one run (checks.will_ask; SharedCellsSubject)."""

    def run(self, cell_ids: Sequence[str], calls: list[Call]) -> RunResult:
        """Run the cells `cell_ids` (the setup cells before them), then `calls` in order:
        one RunResult, whose `results` hold the calls' encoded results when it is ok."""
        ...
