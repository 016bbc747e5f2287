"""Reference implementations of the perceptrons exercise. Never released to students.

The grader compares every submission with these functions; the JAX and PyTorch versions
check each other in tests/test_reference.py.
"""

from reference.data import N_CLASSES, make_rings, one_hot
from reference.jax_mlp import (
    cross_entropy_loss,
    forward_pass,
    init_params,
    softmax,
    train_nn,
    update_params,
)
from reference.torch_mlp import MultiClassNet, train_multiclass_net

__all__ = [
    "N_CLASSES",
    "make_rings",
    "one_hot",
    "softmax",
    "forward_pass",
    "cross_entropy_loss",
    "update_params",
    "init_params",
    "train_nn",
    "MultiClassNet",
    "train_multiclass_net",
]
