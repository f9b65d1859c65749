"""The sandboxed worker, directly: isolation, limits, and a grader side that trusts nothing."""
import socket
from pathlib import Path

import numpy as np
import pytest

from autograder import sandbox
from autograder.protocol import InvalidAnswer, decode, encode
from autograder.runner import StudentRunner

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not sandbox.sandbox_available(), reason="bubblewrap (bwrap) is not installed")

LIMITS = sandbox.Limits(wall_seconds=3, memory_bytes=1024**3, output_bytes=2000)
MUL = ("mul_gate", "class MulGate:\n def forward(self, x, y):\n  self.x, self.y = x, y\n  return x * y\n"
                   " def backward(self, d):\n  return d * self.y, d * self.x\n")


@pytest.fixture(scope="module")
def runner():
    with StudentRunner(LIMITS, require_sandbox=True) as r:
        yield r


def gate_call(*steps):
    return {"op": "gate", "class": "MulGate", "steps": [[m, [encode(a) for a in args]] for m, args in steps]}


def test_a_call_returns_numbers(runner):
    reply = runner.run([MUL], [gate_call(("forward", (np.array([1.0, 2.0]), 3.0)), ("backward", (2.0,)))])
    assert reply.ok
    np.testing.assert_array_equal(decode(reply.results[0][0]), [3.0, 6.0])


@pytest.mark.parametrize("source, status", [
    ("while True: pass", "timeout"),
    ("import os; os._exit(3)", "crashed"),
    ("x = bytearray(8 * 1024**3)", "memory"),
    ("import os, signal; os.kill(os.getppid(), signal.SIGKILL)", "crashed"),
    ("def f(:\n  pass", "error"),
])
def test_bad_code_is_contained_and_the_next_run_still_works(runner, source, status):
    assert runner.run([("bad", source)], []).status == status
    assert runner.run([MUL], [gate_call(("forward", (2.0, 3.0)))]).results[0][0] == {"float": 6.0}


@pytest.mark.parametrize("source", [
    "import solutions", "import autograder",
    "open('/etc/shadow')", "open('/work/pwned', 'w')", "open('/opt/pwned', 'w')", f"open({str(REPO / 'README.md')!r})",
    "import socket; socket.create_connection(('127.0.0.1', PORT), timeout=1)",
])
def test_the_sandbox_hides_the_grader_the_machine_and_the_network(runner, source):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        reply = runner.run([("probe", source.replace("PORT", str(listener.getsockname()[1])))], [])
    finally:
        listener.close()
    assert reply.status == "error", reply


def test_monkeypatching_does_not_survive_into_the_next_check(runner):
    runner.run([("patch", "import numpy as np\nnp.sum = lambda *a, **k: 42")], [])
    reply = runner.run([("clean", "import numpy as np\ns = float(np.sum(np.ones(3)))")], [{"op": "variables", "names": ["s"]}])
    assert reply.results[0]["s"] == {"float": 3.0}


def test_output_floods_are_cut(runner):
    reply = runner.run([("flood", "print('x' * 100000)")], [])
    assert len(reply.output) < 2200 and "cut" in reply.output


@pytest.mark.parametrize("junk, message", [
    ({"float": float("nan")}, "NaN"), ({"float": float("inf")}, "infinity"), ({"float": True}, "number"),
    ({"unsupported": "Sneaky"}, "Sneaky"), ({"array": [1, 2], "shape": [3]}, "shape"),
    ({"array": [[1, 2]], "shape": [1, 2]}, None), ({"seq": []}, "tuple"), ("not a dict", "no usable"),
    ({"array": [1] * 10, "shape": [10**7]}, "shape"), ({"array": "[1]", "shape": [1]}, "shape"),
])
def test_decode_trusts_nothing(junk, message):
    if message is None:
        assert decode(junk).shape == (1, 2)
        return
    with pytest.raises(InvalidAnswer, match=message):
        decode(junk)


def test_required_sandbox_that_is_missing_refuses(monkeypatch):
    monkeypatch.setattr(sandbox, "sandbox_available", lambda: False)
    with pytest.raises(sandbox.SandboxUnavailable, match="bubblewrap"):
        sandbox.require(True)
    assert sandbox.require(False) is False
