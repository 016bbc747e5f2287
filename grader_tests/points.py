"""Graded parts and their points: the single source for the grader, the notebook and grades.csv."""

# Order is the order of the exercise.
POINTS = {
    "softmax": 2,
    "forward_pass": 2,
    "cross_entropy_loss": 2,
    "update_params": 1,
    "train_nn": 3,
    "MultiClassNet": 2,
}
PARTS = tuple(POINTS)
MAX_TOTAL = sum(POINTS.values())

# Test module of each part: grader_tests/test_<module>.py
MODULE_OF_PART = {part: part.lower() for part in PARTS}
PART_OF_MODULE = {module: part for part, module in MODULE_OF_PART.items()}


def part_score(part, passed, total):
    """Points for a part: equal weight per check, rounded to hundredths."""
    if total == 0:
        return 0.0
    return round(POINTS[part] * passed / total, 2)
