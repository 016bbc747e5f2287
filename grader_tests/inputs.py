"""Inputs of the checks, drawn from named seeds (never printed: students cannot hard-code answers)."""

import numpy as np

from grader_tests.seeds import rng
from reference import make_rings, one_hot

PARAM_NAMES = ("W_1", "b_1", "W_2", "b_2")


def params(name, n_input=2, n_hidden=5, n_output=3):
    """(W_1, b_1, W_2, b_2) in float64 with non-zero biases, so a dropped bias shows."""
    g = rng(name)
    return (
        g.normal(size=(n_input, n_hidden)),
        g.normal(size=(n_hidden,)),
        g.normal(size=(n_hidden, n_output)),
        g.normal(size=(n_output,)),
    )


def features(name, n_samples, n_input=2):
    return rng(name).normal(size=(n_samples, n_input))


def targets(name, n_samples, n_classes=3):
    """One-hot rows of random labels, every class present when n_samples >= n_classes."""
    labels = rng(name).permutation(np.arange(n_samples) % n_classes)
    return one_hot(labels, n_classes)


def rings():
    """The exercise's data: X (300, 2), one-hot Y (300, 3), labels y (300,)."""
    X, y = make_rings(seed=0)
    return X, one_hot(y), y
