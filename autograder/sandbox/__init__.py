"""The trust boundary: everything that runs student code, and nothing else.

Student code — the notebook's own cells and every call a hidden check makes — runs only
behind this package, never in the grader's process:

  bwrap.py     the bubblewrap sandbox and its resource limits (`Limits`): mounts, a fresh
               uid (as root) or a user namespace, no network, process and memory caps.
  kernel.py    the student's notebook kernel (nbgrader's Execute), under that sandbox.
  worker.py    the sandboxed zygote that forks a child per request and runs the cells and
               calls, every cell through IPython's input transformation as in a kernel (an
               in-process IPython shell for those that need its helpers). STANDALONE:
               standard library, numpy, IPython and protocol.py only; the runner
               copies both files by path into a read-only directory of the sandbox.
  protocol.py  what crosses the pipe, written once for both sides: the calls and `encode`
               (student side), `decode` (grader side, strict: exact types, bounded sizes).
  runner.py    the grader's side of the pipe (`StudentRunner`): starts, feeds, times out
               and kills the worker; trusts nothing it reads.

Everything a verdict depends on (reference values, comparisons, scores) is computed outside
this package, in the grader's process, from values `protocol.decode` accepted.
"""
