"""Grader functions swapped into a submission while one part is checked.

A part is checked with the reference versions of the parts it calls, so a mistake in one part
costs points only there. These are module-level functions so that they can cross a process
boundary by name.
"""

import jax

import reference
from grader_tests import expected
from grader_tests.compare import CheckFailure, Hint

# Parts other than the one under check, as the reference has them (jitted: still differentiable
# from the submission's side, and compiled once instead of operation by operation).
REFERENCE_PARTS = {
    "softmax": expected.softmax,
    "forward_pass": expected.forward_pass,
    "cross_entropy_loss": expected.cross_entropy_loss,
}

GRAD_WRT_X = Hint(
    "grad_wrt_X",
    "the gradients handed to update_params do not have the structure of params: differentiate "
    "loss_func with respect to params (its first argument, argnums=0), not X",
)

# Added to the reference loss in the loss_func given to train_nn: a history that does not sit
# above it was not computed with the given loss_func.
LOSS_SHIFT = 10.0


def shifted_loss(params, X, Y_true):
    """The loss_func handed to train_nn: the reference cross-entropy plus LOSS_SHIFT."""
    return REFERENCE_PARTS["cross_entropy_loss"](params, X, Y_true) + LOSS_SHIFT


def checked_update_params(params, grads, lr):
    """reference.update_params, after checking that grads has the structure of params."""
    # Lists and tuples of the four parameters are the same thing to the exercise.
    as_tuple = lambda tree: tuple(tree) if isinstance(tree, list) else tree
    params_shape = jax.tree_util.tree_map(lambda leaf: getattr(leaf, "shape", ()), as_tuple(params))
    grads_shape = jax.tree_util.tree_map(lambda leaf: getattr(leaf, "shape", ()), as_tuple(grads))
    if params_shape != grads_shape:
        raise CheckFailure(
            f"update_params received grads shaped {grads_shape} for params shaped {params_shape}",
            GRAD_WRT_X,
        )
    return reference.update_params(as_tuple(params), as_tuple(grads), lr)


def all_reference_parts_but(part):
    """The swap-in table for checking ``part``: every other JAX part from the grader."""
    table = dict(REFERENCE_PARTS, update_params=checked_update_params)
    table.pop(part, None)
    return table
