"""grading.load: the CPU a process tree got and the time it waited for one, as Linux counts them."""

import os
import signal
import subprocess
import sys
import time

import pytest

from grading.load import CpuTimes, Meter, load_suspected

SPIN = [sys.executable, "-c", "while True: pass"]


def _spent_over(seconds, pid):
    meter = Meter()
    meter.start(pid)
    time.sleep(seconds)
    return meter.spent()


@pytest.fixture
def processes():
    started = []
    yield lambda command: started.append(subprocess.Popen(command, start_new_session=True)) or started[-1]
    for process in started:  # the whole group: a child of the process too
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_a_loop_with_a_cpu_of_its_own_is_not_load(processes):
    # A CPU of its own, whatever else the machine runs: pinned, and first in line (real-time
    # priority, which every ordinary process yields to), so the test holds on a busy machine too.
    loop = processes(SPIN)
    os.sched_setaffinity(loop.pid, {min(os.sched_getaffinity(0))})
    try:
        os.sched_setscheduler(loop.pid, os.SCHED_FIFO, os.sched_param(1))
    except PermissionError:
        pytest.skip("needs root (CAP_SYS_NICE) for a real-time priority; CI runs as root")
    spent = _spent_over(2.0, loop.pid)
    assert spent.ran > 1.0 and not load_suspected(spent), spent


def test_a_loop_sharing_its_cpu_with_two_others_is_load(processes):
    crowd = [processes(SPIN) for _ in range(3)]
    for process in crowd:
        os.sched_setaffinity(process.pid, {min(os.sched_getaffinity(0))})
    spent = _spent_over(3.0, crowd[0].pid)
    assert spent.waited > spent.ran and load_suspected(spent), spent


def test_a_sleeper_is_not_load(processes):
    sleeper = processes([sys.executable, "-c", "import time; time.sleep(60)"])
    assert not load_suspected(_spent_over(1.5, sleeper.pid))


def test_the_children_of_a_process_are_counted(processes):
    parent = processes([sys.executable, "-c", "import subprocess, sys; subprocess.run([sys.executable, '-c', 'while True: pass'])"])
    time.sleep(1.0)  # the child has started
    spent = _spent_over(1.5, parent.pid)
    # The parent sleeps; its spinning child is on a CPU or waiting for one all the time, however busy the machine.
    assert spent.ran + spent.waited > 1.2, spent


def test_the_rule_in_numbers():
    assert not load_suspected(CpuTimes(ran=0.2, waited=0.5))  # mostly asleep: below BUSY_SECONDS
    assert not load_suspected(CpuTimes(ran=30.0, waited=10.0))
    assert load_suspected(CpuTimes(ran=15.0, waited=25.0))
    assert load_suspected(CpuTimes(ran=15.0, waited=25.0, seconds=45.0))  # wanted a CPU most of the time, got a third
    # An answer trickled for 45 s (tests/test_hostile.py, measured in a batch: 0.8 s on a CPU, 0.4 s
    # waiting; on a busier machine the wait can pass half): it mostly slept, its own doing.
    assert not load_suspected(CpuTimes(ran=0.8, waited=1.2, seconds=45.0))
    assert Meter().spent() == CpuTimes()  # never started: nothing spent
