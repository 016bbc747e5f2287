"""Hidden checks of the perceptrons exercise.

One pytest file per graded part (``test_<part>.py``). The checks reach submitted code only
through :class:`grader_tests.submission.Submission`; :mod:`grader_tests.runner` runs them and
turns pytest's reports into per-part scores; ``python -m grading.check PATH...`` grades files.
"""
