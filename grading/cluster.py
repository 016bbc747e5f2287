"""Where grading runs: a Dask cluster, and the grader kit every worker gets once.

``connect()`` starts a LocalCluster on this machine (one single-threaded worker process per
core: the default of ``make grade``) or connects to a running scheduler (``--scheduler
tcp://host:8786``: Slurm through dask-jobqueue, Kubernetes through dask-kubernetes, README
"Grading on a cluster"). Either way it registers a :class:`GraderKit` with the scheduler, which
hands it to every worker, now and whenever one (re)joins.

A worker has the project's environment (a clone of this repository and its .venv) but none of
the course's data. The kit carries the coordinator's grader (grading.batch.GRADER_INPUTS: the
source notebook, nbgrader_config.py, grader_tests/, reference/, grading/, sandbox/) as bytes and
the hash of them (the grader version that resumable results are keyed by). On the worker it is
written to a private course directory, checked against that hash, put first on sys.path (so the
worker grades with exactly the coordinator's grader, whatever its clone holds), and the
assignment is released there into the worker's own gradebook (grading.worker.prepare).

This module runs on both sides; it imports nothing of the course at import time.
"""

import asyncio
import contextlib
import hashlib
import importlib
import shutil
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from distributed import WorkerPlugin

# Packages of the course that the kit replaces on a worker.
KIT_PACKAGES = ("grading", "grader_tests", "reference", "sandbox")
PLUGIN_NAME = "perceptrons-grader-kit"


class KitMismatch(RuntimeError):
    """A worker's grader is not the coordinator's (str() is one sentence for the TA)."""


def digest(contents):
    """sha256 (hex) of byte strings in order: the grader version of grading.batch.grader_version()."""
    hashed = hashlib.sha256()
    for data in contents:
        hashed.update(data)
    return hashed.hexdigest()


def _stop_profiling(worker):
    """Stops the worker's statistical profiler, which samples the stack of every task thread each 10 ms.

    A grading task runs for seconds in deep Python stacks (nbgrader, nbclient, the checks); with the
    profiler on, the same class took 28 % more worker time (bench/bench_cluster.py, 2026-11-29).
    """
    for name in ("profile", "profile-cycle"):
        callback = worker.periodic_callbacks.pop(name, None)
        if callback is not None:
            callback.stop()


def _forget_course_modules():
    """Drops the course's packages from sys.modules: the next import finds the kit's copies."""
    for name in list(sys.modules):
        if name.split(".")[0] in KIT_PACKAGES:
            del sys.modules[name]
    importlib.invalidate_caches()


class GraderKit(WorkerPlugin):
    """The coordinator's grader, installed once per worker into a private course directory."""

    name = PLUGIN_NAME

    def __init__(self, files, version, settings, gradebook=None):
        """``files``: {path relative to the course directory: bytes}, in grader-version order;
        ``version``: their digest; ``settings``: what grading.worker.prepare needs (sandboxed, cell time-out);
        ``gradebook``: the bytes of a gradebook holding this grader's release alone (grading.release), or None:
        then each worker releases into a gradebook of its own."""
        self.files = files
        self.version = version
        self.settings = settings
        self.gradebook = gradebook
        self.directory = None

    async def setup(self, worker):
        from grading.proctree import die_with_parent  # a module without state: the clone's serves

        # From the worker's event loop, the process's main thread: make grade or a nanny dying takes
        # this worker and its sandboxes with it.
        die_with_parent()
        _stop_profiling(worker)
        # Seconds of imports and a release: off the worker's event loop, so it keeps answering the scheduler.
        await asyncio.to_thread(self.install, worker.local_directory)

    def install(self, parent):
        directory = Path(tempfile.mkdtemp(prefix="grader-kit-", dir=parent))
        for relative, data in self.files.items():
            path = directory / relative
            if directory.resolve() not in path.resolve().parents:
                raise KitMismatch(f"the grader kit names a file outside its directory: {relative}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        written = digest((directory / relative).read_bytes() for relative in self.files)
        if written != self.version:
            raise KitMismatch(f"the grader kit written on this worker hashes to {written[:12]}, not {self.version[:12]}")
        self.teardown(None)  # an earlier kit of this worker (a new batch from another coordinator)
        self.directory = directory
        sys.path.insert(0, str(directory))
        _forget_course_modules()
        worker_module = importlib.import_module("grading.worker")
        if Path(worker_module.__file__).resolve().parent.parent != directory.resolve():
            raise KitMismatch(f"grading.worker was imported from {worker_module.__file__}, not from the kit in {directory}")
        if self.gradebook is not None:
            (directory / "gradebook.db").write_bytes(self.gradebook)
        worker_module.prepare(self.version, {**self.settings, "released": self.gradebook is not None})

    def teardown(self, worker):
        if self.directory is None:
            return
        with contextlib.suppress(ValueError):
            sys.path.remove(str(self.directory))
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory = None


# The Dask event topic on which a worker says a part's checks are done: {"key": task key, "part": part}.
PROGRESS_TOPIC = "grading-part-checked"


def grade(student_id, files, version):
    """The task of one student: grading.worker.grade_submission, imported on the worker (from its kit).

    Each part's checks, as they finish, are told to the coordinator as a Dask event (its progress
    bar). Raises KitMismatch when the worker's grader is not ``version`` (the coordinator's).
    """
    from distributed import get_worker

    from grading import record, worker

    if version != worker.kit_version():
        raise KitMismatch(f"this worker grades with grader {str(worker.kit_version())[:12]}, the coordinator asked for {version[:12]}")
    this, key = get_worker(), get_worker().get_current_task()
    record.on_part_checked(lambda part: this.log_event(PROGRESS_TOPIC, {"key": key, "part": part}))
    try:
        return worker.grade_submission(student_id, files)
    finally:
        record.on_part_checked(None)


def local_cluster(workers):
    """This machine: ``workers`` single-threaded worker processes (the pool of old, as Dask workers)."""
    from distributed import LocalCluster

    # memory_limit=0: a worker is never paused or restarted for its memory (the sandbox limits the
    # kernels'); dashboard off: it needs bokeh and nobody watches it during make grade.
    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=0,
                        dashboard_address=None, silence_logs=50)


class Connection:
    """A Client on a LocalCluster of ``workers`` (``scheduler`` None) or on ``scheduler``, with ``kit``
    registered: started in the background (workers import and release while the coordinator
    releases too); :meth:`client` waits for it and raises what went wrong."""

    def __init__(self, kit, scheduler=None, workers=1):
        self._stack = contextlib.ExitStack()
        self._starting = ThreadPoolExecutor(1, thread_name_prefix="grading-cluster")
        self._ready = self._starting.submit(self._start, kit, scheduler, workers)

    def _start(self, kit, scheduler, workers):
        from distributed import Client

        # close(), not `with`: a Client's `with` must end in the thread that began it
        if scheduler is None:
            cluster = local_cluster(workers)
            self._stack.callback(cluster.close)
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=60)
        self._stack.callback(client.close)
        client.register_plugin(kit)
        return client

    def client(self):
        return self._ready.result()

    def close(self):
        with contextlib.suppress(Exception):
            self._ready.result()  # a cluster still starting is closed once it is up
        self._starting.shutdown()
        self._stack.close()

    def close_in_background(self):
        """Closes in a thread (a LocalCluster takes about a second to stop); returns the thread, to join."""
        closing = threading.Thread(target=self.close, name="grading-cluster-close")
        closing.start()
        return closing

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def worker_count(client):
    return len(client.scheduler_info(n_workers=-1)["workers"])


def describe(client):
    """'LocalCluster, 2 workers' or 'tcp://10.0.0.5:8786, 64 workers'."""
    workers = worker_count(client)
    where = "LocalCluster" if client.cluster is not None else client.scheduler.address
    return f"{where}, {workers} worker{'s' if workers != 1 else ''}"


def worker_threads(client):
    """Tasks the cluster runs at once now (sum of its workers' threads)."""
    return sum(w["nthreads"] for w in client.scheduler_info(n_workers=-1)["workers"].values())
