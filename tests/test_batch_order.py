"""The order a batch grades in: the longest first (by the last grading time), so that the last one
running alone, while the other workers idle, is a short one; and each student goes to the worker that is
free. Only the order changes, never a grade."""

from grading import batch


def test_longest_first_by_last_grading_time():
    previous = {"alice": {"seconds": 6.0}, "bob": {"seconds": 9.5}, "carol": {"seconds": 5.0}, "dave": {"seconds": 48.0}}
    assert batch.longest_first(["alice", "bob", "carol", "dave"], previous) == ["dave", "bob", "alice", "carol"]


def test_a_student_never_graded_counts_as_the_median_and_ties_keep_their_order():
    previous = {"a": {"seconds": 2.0}, "b": {"seconds": 4.0}, "c": {"seconds": 9.0}, "new1": None, "new2": {},
                "broken": {"seconds": "?"}}
    # median of 2, 4 and 9 is 4: the new ones (and the unreadable one) come right after c, in their own order, beside b
    assert batch.longest_first(["new1", "a", "b", "new2", "c", "broken"], previous) == ["c", "new1", "b", "new2", "broken", "a"]


def test_without_any_grading_time_the_order_is_kept():
    assert batch.longest_first(["z", "y", "x"], {"z": None, "y": {}, "x": {"seconds": 0}}) == ["z", "y", "x"]


def test_a_plan_grades_the_longest_first(tmp_path, monkeypatch):
    seconds = {"s1": 5.0, "s2": 30.0, "s3": None, "s4": 7.0}
    monkeypatch.setattr(batch, "GRADERS", tmp_path / "graders")
    monkeypatch.setattr(batch, "load_result", lambda sid: None if seconds[sid] is None else {"seconds": seconds[sid], "grader": "g"})
    plan = batch.plan(["s1", "s2", "s3", "s4"], force=True)
    assert plan.ids == ["s1", "s2", "s3", "s4"]  # the tables keep the class's order
    assert plan.todo == ["s2", "s3", "s4", "s1"]  # s3, never graded, counts as the median (7): tied with s4, listed first


def test_a_student_goes_to_the_worker_that_is_free(monkeypatch):
    # With two tasks per worker, Dask placed a new task on a worker at once, and a batch's last short
    # students could wait behind a long one while the other worker idled. Here: one long student and
    # five short ones (longest first) on two single-threaded workers; the short ones together take less
    # than the long one, so every one of them belongs on the other worker.
    import threading  # noqa: PLC0415
    import time  # noqa: PLC0415

    from distributed import Client, LocalCluster  # noqa: PLC0415

    from grading import cluster  # noqa: PLC0415
    from grading.inbox import Submission  # noqa: PLC0415

    seconds = {"long": 2.0, **{f"short{i}": 0.3 for i in range(5)}}

    def grade(student_id, files, version):  # where and when it ran: (worker thread, start, end)
        start = time.monotonic()
        time.sleep(seconds[student_id])
        return {"ran": (threading.current_thread().name, start, time.monotonic())}

    monkeypatch.setattr(cluster, "grade", grade)
    monkeypatch.setattr(batch, "read_submission", lambda sid: Submission(sid, files={"perceptrons.ipynb": b"{}"}))
    monkeypatch.setattr(batch, "_outcome", lambda future, sid, sandboxed: future.result())
    ran, idle = {}, []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as local, Client(local) as client:
        batch._run(client, list(seconds), lambda outcome, submission: ran.update({submission.student_id: outcome["ran"]}), "v", True,
                   on_idle=lambda: idle.append(sorted(ran)))
    assert sorted(ran) == sorted(seconds)
    # on_idle (make grade's class report imports then): once, when the short ones are done and the long one still runs
    assert idle == [sorted(sid for sid in seconds if sid != "long")]
    long_worker = ran["long"][0]
    assert all(ran[sid][0] != long_worker for sid in seconds if sid != "long"), ran
