"""What a student reads of how a run of their code ended, and of a result that cannot be graded:
the sandbox reports a status and, for its details, a key and plain fields (sandbox/protocol.py:
detail; the runner's own the same way), and the wire format's decode refuses a result with a key
and plain fields (protocol.InvalidAnswer); the words are here, in the grader's catalog, so a
course can speak another language.

Student code can forge any reply: a detail is worded only from a known key with plain fields that
fit its template; anything else is shown as the text it came in (bounded)."""

from ..sandbox.protocol import InvalidAnswer, Unsupported, bounded_text
from ..sandbox.runner import RunResult
from ..words import N_, _, student_words

# A run's details by key: str.format templates of the key's fields.
DETAILS = {
    # the worker's (sandbox/worker.py)
    "cell raised": N_("cell {cell} raised {type}: {message}"),
    "call out of memory": N_("a call ran out of memory"),
    "cell timeout": N_("the cell used more than {seconds:g} s of CPU time and was interrupted"),
    "cell cpu limit": N_(
        "the cell used more than {seconds:g} s of CPU time, or took far longer than that, and did not stop "
        "when interrupted, so its process was ended"
    ),
    "wall timeout": N_("did not finish within {wall:g} seconds"),
    "outputs too large": N_("the outputs were too large to send back"),
    "result too large": N_("the result was too large to send back"),
    "cpu limit": N_("used up its CPU-time limit ({signal})"),
    "cpu budget": N_("its processes together used {seconds:g} s of CPU time, more than the limit allows"),
    "killed": N_("killed by signal {signal}"),
    "killed, memory": N_("killed by signal {signal} (perhaps out of memory)"),
    "notebook exited": N_("the process running the notebook exited with code {code}"),
    "exited": N_("the process running the code exited with code {code}"),
    "exited without result": N_("the process running the code exited without sending a usable result"),
    "unsendable": N_("the result could not be sent: {type}"),
    # the runner's (sandbox/runner.py), of a worker that failed
    "no reply": N_("the worker running your code stopped answering (no reply within {seconds:g} s)"),
    "garbage": N_("the worker running your code died or sent garbage while running it ({type}: {message})"),
    "unusable reply": N_("the process running your code sent an unusable reply"),
    "did not start": N_("the sandboxed worker did not start ({type}): {log}"),
    "not restarted": N_("the sandbox could not be started again after your code ended it ({reason})"),
    # the grader's own (grading/sandboxed.py), of an ask it did not run
    "skipped": N_("skipped: a cell it needs already ran out of time (an infinite loop?)"),
    "missing cell": N_(
        "the cell {name!r} is missing from the notebook (deleted, or its "
        "grade_id metadata was changed), so it cannot be graded"
    ),
}

PROBLEMS = {  # a run's status -> what the student reads of it; None: any other status
    "ok": "",
    "error": N_("your code raised an error: {detail}"),
    "timeout": N_("your code did not finish in time (an infinite loop, or far too slow)"),
    "memory": N_("your code ran out of the memory the course allows"),
    "crashed": N_("your code crashed: {detail}"),
    None: N_("your code could not be run ({detail})"),
}


def shown_detail(text: str, words: object) -> str:
    """A detail in the course's language, from the key and fields sent beside `text` (the plain
    form the reply carried): `text` itself when they are not a known key with plain fields that
    fit its template."""
    if type(words) is not dict or words.get("key") not in DETAILS or type(words.get("fields")) is not dict:
        return text
    fields = {
        key: bounded_text(value, 2000) if type(value) is str else value
        for key, value in words["fields"].items()
        if type(key) is str and type(value) in (str, int, float)
    }
    try:
        return _(DETAILS[words["key"]]).format(**fields)
    except (KeyError, ValueError, IndexError):
        return text


def detail_of(reply: RunResult) -> str:
    """The reply's detail, as the student reads it."""
    return shown_detail(reply.detail, reply.words)


def problem_of(reply: RunResult) -> str:
    """What went wrong in a run, in words for a student (in the course's language)."""
    template = PROBLEMS.get(reply.status, PROBLEMS[None])
    return _(template).format(detail=detail_of(reply)) if template else ""


# Why a result cannot be graded (protocol.InvalidAnswer, raised by decode and by the checks' own
# reading of replies): str.format templates of the key's fields.
REFUSALS = {
    # decode's (sandbox/protocol.py: REFUSALS)
    "no usable result": N_("no usable result came back"),
    "not defined": N_("it is not defined"),
    "undefined": N_("{name} is not defined (did its cell run?)"),
    "raised": N_("your code raised an error"),
    "raised this": N_("your code raised {error}"),
    "still ...": N_("your result is still ...: replace it with your answer"),
    "unsupported": N_("your result is a {kind}, not a number or a plain numpy array of floats"),
    "unknown type": N_("your result is a {kind}, not a number or a plain numpy array of floats"),
    "sequence": N_("your result is a tuple or list where a number or an array was expected"),
    "single number": N_("your result is a single number, expected shape {expected}"),
    "too large": N_("your result is too large"),
    "bool": N_("expected a number, found a bool"),
    "not a number": N_("expected a number, found something else"),
    "nan": N_("your result contains NaN"),
    "infinity": N_("your result contains infinity"),
    "shape unusable": N_("your array's shape is not usable"),
    "shape": N_("your result has shape {shape}, expected shape {expected}"),
    "entries": N_("your array's entries do not match its shape"),
    # the checks' (grading/checks.py), reading the replies of calls
    "no result": N_("no result came back"),
    "function raised": N_("your function raised {error}"),
    "not f and gradients": N_("the function must return f and a tuple of gradients"),
    "gradients": N_("the gradients must be a tuple of {n} entries"),
    "backward returns": N_("backward must return {n} gradient(s), one per input (as a tuple)"),
    "backward returns one": N_("backward must return {n} gradient(s), one per input"),
}
UNKNOWN_TYPE = N_("value of an unknown type")

# What a value encode could not send is, by key (protocol.UNSUPPORTED: its fields).
UNSUPPORTED = {
    "too large": N_("{type} too large for a float"),
    "dtype": N_("numpy array of dtype {dtype}"),
    "too many entries": N_("numpy array with {size} entries (too many)"),
    "too deep": N_("tuples or lists nested too deeply"),
    "too many items": N_("{type} of {count} items (too many)"),
    "type": "{name}",  # a type's name, as Python writes it ("str", "numpy.matrix")
}


def refusal_of(error: InvalidAnswer) -> str:
    """Why a result cannot be graded, in words for a student (in the course's language). A hand
    answer the student's side refused is said in forms' words (the student catalog's)."""
    if error.refused is not None:  # named where it was refused (an answer's name is the check's to say)
        return error.refused.words(student_words, str(error.fields.get("name", "")) or "the answer")
    fields = {
        name: _unsupported_words(value) if isinstance(value, Unsupported) else value
        for name, value in error.fields.items()
    }
    if error.key == "unknown type":
        fields["kind"] = _(UNKNOWN_TYPE)
    return _(REFUSALS[error.key]).format(**fields)


def _unsupported_words(kind: Unsupported) -> str:
    template = UNSUPPORTED[kind.key]
    return (_(template) if kind.key != "type" else template).format(**kind.fields)
