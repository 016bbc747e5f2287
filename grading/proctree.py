"""Processes below a process, as seen from outside a sandbox (Linux /proc)."""

import os


def children(pid):
    """The pids of ``pid``'s child processes; [] when it is gone."""
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                found += [int(child) for child in handle.read().split()]
    except OSError:  # gone, or a kernel without /proc/<pid>/task/<tid>/children
        pass
    return found


def descendants(pid):
    """``pid`` and every process below it, parents before their children."""
    order, todo, seen = [], [pid], set()
    while todo:
        current = todo.pop(0)
        if current in seen:
            continue
        seen.add(current)
        order.append(current)
        todo += children(current)
    return order


def namespace_pid(pid):
    """``pid``'s number in its innermost PID namespace (1 for a sandbox's init), or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return None


def die_with_parent():
    """Linux: the calling thread's process gets SIGKILL when its parent dies (and its sandboxes with it).

    The kernel keeps this per thread: arm it from the thread that started the process's work.
    """
    import ctypes  # noqa: PLC0415
    import signal  # noqa: PLC0415

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
