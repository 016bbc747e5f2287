"""The graded notebook's kernel: ipykernel, started as ``ipykernel_launcher`` starts it, with JAX's
lowerings sharing their MLIR context (:mod:`sandbox.mlir_context`), and ending with the grading
process that started it (``--lifeline FD``, see grading.wall.SandboxedKernelManager)."""

import os
import sys
import threading

from sandbox import mlir_context

LIFELINE_OPTION = "--lifeline"


def take_lifeline(argv):
    """The file descriptor after ``--lifeline`` in ``argv`` (both removed from it), or None."""
    if LIFELINE_OPTION not in argv:
        return None
    at = argv.index(LIFELINE_OPTION)
    fd = int(argv[at + 1])
    del argv[at:at + 2]
    return fd


def end_when_cut(fd):
    """Exits this process, at once, when the pipe ``fd`` reads its end: its write end's holder is gone.

    The kernel is the command of its sandbox's init, so the sandbox ends with it. Nothing is ever
    written to the pipe; a student's cell that closes ``fd`` only ends its own kernel.
    """
    def watch():
        try:
            while os.read(fd, 1):
                pass
        except OSError:
            pass
        os._exit(1)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


if __name__ == "__main__":
    lifeline = take_lifeline(sys.argv)
    if lifeline is not None:
        end_when_cut(lifeline)
    mlir_context.install()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
