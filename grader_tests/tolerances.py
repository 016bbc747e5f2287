"""Comparison tolerances, by dtype of the submitted result. rtol and atol always go together.

The checks feed float64 inputs (jax_enable_x64, torch.float64); a submission that computes in
float32 anyway is compared with the float32 rows.
"""

from typing import NamedTuple

import numpy as np


class Tolerance(NamedTuple):
    rtol: float
    atol: float


VALUE = {
    np.dtype(np.float64): Tolerance(rtol=1e-7, atol=1e-10),
    # Loosened: float32 carries ~7 digits, and equivalent formulas (log(softmax(z)) against
    # log_softmax(z), tanh against 2*sigmoid(2x)-1) round differently.
    np.dtype(np.float32): Tolerance(rtol=1e-4, atol=1e-6),
}

GRADIENT = {
    # Loosened against VALUE: the chain rule multiplies the rounding of every step, and
    # autodiff of an equivalent formula (mean vs sum / N, log(softmax) vs log_softmax) takes
    # other paths.
    np.dtype(np.float64): Tolerance(rtol=1e-6, atol=1e-9),
    # Loosened further for the same reasons at float32 precision.
    np.dtype(np.float32): Tolerance(rtol=2e-3, atol=1e-5),
}

# Central differences in float64: truncation error ~h^2, cancellation ~eps/h, so h=1e-5 gives
# about 1e-10 absolute; loosened to 1e-6 relative because the loss is evaluated through the
# submission's own (possibly less accurate) formula.
FINITE_DIFFERENCE_STEP = 1e-5
FINITE_DIFFERENCE = Tolerance(rtol=1e-6, atol=1e-8)


def lookup(table, dtype):
    """The row of ``table`` for ``dtype``; anything that is not float32 is held to float64."""
    return table.get(np.dtype(dtype), table[np.dtype(np.float64)])


# An epsilon inside the log, log(p + eps), or p clipped at eps, is what correct code does against
# log(0): a widely used textbook's cross_entropy_error adds 1e-7 (oreilly-japan/deep-learning-from-
# scratch, common/functions.py), Keras clips at 1e-7. Up to LOG_EPSILON it is accepted. On given
# inputs it moves the loss by at most LOG_EPSILON * mean_n(1 / p_n), where p_n is the probability
# of sample n's true class, and each gradient by a relative LOG_EPSILON / min_n(p_n); the loss
# checks allow twice that on their own inputs (rounding). The mistakes the checks must catch change
# the loss by factors (x N for a sum, / C, x 1.44 for log2, the sign...), far beyond these margins.
LOG_EPSILON = 1e-7


def loss_value_table(p_true):
    """VALUE, loosened by what an epsilon of LOG_EPSILON in the log can change in this loss."""
    margin = 2.0 * LOG_EPSILON * float(np.mean(1.0 / np.asarray(p_true)))
    return {dtype: Tolerance(tol.rtol, tol.atol + margin) for dtype, tol in VALUE.items()}


def loss_gradient_table(p_true, sensitivity=0.0):
    """GRADIENT, loosened by what an epsilon of LOG_EPSILON in the log can change in its gradient.

    log(p_n + eps) moves the gradient of the mean loss by mean_n(eps / (p_n + eps) * d log p_n / d theta):
    relatively at most eps / min(p_n) where the samples' gradients agree, and absolutely at most
    eps * ``sensitivity``, the largest mean_n(|d log p_n / d theta| / p_n) over the parameter entries
    (where the samples' gradients cancel, an entry of the total can be ~0 while the shift is not).
    """
    relative = 2.0 * LOG_EPSILON / float(np.min(np.asarray(p_true)))
    absolute = 2.0 * LOG_EPSILON * float(sensitivity)
    return {dtype: Tolerance(max(tol.rtol, relative), max(tol.atol, absolute)) for dtype, tol in GRADIENT.items()}
