"""The order a batch grades in: the longest first (by the last grading time), so that the last one
running alone, while the other workers idle, is a short one. Only the order changes, never a grade."""

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
