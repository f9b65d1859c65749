"""The kinds of gate (solutions/gate_kinds.py, shipped as bpkit/gate_kinds.py): one
description per kind, read by the hidden checks and by the self-checks and Validate."""

import numpy as np
import pytest
from shipped import shipped_bpkit_module

from solutions.gate_kinds import KINDS
from solutions.table import GATES


@pytest.mark.parametrize("spec", GATES, ids=lambda g: g.name)
def test_each_kind_draws_inputs_the_reference_gate_takes_and_says_its_output_shape(spec):
    kind = spec.kind_of
    for draw in (kind.graded_cases, lambda rng: kind.self_check_cases(rng, 0.1)):
        for label, inputs in draw(np.random.default_rng(3)):
            assert len(inputs) == kind.arity == len(spec.inputs), label
            assert np.shape(spec.cls().forward(*inputs)) == kind.output_shape(inputs), label


@pytest.mark.parametrize("spec", [g for g in GATES if g.kinks is not None], ids=lambda g: g.name)
def test_a_kinks_cases_are_at_it_and_the_random_ones_away_from_it(spec):
    kink = spec.kind_of.kink
    for label, inputs in kink.cases(np.random.default_rng(5)):
        assert np.any(kink.at(inputs)), label
    for label, inputs in spec.kind_of.self_check_cases(np.random.default_rng(5), 0.25):
        assert np.min(kink.distance(inputs)) >= 0.2, label


def test_the_table_refuses_a_kind_that_does_not_fit_the_row():
    import dataclasses

    import solutions.table as table

    bad = dataclasses.replace(table.BY_GRADE_ID["relu_gate"], inputs=("x", "y"))
    rows = tuple(bad if op.name == bad.name else op for op in table.OPERATIONS)
    with pytest.raises(ValueError, match="ReLUGate has 2 input\\(s\\), but a 'rectifier' gate takes 1"):
        table._check_rows(rows)


def test_the_students_copy_is_the_same_description(tmp_path):
    with shipped_bpkit_module(tmp_path, "gate_kinds") as shipped:
        assert set(shipped.KINDS) == set(KINDS)
        for name, kind in KINDS.items():
            mine, theirs = (
                kind.self_check_cases(np.random.default_rng(1), 0.1),
                shipped.KINDS[name].self_check_cases(np.random.default_rng(1), 0.1),
            )
            assert [label for label, _ in mine] == [label for label, _ in theirs]
            assert all(np.array_equal(a, b) for (_, x), (_, y) in zip(mine, theirs) for a, b in zip(x, y))
