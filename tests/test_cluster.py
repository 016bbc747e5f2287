"""Grading on a Dask cluster whose workers share no filesystem with the coordinator.

One module-wide cluster: a `dask scheduler` and two `dask worker` processes started from a
second clone of this repository (with this checkout's .venv: a venv is not relocatable, and a
cluster image would carry its own). Each worker runs in its own mount namespace where the
coordinator's course directory and this checkout (all but .venv) are empty tmpfs mounts: what
it grades with can only have come through the scheduler. The coordinator is `python -m
grading --scheduler ADDRESS` in a course copy. The LocalCluster default is what tests/test_course.py
grades the demo class with.
"""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.course_copy import ROOT, copy_course, environment, grade
from tests.test_course import EXPECTED, PARTS

pytestmark = [
    pytest.mark.slow,  # a cluster started, three batches graded (minutes)
    pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                       reason="hiding the course from the workers needs root and unshare (CI runs as root)"),
]

STUDENTS = ["alice", "bob", "carol"]  # full marks, partial credit, zeros; dave's time-outs prove nothing here
VENV = Path(sys.prefix)
DASK = str(Path(sys.executable).parent / "dask")


def _second_clone(target):
    """A clone of this repository (its committed state); a plain copy where this is not a git checkout."""
    if (ROOT / ".git").exists():
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, timeout=300)
    else:
        shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(".venv", "__pycache__", ".grading"))
    return target


def _hidden_worker(base, name, scheduler_file, clone, course):
    """A `dask worker` from ``clone`` that sees neither ``course`` (nor its parent's other files) nor this checkout (only its .venv)."""
    hold = base / f"venv-{name}"
    hold.mkdir()
    local = base / f"local-{name}"
    script = f"""set -e
mount --bind "{VENV}" "{hold}"
mount -t tmpfs -o size=1m hidden "{ROOT}"
mkdir -p "{VENV}"
mount --bind "{hold}" "{VENV}"
mount -t tmpfs -o size=1m hidden "{course.parent}"
exec "{DASK}" worker --scheduler-file "{scheduler_file}" --name {name} --nthreads 1 --nworkers 1 \\
    --no-dashboard --local-directory "{local}" --death-timeout 60
"""
    env = {**environment(), "PYTHONPATH": str(clone)}
    log = open(base / f"{name}.log", "w")  # noqa: SIM115 - closed with the cluster
    process = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], cwd=clone,
                               env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return SimpleNamespace(name=name, process=process, log=log)


def _stop(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        pass
    process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from distributed import Client

    base = tmp_path_factory.mktemp("cluster")
    course = copy_course(tmp_path_factory.mktemp("coordinator") / "course")  # its parent is hidden from the workers
    shutil.rmtree(course / "submitted" / "dave")
    clone = _second_clone(base / "clone")
    scheduler_file = base / "scheduler.json"
    scheduler_log = open(base / "scheduler.log", "w")  # noqa: SIM115
    scheduler = subprocess.Popen([DASK, "scheduler", "--scheduler-file", str(scheduler_file), "--host", "127.0.0.1",
                                  "--port", "0", "--no-dashboard"], cwd=clone, env=environment(), stdout=scheduler_log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = [_hidden_worker(base, f"w{i}", scheduler_file, clone, course) for i in range(2)]
    client = Client(scheduler_file=str(scheduler_file), timeout=120)
    try:
        client.wait_for_workers(2, timeout=240)
        yield SimpleNamespace(base=base, course=course, clone=clone, client=client, workers=workers,
                              scheduler=scheduler, address=client.scheduler.address)
    finally:
        client.close()
        for process in [*(w.process for w in workers), scheduler]:
            _stop(process)
        for handle in [scheduler_log, *(w.log for w in workers)]:
            handle.close()


def _on_each_worker(client, function, *args):
    """{worker address: function(*args)} run as a task pinned to each worker."""
    futures = {address: client.submit(function, *args, workers=[address], allow_other_workers=False, pure=False)
               for address in client.scheduler_info(n_workers=-1)["workers"]}
    return {address: future.result(timeout=120) for address, future in futures.items()}


def read_grades(course):
    with open(course / "grades.csv", newline="") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def assert_expected_grades(course):
    rows = read_grades(course)
    assert sorted(rows) == sorted(STUDENTS)
    for student in STUDENTS:
        scores, status = EXPECTED[student]
        assert [float(rows[student][part]) for part in PARTS] == pytest.approx(scores), student
        assert rows[student]["status"] == status, student


def graded_in_this_batch(course):
    """Students kept by the last batch, in order, as the coordinator logged them (one line each)."""
    text = (course / ".grading" / "logs" / "kernels.log").read_text()
    return [line.removeprefix("--- ") for line in text.splitlines() if line.startswith("--- ")]


def test_workers_cannot_see_the_coordinators_course_or_checkout(cluster):
    assert (cluster.course / "submitted" / "alice").is_dir() and (ROOT / "grading").is_dir()
    seen = _on_each_worker(cluster.client, lambda course, root: (os.path.exists(course), os.path.exists(os.path.join(root, "grading")),
                                                                  os.listdir(root)), str(cluster.course), str(ROOT))
    assert len(seen) == 2
    for course_exists, checkout_code_exists, checkout_listing in seen.values():
        assert course_exists is False
        assert checkout_code_exists is False and checkout_listing == [".venv"]


def test_a_batch_on_the_cluster_gives_the_same_grades(cluster):
    course = cluster.course
    completed = grade(course, "--scheduler", cluster.address)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert f"on {cluster.address}, 2 workers" in completed.stdout
    assert_expected_grades(course)
    assert sorted(graded_in_this_batch(course)) == STUDENTS
    for student in STUDENTS:  # only the coordinator wrote these, from what the tasks returned
        assert (course / "feedback" / student / "perceptrons" / "perceptrons.html").is_file()
        assert (course / "autograded" / student / "perceptrons" / "perceptrons.ipynb").is_file()
        assert json.loads((course / ".grading" / "results" / f"{student}.json").read_text())["sandboxed"] is True
    # nbgrader's gradebook (the coordinator's) holds the same scores
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in STUDENTS:
            submission = gradebook.find_submission("perceptrons", student)
            assert submission.score == pytest.approx(sum(EXPECTED[student][0])), student
    # the workers graded with the coordinator's grader, written into their own private directories
    kits = _on_each_worker(cluster.client, lambda: sys.modules["grading.worker"].__file__)
    for path in kits.values():
        assert "/grader-kit-" in path and not path.startswith((str(cluster.clone), str(course), str(ROOT) + "/"))


def test_killing_a_worker_mid_batch_loses_nothing(cluster):
    course, client = cluster.course, cluster.client
    kernels_log = course / ".grading" / "logs" / "kernels.log"
    kernels_log.unlink(missing_ok=True)
    batch = subprocess.Popen([sys.executable, "-m", "grading", "--scheduler", cluster.address, "--force"], cwd=course,
                             env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = None
    deadline = time.monotonic() + 600
    while victim is None and time.monotonic() < deadline and batch.poll() is None:
        for address, keys in client.processing().items():
            grading = [key for key in keys if str(key).startswith("grade/")]
            if grading:
                victim = next(w for w in cluster.workers if client.scheduler_info(n_workers=-1)["workers"][address]["name"] == w.name)
                break
        time.sleep(0.5)
    assert victim is not None, "no worker was ever seen grading"
    time.sleep(3)  # well inside the student's grading (it takes many seconds)
    _stop(victim.process)
    stdout, stderr = batch.communicate(timeout=1200)
    assert batch.returncode == 0, stdout[-3000:] + stderr[-3000:]
    assert_expected_grades(course)
    assert sorted(graded_in_this_batch(course)) == STUDENTS, "each student kept exactly once"
    assert len(client.scheduler_info(n_workers=-1)["workers"]) == 1


def test_a_lost_scheduler_stops_the_batch_and_the_next_run_resumes(cluster):
    course = cluster.course
    results = course / ".grading" / "results"
    shutil.rmtree(course / ".grading")  # a fresh start: nothing graded yet
    batch = subprocess.Popen([sys.executable, "-m", "grading", "--scheduler", cluster.address], cwd=course,
                             env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 900
    while not list(results.glob("*.json")) and time.monotonic() < deadline and batch.poll() is None:
        time.sleep(0.5)
    _stop(cluster.scheduler)  # the scheduler's machine goes away mid-batch
    stdout, stderr = batch.communicate(timeout=300)
    finished = {path.name: path.read_bytes() for path in results.glob("*.json")}
    assert 1 <= len(finished) < len(STUDENTS)
    assert batch.returncode != 0
    assert "lost the connection to the Dask scheduler" in stderr and "run make grade again to continue" in stderr

    completed = grade(course, "--workers", "2")  # resumed on this machine's LocalCluster
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert f"{len(finished)} unchanged and already graded: kept" in completed.stdout
    for name, content in finished.items():
        assert (results / name).read_bytes() == content
    assert_expected_grades(course)
