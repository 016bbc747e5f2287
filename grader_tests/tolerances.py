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
