"""The words of a graded cell's feedback (CheckResult.feedback): sub-checks that say the same
thing are said once, listing what they cover; each mistake is explained once."""

from autograder.grading.outcomes import CheckResult, Outcome, group_label


def test_the_same_verdict_on_several_inputs_is_one_line_listing_them():
    names = [f"backward, {case}: d{x}" for case in ("vectors", "matrices") for x in "xy"]
    assert group_label(names) == "backward dx and dy, on vectors and matrices"
    assert group_label(["forward, floats", "forward, vectors"]) == "forward, on floats and vectors"
    assert group_label(["q", "f"]) == "q, f"


def test_names_that_do_not_make_every_combination_are_listed_as_they_are():
    assert (
        group_label(["backward, vectors: dx", "backward, matrices: dy"])
        == "backward, vectors: dx; backward, matrices: dy"
    )


def test_a_mistake_is_explained_once_however_many_checks_show_it():
    result = CheckResult(
        [
            Outcome(f"backward, {c}: d{x}", False, "off by 0.33", "add-split")
            for c in ("vectors", "matrices")
            for x in "xy"
        ]
        + [
            Outcome("backward, floats: dx", False, "off by 0.5", "add-split"),
            Outcome("forward, vectors", True),
        ]
    )
    text = result.feedback("AddGate.backward", 2)
    assert text.splitlines() == [
        "AddGate.backward: 0.333 / 2 points",
        "[FAIL] backward dx and dy, on vectors and matrices: off by 0.33 (looks like 'add-split')",
        "[FAIL] backward, floats: dx: off by 0.5 (looks like 'add-split')",
        "[ok ] forward, vectors",
        "This looks like 'add-split': The add gate halved the gradient between its inputs instead of copying it.",
        "  Hint: How much does x + y change when x changes by a small h? Both inputs get that rate.",
    ]


def test_the_page_names_a_mistake_once_after_the_words_that_explain_it():
    """The terminal's text names the mistake on each failed line and in its explanation; the
    feedback page names it once, after the explanation, where it reads as a reference and not as
    jargon to decode first."""
    from autograder.grading.feedback import feedback_html

    result = CheckResult(
        [Outcome(f"backward, {c}: dx", False, "off by 0.33", "add-split") for c in ("vectors", "floats")]
        + [Outcome("forward, vectors", True)]
    )
    page = feedback_html(result.feedback("AddGate.backward", 2))
    assert page.count("add-split") == 1 and "looks like" not in page
    assert page.index("halved the gradient") < page.index('<span class="bpkit-mistake-id">(add-split)</span>')
    assert "<li>✗ backward dx, on vectors and floats: off by 0.33</li>" in page
