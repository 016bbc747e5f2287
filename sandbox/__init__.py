"""The side of the trust boundary where student code runs.

Everything in this package may run inside the sandbox, next to a student's code, and so holds
nothing secret: no reference implementation, no expected value, no hidden check. It imports
nothing from ``reference``, ``grader_tests`` or ``grading``.

* :mod:`sandbox.wire`: the only format in which data crosses the boundary (JSON frames, arrays as
  ``.npy`` without pickle). The trusted side uses it too.
* :mod:`sandbox.agent`: serves the grader's requests on a student's namespace (call a function,
  take a vjp, build and drive an ``nn.Module``), with a time limit per call.
* :mod:`sandbox.probes`: functions handed to student code in place of other parts while one part
  is checked. None of them is an answer to a graded part.
* :mod:`sandbox.kernel`: the graded notebook's kernel (ipykernel). It installs, before any student
  code runs, :mod:`sandbox.mlir_context` (JAX's lowerings share one MLIR context per thread; the
  agent installs it too), and exits when its lifeline (a pipe the grading process holds) closes.
* :mod:`sandbox.cell_rules`: which cells of a notebook grading runs, and the magics it drops; read
  by the agent and by the grader outside.
"""
