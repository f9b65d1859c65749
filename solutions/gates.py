"""The reference gates, one class per row of the operation table (solutions/table.py).

Each class is its row's forward and local gradient put in the shape the notebooks teach:

  * forward(...) returns the output and remembers the inputs and the output backward needs;
  * backward(dout) takes the upstream gradient dL/d(output) and returns dL/d(input) for every
    input, each with the shape of that input (a tuple for two inputs).

The notebook builder writes the same row as a class with solution markers
(autograder/notebooks.py: class_with_solution_markers), so what students are graded against is
exactly the row. Numpy only.
"""

import contextlib
import dis

import numpy as np

from .table import ENGINE, OPERATIONS, Operation


def _read_by(function) -> set[str]:
    """The parameters a row's backward reads: forward keeps those only, as a gate written by hand
    does (a gate that keeps nothing cannot share state between its instances)."""
    read: set[str] = set()
    for instruction in dis.get_instructions(function):
        if instruction.opname.startswith("LOAD_FAST"):  # LOAD_FAST_LOAD_FAST reads two at once
            value = instruction.argval
            read.update(value if isinstance(value, tuple) else (value,))
    return read


def gate_class(op: Operation) -> type:
    """The engine's class for one row: its constants given to the constructor, its inputs and
    output kept by forward for backward."""
    backward_of, forward_of = op.backward, op.forward
    if forward_of is None:
        raise ValueError(f"solutions/table.py: {op.name} has no forward (a release's copy of the table?)")
    if backward_of is None:
        raise ValueError(f"solutions/table.py: {op.name} has no backward (a release's copy of the table?)")

    def __init__(self, *constants):
        if len(constants) != len(op.constants):
            raise TypeError(f"{op.name}() takes {len(op.constants)} constant(s), {', '.join(op.constants)}")
        for name, value in zip(op.constants, constants):
            setattr(self, name, value)

    parameters = backward_of.__code__.co_varnames[: backward_of.__code__.co_argcount]
    read = _read_by(backward_of)
    keeps_out = parameters[1] in read  # (dout, out, *inputs, *constants)
    kept = [i for i, name in enumerate(parameters[2 : 2 + len(op.inputs)]) if name in read]

    def forward(self, *inputs):
        if len(inputs) != len(op.inputs):
            raise TypeError(f"{op.name}.forward takes {len(op.inputs)} input(s): {', '.join(op.inputs)}")
        for i in kept:
            setattr(self, op.inputs[i], inputs[i])
        quiet = np.errstate(over="ignore") if op.quiet_overflow else contextlib.nullcontext()
        with quiet:
            out = forward_of(*inputs, *self._constants())
        if keeps_out:
            self.out = out
        return out

    def backward(self, dout):
        inputs = [getattr(self, name, None) for name in op.inputs]  # None: backward does not read it
        return backward_of(dout, getattr(self, "out", None), *inputs, *self._constants())

    def _constants(self):
        return tuple(getattr(self, name) for name in op.constants)

    return type(
        op.name,
        (),
        {
            "__doc__": op.doc,
            "__module__": __name__,
            "__init__": __init__,
            "forward": forward,
            "backward": backward,
            "_constants": _constants,
            "operation": op,
        },
    )


CLASSES: dict[str, type] = {op.name: gate_class(op) for op in OPERATIONS}
ENGINE.update(CLASSES)  # each row's .cls
globals().update(CLASSES)  # solutions.gates.MulGate, as a gate module for solutions.lecture
