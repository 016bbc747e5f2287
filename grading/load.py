"""Was it the machine or the code? The CPU a sandbox got, and the time it waited for a CPU.

A time-out is final when the submission had the machine to itself, near enough: its processes
either ran or chose to wait (a sleep, a blocking read). It may be the machine's doing when they
were ready to run but waited for a CPU that other work held: then the student is graded once
more, alone (grading.batch). Linux counts both per thread in ``/proc/<pid>/task/<tid>/schedstat``
(time on a CPU, time waiting on a run queue, in ns), which the grader reads from outside the
sandbox; nothing inside can change it.
"""

import os
import time
from dataclasses import dataclass

from grading.proctree import descendants

# Time-outs whose processes waited this share of the CPU time they wanted, or more, may be load:
# the code got less than half of the time-out it asked for.
LOAD_SHARE = 0.5
# Below this much CPU wanted (running or waiting to run), or below this share of the time-out's
# wall time, the code mostly slept (a sleep, a trickle, a blocking read): its own doing.
BUSY_SECONDS = 1.0
BUSY_SHARE = 0.25


@dataclass(frozen=True)
class CpuTimes:
    ran: float = 0.0  # s on a CPU, summed over every thread
    waited: float = 0.0  # s ready to run but waiting for a CPU
    seconds: float = 0.0  # s of wall time over which they were counted


def thread_times(pid):
    """{thread id: (ns on a CPU, ns waiting for one)} of ``pid`` and every process below it, now."""
    times = {}
    for current in descendants(pid):
        try:
            tids = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{current}/task/{tid}/schedstat") as handle:
                    fields = handle.read().split()
                times[int(tid)] = (int(fields[0]), int(fields[1]))
            except (OSError, IndexError, ValueError):
                continue
    return times


def load_suspected(spent):
    """Could load have caused a time-out in which the processes spent ``spent`` (CpuTimes)?"""
    wanted = spent.ran + spent.waited
    return wanted >= max(BUSY_SECONDS, BUSY_SHARE * spent.seconds) and spent.waited >= LOAD_SHARE * wanted


class Meter:
    """The CpuTimes a process tree spends from :meth:`start` to :meth:`spent`.

    Counted per thread, so a thread that ends on the way loses only what it spent since the start.
    """

    def __init__(self):
        self._pid, self._start, self._started = None, {}, 0.0

    def start(self, pid):
        self._pid = pid
        self._start = thread_times(pid) if pid else {}
        self._started = time.monotonic()

    def spent(self):
        if not self._pid:
            return CpuTimes()
        ran = waited = 0
        for tid, (now_ran, now_waited) in thread_times(self._pid).items():
            then_ran, then_waited = self._start.get(tid, (0, 0))
            ran += max(0, now_ran - then_ran)
            waited += max(0, now_waited - then_waited)
        return CpuTimes(ran / 1e9, waited / 1e9, time.monotonic() - self._started)
