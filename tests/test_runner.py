"""Running hostile student code out of the grader's process: the sandboxed worker, the
grader's client, `decode`, and the notebook kernel under the same sandbox."""

import json
import resource
import socket
from pathlib import Path
from typing import NamedTuple

import nbformat
import numpy as np
import pytest

from autograder.grading.problems import detail_of, refusal_of
from autograder.sandbox import bwrap as sandbox
from autograder.sandbox import runner as runner_module
from autograder.sandbox.hosted import HostedWorker
from autograder.sandbox.kernel import sandboxed_kernel_manager_factory
from autograder.sandbox.limits import Limits
from autograder.sandbox.protocol import decode_argument, encode, nudged_inputs
from autograder.sandbox.runner import InvalidAnswer, StudentRunner, decode

REPO = Path(__file__).resolve().parent.parent
needs_bwrap = pytest.mark.skipif(
    not sandbox.sandbox_available(),
    reason="bubblewrap (bwrap) is not installed or cannot build a sandbox here",
)

LIMITS = Limits(wall_seconds=2, memory_bytes=1024**3, output_bytes=2000)
MUL = [
    "mul_gate",
    "class MulGate:\n"
    "    def forward(self, x, y):\n        self.x, self.y = x, y\n        return x * y\n"
    "    def backward(self, d):\n        return d * self.y, d * self.x\n",
]


@pytest.fixture(scope="module", params=["hosted", "own bwrap"])
def runner(request):
    """Both ways a worker starts: forked by the sandbox host (the default as root), and in a
    bwrap of its own (BPKIT_SANDBOX_HOST=0, and always when not root)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("BPKIT_SANDBOX_HOST", "1" if request.param == "hosted" else "0")
    try:
        with StudentRunner(
            LIMITS,
            require_sandbox=True,
            hide=[REPO],
            helper_files={"bpkit/__init__.py": b"HELPER = 'here'\n"},
        ) as r:
            assert isinstance(r.process, HostedWorker) == (request.param == "hosted" and r.uid is not None)
            yield r
    finally:
        patch.undo()


def gate(*steps, cls="MulGate"):
    return {"op": "gate", "class": cls, "steps": [[m, [encode(a) for a in args]] for m, args in steps]}


def probe(runner, source, *names):
    """Run one cell, return the encoded values of `names`."""
    result = runner.run({"cells": [["probe", source]], "calls": [{"op": "variables", "names": list(names)}]})
    assert result.ok, (result.status, result.detail, result.output)
    return result.results[0]


processes_of = sandbox.processes_of_uid


pytestmark = needs_bwrap


# ---------------------------------------------------------------- the calls


def test_gate_steps_come_back_as_numbers(runner):
    steps = gate(("forward", (np.array([1.0, 2.0]), 3.0)), ("backward", (2.0,)))
    result = runner.run({"cells": [MUL], "calls": [steps]})
    assert result.ok and result.status == "ok"
    forward, backward = result.results[0]
    np.testing.assert_array_equal(decode(forward, expect_shape=(2,)), [3.0, 6.0])
    dx, dy = backward["seq"]
    assert decode(dx) == 6.0 and decode(dy, expect_shape=(2,)).tolist() == [2.0, 4.0]


def test_nudged_forwards_are_the_forwards_of_a_numeric_gradient_each_on_a_fresh_instance(runner):
    """One call carries the inputs once; the worker moves each entry by +h then -h, in
    nudged_inputs' order, and runs forward on a fresh instance each time: an instance that
    remembers an earlier forward, or one forward that raises, changes only its own result."""
    source = (
        "import numpy as np\nclass Sticky:\n    def forward(self, x, y):\n"
        "        if float(np.ravel(x)[0]) > 1.05: raise ValueError('too far')\n"
        "        self.seen = getattr(self, 'seen', 0) + 1\n        return x * y + self.seen\n"
    )
    x, y, h = np.array([1.0, 2.0]), np.array(3.0), 0.1
    call = {"op": "nudged_forwards", "class": "Sticky", "args": [encode(x), encode(y)], "h": h}
    result = runner.run(
        {
            "cells": [["sticky", source]],
            "calls": [call, {"op": "nudged_forwards", "class": "Nope", "args": [], "h": h}],
        }
    )
    assert result.ok
    outs, missing = result.results
    expected = [mx * my + 1 for mx, my in nudged_inputs([x, y], h)]
    assert len(outs) == 2 * (x.size + y.size) == len(expected)
    assert outs[0]["error"].startswith("ValueError: too far")  # x[0] + h: only that forward failed
    for out, want in zip(outs[1:], expected[1:]):
        np.testing.assert_array_equal(
            decode(out, expect_shape=(2,)), want
        )  # + 1: a fresh instance every time
    assert missing[0] == {"undefined": "Nope"}  # the name only: the grader words it


def test_named_instances_live_side_by_side_and_an_error_ends_only_its_own(runner):
    source = (
        "class Counter:\n    def forward(self, x):\n        if x < 0: raise ValueError('negative')\n"
        "        self.x = x\n        return x\n    def backward(self, d):\n        return self.x * d\n"
    )
    steps = [
        ["forward", [encode(2.0)], "A"],
        ["forward", [encode(-1.0)], "B"],
        ["forward", [encode(5.0)], "C"],
        ["backward", [encode(1.0)], "A"],
        ["backward", [encode(1.0)], "B"],
        ["backward", [encode(1.0)], "C"],
    ]
    result = runner.run(
        {"cells": [["counter", source]], "calls": [{"op": "gate", "class": "Counter", "steps": steps}]}
    )
    fa, fb, fc, ba, bb, bc = result.results[0]
    assert decode(ba) == 2.0 and decode(bc) == 5.0  # each instance kept its own x
    assert fb["error"].startswith("ValueError: negative") and bb == fb  # B's later steps repeat its error


def test_a_failing_step_ends_only_its_own_call(runner):
    result = runner.run(
        {
            "cells": [MUL],
            "calls": [gate(("backward", (1.0,)), ("forward", (1.0, 2.0))), gate(("forward", (2.0, 3.0)))],
        }
    )
    assert result.ok
    # The failed instance's later steps repeat its error: nothing of it runs after a failure.
    assert len(result.results[0]) == 2 and result.results[0][0]["error"].startswith("AttributeError")
    assert result.results[0][1] == result.results[0][0]
    assert "cell mul_gate, line 6" in result.results[0][0]["error"]
    assert decode(result.results[1][0]) == 6.0


def test_variables_and_functions(runner):
    cells = [["answers", "dfdx = -4.0\ndfdy = np.float32(3)\ndef f(a, b):\n    return a @ b\n"]]
    result = runner.run(
        {
            "cells": [["imports", "import numpy as np"], *cells],
            "calls": [
                {"op": "variables", "names": ["dfdx", "dfdy", "dfdz"]},
                {"op": "call", "function": "f", "args": [encode(np.eye(2)), encode(np.ones(2))]},
                {"op": "call", "function": "nope", "args": []},
            ],
        }
    )
    variables, called, missing = result.results
    assert decode(variables["dfdx"]) == -4.0 and decode(variables["dfdy"]) == 3.0
    assert "not defined" in refusal(variables["dfdz"])
    assert decode(called, expect_shape=(2,)).tolist() == [1.0, 1.0]
    assert missing == {"undefined": "nope"}


def test_helper_files_and_env_reach_student_code(runner):
    result = runner.run(
        {
            "cells": [["use", "import os\nfrom bpkit import HELPER\nwho = os.environ['WHO']"]],
            "calls": [],
            "env": {"WHO": "s1"},
        }
    )
    assert result.ok, result.detail


def test_inputs_are_fresh_copies_every_time(runner):
    """Student code mutating its inputs changes neither the grader's arrays nor the next step's."""
    source = "class Clobber:\n    def forward(self, x):\n        x += 1\n        return x\n"
    x = np.array([1.0, 2.0])
    calls = [gate(("forward", (x,)), ("forward", (x,)), cls="Clobber")]
    result = runner.run({"cells": [["clobber", source]], "calls": calls})
    first, second = (decode(step).tolist() for step in result.results[0])
    assert first == second == [2.0, 3.0]
    assert x.tolist() == [1.0, 2.0]


# ---------------------------------------------------------------- hostile code


@pytest.mark.parametrize(
    "source, status, detail",
    [
        ("while True: pass", "timeout", "within 1 seconds"),
        ("import os; os._exit(3)", "crashed", "code 3"),
        ("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", "crashed", "SIGSEGV"),
        ("x = bytearray(8 * 1024**3)", "memory", "MemoryError"),
        ("import numpy as np; x = np.ones((1024, 1024, 1024))", "memory", "MemoryError"),
        ("def f(:\n  pass", "error", "SyntaxError"),
        ("raise SystemExit(0)", "error", "SystemExit"),
    ],
)
def test_bad_code_gets_its_status_within_the_limits_and_the_next_run_still_works(
    runner, source, status, detail
):
    # The status says how it ended, with no clock read here (a busy machine stretches any
    # wall time): "timeout" is the worker's verdict at its 1 s limit, any other came before it.
    result = runner.run({"cells": [["bad", source]], "calls": [], "limits": {"wall_seconds": 1}})
    assert (result.status, detail in detail_of(result)) == (status, True), result
    assert runner.run({"cells": [MUL], "calls": [gate(("forward", (2.0, 3.0)))]}).results[0][0] == {
        "float": 6.0
    }


def test_a_timeout_says_whether_the_cells_or_a_call_ran_out_of_time(runner):
    loop_in_cell = runner.run({"cells": [["loop", "while True: pass"]], "calls": []})
    loop_in_call = runner.run(
        {
            "cells": [["f", "def f(x):\n    while True: pass"]],
            "calls": [{"op": "call", "function": "f", "args": [encode(1.0)]}],
        }
    )
    assert (loop_in_cell.status, loop_in_cell.phase) == ("timeout", "cells")
    assert (loop_in_call.status, loop_in_call.phase) == ("timeout", "calls")


def test_cells_that_loop_by_themselves_cost_one_timeout_per_notebook(runner):
    """The grader's subject (its SkipAfterTimeout step) skips later checks that need cells which looped before any call;
    a loop inside a call skips nothing (the next call may finish)."""
    from autograder.grading.cells import Submission
    from autograder.grading.sandboxed import sandboxed_subject

    def cell(grade_id, source):
        return nbformat.v4.new_code_cell(
            source, metadata={"nbgrader": {"grade_id": grade_id, "solution": True}}
        )

    nb = nbformat.v4.new_notebook(
        cells=[
            cell("stuck", "open('stuck-runs', 'a').write('x')\nwhile True: pass"),
            cell("slow", "def f(x):\n    while x > 0: pass\n    return x"),
        ]
    )
    subject = sandboxed_subject(runner, Submission(nb))
    call = {"op": "call", "function": "f", "args": [encode(1.0)]}
    assert subject.run(["stuck"], []).phase == "cells"
    runs = runner.run({"cells": [["count", "print(len(open('stuck-runs').read()))"]]}).output
    skipped = subject.run(["stuck", "slow"], [call])
    assert skipped.status == "timeout" and "skipped" in skipped.detail
    assert runner.run({"cells": [["count", "print(len(open('stuck-runs').read()))"]]}).output == runs, (
        "skipped: the looping cell did not run again"
    )
    assert subject.run(["slow"], [call]).phase == "calls"
    finishes = subject.run(["slow"], [{"op": "call", "function": "f", "args": [encode(-1.0)]}])
    assert finishes.ok and decode(finishes.results[0]) == -1.0


def test_an_error_reports_type_message_and_only_the_students_frames(runner):
    result = runner.run(
        {"cells": [["helper", "def g(x):\n    return 1 / x\n"], ["main", "y = g(0)\n"]], "calls": []}
    )
    assert result.status == "error"
    assert result.error["type"] == "ZeroDivisionError" and result.error["cell"] == "main"
    traceback = result.error["traceback"]
    assert '"<cell main>", line 1' in traceback and '"<cell helper>", line 2' in traceback
    assert "worker.py" not in traceback and "return 1 / x" in traceback


@pytest.mark.parametrize("how", ["SIGKILL", "SIGSTOP"])
def test_a_child_that_kills_or_stops_its_zygote_costs_only_its_own_request(runner, how):
    runner.margin_seconds = 1.0  # a stopped zygote is noticed after wall + margin
    try:
        result = runner.run(
            {
                "cells": [
                    [
                        "parricide",
                        f"import os, signal; os.kill(os.getppid(), signal.{how})\n"
                        "import time; time.sleep(30)",
                    ]
                ],
                "calls": [],
                "limits": {"wall_seconds": 0.5},
            }
        )
    finally:
        runner.margin_seconds = runner_module.MARGIN_SECONDS
    # A hosted worker is its pid namespace's init, which signals from inside do not reach: the
    # child then just runs out of time. A worker under its own bwrap dies, and is restarted.
    assert result.status == ("timeout" if isinstance(runner.process, HostedWorker) else "crashed"), result
    assert runner.run({"cells": [MUL], "calls": [gate(("forward", (2.0, 3.0)))]}).results[0][0] == {
        "float": 6.0
    }


def test_monkeypatching_does_not_survive_into_the_next_request(runner):
    patched = runner.run(
        {
            "cells": [
                [
                    "patch",
                    "import numpy as np, builtins\nnp.sum = lambda *a, **k: 42\n"
                    "builtins.float = int\nimport json; json.dumps = None",
                ]
            ],
            "calls": [],
        }
    )
    assert patched.status in ("ok", "crashed")
    assert probe(runner, "import numpy as np\ns = float(np.sum(np.ones(3)))", "s")["s"] == {"float": 3.0}


def test_output_floods_are_cut_and_do_not_reach_the_graders_memory(runner):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for source in (
        "print('x' * 100_000_000)",
        "import os, sys\nfor _ in range(1600): os.write(2, b'y' * 65536)\nprint('done')",
    ):
        # A minute, not the 2 s of LIMITS: on a busy machine 100 MB take a while to write; the
        # subject is what reaches the grader, and a child blocked on a full pipe would never end.
        result = runner.run({"cells": [["flood", source]], "calls": [], "limits": {"wall_seconds": 60}})
        assert result.ok, result
        assert len(result.output) < LIMITS.output_bytes + 200 and "output cut" in result.output
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB: no 100 MB anywhere


def test_detached_processes_do_not_outlive_their_request(runner):
    # The cell ends only once its double-forked, setsid() sleeper is up (it says so with a
    # file), so the sleeper surely exists when the request ends; the reply comes after the
    # worker swept and reaped what the request left, so the count below races nothing.
    source = (
        "import os, time\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        open('sleeper-up', 'w').close()\n        time.sleep(600)\n    os._exit(0)\n"
        "while not os.path.exists('sleeper-up'):\n    time.sleep(0.005)\n"
    )
    assert runner.run({"cells": [["detach", source]], "calls": []}).ok
    if runner.uid is None:
        pytest.skip("process-table check by uid needs uid mode (root)")
    assert len(processes_of(runner.uid)) == 1  # the zygote alone: the sleeper died with its request


def test_a_fork_bomb_costs_only_its_own_request(runner):
    """`while True: os.fork()`, unbounded: the sandbox's process cap stops it, the request
    fails, nothing of it survives, and the next request runs normally."""
    if runner.uid is None:
        pytest.skip("the process cap of a root grader needs uid mode")
    result = runner.run({"cells": [["bomb", "import os\nwhile True:\n    os.fork()"]], "calls": []})
    # Stopped by the worker, not by the grader's deadline (which would say "stopped answering").
    assert not result.ok and "stopped answering" not in detail_of(result), result
    assert len(processes_of(runner.uid)) == 1  # the zygote alone
    after = runner.run({"cells": [MUL], "calls": [gate(("forward", (2.0, 3.0)))]})
    assert after.ok and decode(after.results[0][0]) == 6.0


def test_student_code_cannot_reach_the_grader_the_host_or_the_network(runner):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        values = probe(
            runner,
            f"""
import os, socket, sys
uid = os.getuid()
fds = sorted(int(f) for f in os.listdir('/proc/self/fd'))
def attempt(f):
    try:
        f()
        return 1.0
    except Exception:
        return 0.0
network = attempt(lambda: socket.create_connection(('127.0.0.1', {listener.getsockname()[1]}), timeout=1))
grader_pkgs = attempt(lambda: __import__('solutions')) + attempt(lambda: __import__('autograder'))
import site
site.main()  # the .pth files, and with them an editable install's import finder
sys.path.append({str(REPO)!r})
grader_pkgs += attempt(lambda: __import__('solutions')) + attempt(lambda: __import__('autograder'))
course = attempt(lambda: open({str(REPO / "course.yaml")!r}).read())
write = attempt(lambda: open({str(REPO / "pwned")!r}, 'w')) + attempt(lambda: open('/tmp/../work/pwned', 'w'))
zygote_fds = attempt(lambda: os.listdir('/proc/%d/fd' % os.getppid()))
zygote_mem = attempt(lambda: open('/proc/%d/mem' % os.getppid(), 'rb').read(1))
""",
            "uid",
            "fds",
            "network",
            "grader_pkgs",
            "course",
            "write",
            "zygote_fds",
            "zygote_mem",
        )
    finally:
        listener.close()
    assert decode(values["uid"]) not in (0.0,) and decode(values["uid"]) == (runner.uid or sandbox.NOBODY)
    fds = decode(values["fds"]).tolist()  # a list of numbers, a vector once the worker has read it
    assert fds[:3] == [0.0, 1.0, 2.0]
    assert len(fds) <= 5  # 0-2, the result pipe, the listdir handle: no grader channel
    for name in ("network", "grader_pkgs", "course", "write", "zygote_fds", "zygote_mem"):
        assert decode(values[name]) == 0.0, name
    assert not (REPO / "pwned").exists()


# ---------------------------------------------------------------- what crosses back


def refusal(encoded, **options):
    """What a student reads of decode's refusal of `encoded` (grading/problems.py words its key)."""
    with pytest.raises(InvalidAnswer) as refused:
        decode(encoded, **options)
    return refusal_of(refused.value)


@pytest.mark.parametrize(
    "source, message",
    [
        ("v = float('nan')", "NaN"),
        ("import numpy as np\nv = np.array([1.0, np.inf])", "infinity"),
        (
            "class AlwaysEqual:\n    def __eq__(self, other):\n        return True\nv = AlwaysEqual()",
            "AlwaysEqual",
        ),
        ("import numpy as np\nv = np.array([1 + 2j])", "complex"),
        ("import numpy as np\nv = np.array([1.0, None])", "NoneType"),
        ("v = ...", "..."),
        ("v = 10 ** 400", "too large"),
        ("v = '1.5'", "text"),
        ("v = [[1.0, 2.0], [3.0]]", "rows of different lengths"),
    ],
)
def test_the_encoder_and_decode_let_only_plain_finite_numbers_through(runner, source, message):
    encoded = probe(runner, source, "v")["v"]
    assert message in refusal(encoded)


@pytest.mark.parametrize(
    "source, value",
    [
        ("v = True", 1.0),
        ("import numpy as np\nv = np.bool_(False)", 0.0),
        ("import numpy as np\nclass Sneaky(np.ndarray):\n    pass\nv = np.ones(2).view(Sneaky)", [1.0, 1.0]),
        ("import numpy as np\nv = np.matrix([[1.0]])", [[1.0]]),
        ("class F(float):\n    def __eq__(self, other):\n        return True\nv = F(1.5)", 1.5),
        ("v = (1.0, 2)", [1.0, 2.0]),
        ("from fractions import Fraction\nv = [Fraction(1, 2), Fraction(3, 4)]", [0.5, 0.75]),
    ],
)
def test_a_hand_answer_is_converted_on_the_students_side_and_decoded_as_plain_numbers(runner, source, value):
    """bpkit/forms.py's `plain` runs in the worker: what crosses is already a float or a float64
    array, so decode stays as strict as ever (a subclass or a custom __eq__ never reaches the grader)."""
    decoded = decode(probe(runner, source, "v")["v"])
    assert type(decoded) is (float if np.ndim(value) == 0 else np.ndarray)
    assert np.array_equal(decoded, value)


@pytest.mark.parametrize(
    "junk",
    [
        {"refused": "text", "fields": {"found": "'x'", "extra": "y"}},  # a field its words do not have
        {"refused": "text", "fields": {"found": 1}},  # a field that is not text
        {"refused": "made up", "fields": {}},  # a reason forms does not know
        {"refused": "text", "fields": {"found": "'x'"}, "float": 1.0},
    ],
)
def test_a_forged_refusal_is_no_usable_result(junk):
    assert refusal(junk) == "no usable result came back"


def test_a_forged_result_is_still_only_numbers_to_decode(runner):
    source = (
        "import json, os\n"
        "fd = max(int(f) for f in os.listdir('/proc/self/fd') if int(f) > 2)\n"
        "os.write(fd, json.dumps({'status': 'ok', 'results': [[{'float': True}, {'array': [[1]], 'shape': [1]}]],"
        " 'output': 'x' * 10**6, 'detail': ['not text']}).encode())\n"
        "os._exit(0)\n"
    )
    result = runner.run({"cells": [["forge", source]], "calls": []})
    assert result.status == "ok" and result.detail == "" and len(result.output) < LIMITS.output_bytes + 200
    for encoded in result.results[0]:
        with pytest.raises(InvalidAnswer):
            decode(encoded)


@pytest.mark.parametrize(
    "junk, message",
    [
        ({"float": float("nan")}, "NaN"),
        ({"float": float("-inf")}, "infinity"),
        ({"float": True}, "bool"),
        ({"float": "1.0"}, "number"),
        ({"float": 10**400}, "too large"),
        ({"float": 1.0, "extra": 1}, "no usable"),
        ({"array": [1.0, float("nan")], "shape": [2]}, "NaN"),
        ({"array": [1, 2], "shape": [3]}, "shape"),
        ({"array": [1.0, 2.0], "shape": [2]}, None),
        ({"array": [[1, 2]], "shape": [1, 2]}, None),
        ({"array": [[1.0, True]], "shape": [1, 2]}, "bool"),
        ({"array": [[1.0], [2.0, 3.0]], "shape": [2, 1]}, "match"),
        ({"array": "[1]", "shape": [1]}, "match"),
        ({"array": [1.0], "shape": [True]}, "shape"),
        ({"array": [1.0], "shape": "1"}, "shape"),
        ({"array": [], "shape": [10**7]}, "shape"),
        ({"array": [], "shape": [1000, 1000, 1000]}, "shape"),
        ({"array": [], "shape": [1] * 9}, "shape"),
        ({"array": [1.0], "shape": [-1]}, "shape"),
        ({"seq": []}, "tuple"),
        ({"unsupported": ["x"]}, "unknown"),
        ({"error": "ValueError: no"}, "raised ValueError"),
        ({"missing": True}, "not defined"),
        ("not a dict", "no usable"),
        (None, "no usable"),
        ({1: 2}, "no usable"),
        ({("float",): 1.0}, "no usable"),
        ({}, "no usable"),
        (type("D", (dict,), {})(float=1.0), "no usable"),
        ({"float": type("F", (float,), {"__eq__": lambda s, o: True})(1.0)}, "number"),
    ],
)
def test_decode_trusts_nothing(junk, message):
    if message is None:
        value = decode(junk)
        assert type(value) is np.ndarray and value.dtype == np.float64
        return
    assert message in refusal(junk)


def test_decode_expect_shape_and_plain_types():
    assert type(decode({"float": 2})) is float and decode({"float": 2}, expect_shape=()) == 2.0
    assert decode({"array": 2.5, "shape": []}, expect_shape=()).shape == ()
    assert "expected shape (2,)" in refusal({"float": 1.0}, expect_shape=(2,))
    assert "shape (2, 1), expected shape (1, 2)" in refusal(
        {"array": [[1.0], [2.0]], "shape": [2, 1]}, expect_shape=(1, 2)
    )


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 100_000 + "]" * 100_000,  # deeper than json (or any recursive decoder) can go
        '{"array": ' + "[" * 50 + "1" + "]" * 50 + ', "shape": [1, 1, 1, 1, 1, 1, 1, 1]}',
        '{"array": [' + ", ".join(["1e308"] * 10) + '], "shape": [10], "dtype": {"evil": 1}}',
        '{"array": [' + "0," * 1_500_000 + '0], "shape": [1500001]}',
        '{"float": 1e999}',
        '{"float": NaN}',
        '{"float": -Infinity}',
        '{"__proto__": {"float": 1}}',
    ],
)
def test_decode_on_raw_malicious_json(raw):
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        return  # what the runner does with such a line: a crashed result (see the hostile worker test)
    try:
        value = decode(parsed)
    except InvalidAnswer:
        return
    assert type(value) is np.ndarray and np.isfinite(value).all()  # only the 1e308 array is valid


READY = "os.write(1, b'{\"ready\": true}\\n')\n"
HOSTILE_WORKERS = {  # what a compromised worker might do after its ready line
    "an endless line": READY + "sys.stdin.readline()\nwhile True: os.write(1, b'x' * 65536)",
    "deep nesting": READY + "sys.stdin.readline()\nos.write(1, b'[' * 200000 + b'\\n')\ntime.sleep(60)",
    "the wrong id": READY + "sys.stdin.readline()\n"
    'os.write(1, b\'{"id": 999, "status": "ok"}\\n\')\ntime.sleep(60)',
    "a bad status": READY + "r = json.loads(sys.stdin.readline())\n"
    "os.write(1, json.dumps({'id': r['id'], 'status': 'excellent'}).encode() + b'\\n')\n"
    "time.sleep(60)",
    "junk fields": READY + "r = json.loads(sys.stdin.readline())\n"
    "os.write(1, json.dumps({'id': r['id'], 'status': 'ok', 'results': {'a': 1}, 'detail': 5, "
    "'output': ['x'], 'error': 'e', 'seconds': 'never'}).encode() + b'\\n')\ntime.sleep(60)",
    "no ready line": "sys.exit(1)",
}


@pytest.mark.parametrize("behaviour", sorted(HOSTILE_WORKERS))
def test_a_hostile_worker_gives_crashed_results_never_exceptions(tmp_path, monkeypatch, behaviour):
    """The grader side alone: a compromised worker that lies about the protocol. The fake is
    started the way WORKER_FILES are, under a bwrap of its own (a hosted worker runs the host's
    copy of worker.py); what reads its replies is the same for both kinds."""
    monkeypatch.setenv("BPKIT_SANDBOX_HOST", "0")
    fake = tmp_path / "worker.py"
    fake.write_text("import json, os, sys, time\n" + HOSTILE_WORKERS[behaviour] + "\n")
    monkeypatch.setattr(runner_module, "WORKER_FILES", (fake,))
    monkeypatch.setattr(runner_module, "MAX_REPLY_BYTES", 4 * 1024**2)
    with StudentRunner(LIMITS, require_sandbox=True) as hostile:
        result = hostile.run({"cells": [], "calls": []})
    # Judged on what the fake sent, not on its silence after it (the runner's deadline says
    # "stopped answering"): no clock read here, the event is the line itself.
    assert "stopped answering" not in detail_of(result), result
    if behaviour == "junk fields":
        assert (result.status, result.results, result.detail, result.output, result.error) == (
            "ok",
            [],
            "",
            "",
            None,
        )
    else:
        assert result.status == "crashed", result


def test_without_bwrap_the_runner_still_isolates_the_process(monkeypatch):
    monkeypatch.setattr(sandbox, "sandbox_available", lambda: False)
    with StudentRunner(LIMITS, require_sandbox=False) as unsandboxed:
        good = unsandboxed.run({"cells": [MUL], "calls": [gate(("forward", (2.0, 3.0)))]})
        assert good.results[0][0] == {"float": 6.0}
        for source, status in (
            ("import os; os._exit(1)", "crashed"),
            ("x = bytearray(8 * 1024**3)", "memory"),
        ):
            assert unsandboxed.run({"cells": [["bad", source]], "calls": []}).status == status


def test_leaving_the_runner_kills_the_sandbox_and_removes_the_scratch_directory():
    with StudentRunner(LIMITS, require_sandbox=True) as r:
        r.run(
            {
                "cells": [
                    [
                        "sleeper",
                        "import os, subprocess\nsubprocess.Popen(['sleep', '60'], start_new_session=True)",
                    ]
                ],
                "calls": [],
            }
        )
        bwrap, scratch = r.process.pid, r.scratch
    assert not scratch.exists()
    assert not Path(f"/proc/{bwrap}").exists()
    if r.uid is not None:
        assert processes_of(r.uid) == []


# ---------------------------------------------------------------- the notebook kernel


def notebook(*sources):
    return nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(s) for s in sources],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )


def texts(cell):
    return "".join(o.get("text", "") + o.get("evalue", "") for o in cell.outputs)


class SandboxedKernels(NamedTuple):
    """The sandboxed kernel manager class and the scratch directory its kernels run in."""

    manager_class: type
    scratch: Path


@pytest.fixture(scope="module")
def kernel_class(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("kernel-scratch")
    return SandboxedKernels(
        sandboxed_kernel_manager_factory(
            Limits(memory_bytes=2 * 1024**3), scratch, hide=[REPO], require_sandbox=True
        ),
        scratch,
    )


def test_a_notebook_runs_in_the_sandboxed_kernel(kernel_class):
    from nbclient import NotebookClient

    cls, scratch = kernel_class.manager_class, kernel_class.scratch
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    nb = notebook(
        "import os; print(os.getuid(), os.getcwd())",
        f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {listener.getsockname()[1]}), 1)\n"
        "    print('connected')\nexcept OSError:\n    print('no network')",
        "try:\n    import solutions\nexcept ImportError:\n    print('no solutions')",
        "print(open(os.path.join(os.environ['HOME'], 'note'), 'w').write('ok'))",
    )
    client = NotebookClient(nb, kernel_manager_class=cls, timeout=20, kernel_name="python3")
    try:
        client.execute()
    finally:
        listener.close()
    uid, cwd = texts(nb.cells[0]).split()
    assert int(uid) != 0 and int(uid) == (cls().sandbox_uid if cls().sandbox_uid >= 0 else sandbox.NOBODY)
    assert cwd == str(Path(scratch).resolve())
    assert [texts(c).strip() for c in nb.cells[1:]] == ["no network", "no solutions", "2"]


def test_os_exit_kills_only_the_kernel(kernel_class):
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    cls = kernel_class.manager_class
    nb = notebook("print('before')", "import os; os._exit(1)", "print('after')")
    client = NotebookClient(nb, kernel_manager_class=cls, timeout=20, kernel_name="python3")
    with pytest.raises(DeadKernelError):
        client.execute()
    assert texts(nb.cells[0]).strip() == "before" and nb.cells[2].outputs == []


def test_a_fork_bomb_in_a_cell_stops_at_the_process_cap_and_the_notebook_goes_on(kernel_class):
    from nbclient import NotebookClient

    if kernel_class.manager_class().sandbox_uid < 0:
        pytest.skip("the process cap of a root grader needs uid mode")
    # A cap of 32, not the default 128: every process of the bomb formats IPython's traceback of
    # its refused fork (some 0.1 s of CPU each), which at 128 took both cores for 12 s.
    cls = sandboxed_kernel_manager_factory(
        Limits(memory_bytes=2 * 1024**3, processes=32),
        kernel_class.scratch,
        hide=[REPO],
        require_sandbox=True,
    )
    nb = notebook("x = 1", "import os\nwhile True:\n    os.fork()", "print('still here', x)")
    # The cap, not the clock, stops the bomb: 60 s leaves room for a machine busy with other tests
    # (10 s was not enough at load 12), while a missing cap still never finishes the cell.
    client = NotebookClient(
        nb,
        kernel_manager_class=cls,
        timeout=60,
        kernel_name="python3",
        interrupt_on_timeout=True,
        allow_errors=True,
    )
    client.execute()
    assert nb.cells[1].outputs[0].get("ename") == "BlockingIOError"  # fork() refused: the cap
    assert texts(nb.cells[2]).strip() == "still here 1"


def test_a_cell_timeout_interrupts_the_cell_not_the_sandbox(kernel_class):
    from nbclient import NotebookClient

    cls = kernel_class.manager_class
    nb = notebook("x = 1", "while True: pass", "print('still here', x)")
    client = NotebookClient(
        nb,
        kernel_manager_class=cls,
        timeout=1,
        kernel_name="python3",
        interrupt_on_timeout=True,
        allow_errors=True,
    )
    client.execute()
    assert "KeyboardInterrupt" in texts(nb.cells[1]) or nb.cells[1].outputs[0]["output_type"] == "error"
    assert texts(nb.cells[2]).strip() == "still here 1"


def test_helpers_are_preloaded_so_one_child_cannot_rewrite_them_for_the_next(runner):
    """The worker imports the helper package before any student code runs. A child that swaps
    bpkit/ for its own in the (shared, writable) scratch directory changes no later child."""
    swap = (
        "import os, sys\nloaded = float('bpkit' in sys.modules)\n"
        "os.rename('bpkit', 'bpkit-original'); os.mkdir('bpkit')\n"
        "open('bpkit/__init__.py', 'w').write('HELPER = \"rewritten\"')\n"
    )
    try:
        assert decode(probe(runner, swap, "loaded")["loaded"]) == 1.0
        assert (runner.scratch / "bpkit" / "__init__.py").read_text() == 'HELPER = "rewritten"'
        later = probe(runner, "import bpkit\nsame = float(bpkit.HELPER == 'here')", "same")
        assert decode(later["same"]) == 1.0
    finally:
        import shutil

        shutil.rmtree(runner.scratch / "bpkit", ignore_errors=True)
        if (runner.scratch / "bpkit-original").exists():
            (runner.scratch / "bpkit-original").rename(runner.scratch / "bpkit")


def test_helpers_load_from_bytecode_compiled_once_and_a_restart_restores_them(runner):
    """The helpers come with their bytecode (checked-hash .pyc files, compiled once by the
    grader); a helper whose source student code rewrote, then restarted the worker, is restored
    from the grader's own copy before the new worker preloads it (issue 32: the restarted worker
    ran what the student planted)."""
    source, cached = runner.scratch / "bpkit" / "__init__.py", runner.scratch / "bpkit" / "__pycache__"
    assert [p.name for p in cached.glob("__init__.*.pyc")], "no bytecode beside the helper"
    original = source.read_bytes()
    try:
        assert (
            decode(
                probe(
                    runner,
                    "import bpkit\nfrom_cache = float(bpkit.__spec__.cached is not None and "
                    "bpkit.HELPER == 'here')",
                    "from_cache",
                )["from_cache"]
            )
            == 1.0
        )
        source.write_text('HELPER = "rewritten"')
        runner._stop()  # the next request starts a new worker, which imports the helpers again
        again = probe(
            runner,
            "import bpkit\nsame = float(bpkit.HELPER == 'here' and bpkit.__spec__.cached is not None)",
            "same",
        )
        assert decode(again["same"]) == 1.0
        assert source.read_bytes() == original
    finally:
        source.write_bytes(original)
        runner._stop()


# ---------------------------------------------------------------- what student code can reach


def test_requests_carry_inputs_never_expected_values(runner):
    """Everything the student's process holds (its frames, its garbage collector, its memory)
    came from the request: cells and inputs. So the real checks' requests must carry no
    expected forward output and no reference gradient, only what student code is given."""
    from autograder.grading.checks import gate_backward, gate_forward
    from autograder.grading.context import make_context
    from solutions.table import BY_GRADE_ID

    sent = []

    class Recorded:
        def run(self, cell_ids, calls):
            sent.append(json.dumps(calls))
            return runner.run({"cells": [MUL], "calls": calls})

    spec = BY_GRADE_ID["mul_gate"]
    for check in (gate_forward, gate_backward):
        ctx = make_context(
            "mul_gate",
            check.__name__,
            seed=1,
            course_id="c",
            assignment="a",
            randomization="per-course",
            student_id="s",
        )
        assert check(spec, ctx).judged(Recorded()).fraction == 1

    def numbers_in(value):
        if isinstance(value, dict):
            return {n for v in value.values() for n in numbers_in(v)}
        if isinstance(value, list):
            return {n for v in value for n in numbers_in(v)}
        return {float(value)} if isinstance(value, (int, float)) and not isinstance(value, bool) else set()

    numbers = numbers_in([json.loads(s) for s in sent])
    gate_calls = [[call for call in calls if call["op"] == "gate"] for calls in map(json.loads, sent)]
    nudged = [call for calls in map(json.loads, sent) for call in calls if call["op"] == "nudged_forwards"]
    assert nudged and all(
        set(call) == {"op", "class", "args", "h", "fixed"} for call in nudged
    )  # inputs, a step and which inputs are labels (not nudged) only
    expected = set()
    for calls in gate_calls:
        for call in calls:
            by_instance = {}  # a call may keep two instances alive side by side
            for method, args, *instance in call["steps"]:
                by_instance.setdefault(tuple(instance), {})[method] = [
                    np.asarray(decode_argument(a)) for a in args
                ]
            for steps in by_instance.values():
                x, y = steps["forward"]
                outputs = [x * y] + (
                    [steps["backward"][0] * y, steps["backward"][0] * x] if "backward" in steps else []
                )
                expected |= {float(v) for out in outputs for v in np.ravel(out)}
    inputs = {
        float(v)
        for calls in gate_calls
        for call in calls
        for _, args, *_ in call["steps"]
        for a in args
        for v in np.ravel(decode_argument(a))
    }
    inputs |= {float(v) for call in nudged for a in call["args"] for v in np.ravel(decode_argument(a))}
    assert len(expected) > 50 and not (expected - inputs) & numbers
