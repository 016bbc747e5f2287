"""The exercise's data set: three noisy concentric rings, one class per ring."""

import numpy as np

RADII = (0.2, 0.7, 1.2)
NOISE = 0.2
POINTS_PER_RING = 100
N_CLASSES = len(RADII)


def make_rings(seed=0, n_points=POINTS_PER_RING, radii=RADII, noise=NOISE):
    """Samples points on concentric circles with Gaussian noise.

    Args:
        seed: seed of the local generator; the same seed gives the same data.
        n_points: points per ring.
        radii: one radius per class, class i lies on radii[i].
        noise: standard deviation of the Gaussian noise added to each coordinate.

    Returns:
        X: (n_points * len(radii), 2) float64 coordinates.
        y: (n_points * len(radii),) int64 class labels in [0, len(radii)).
    """
    rng = np.random.default_rng(seed)
    theta = np.linspace(0.0, 2.0 * np.pi, n_points)
    rings, labels = [], []
    for label, radius in enumerate(radii):
        ring = radius * np.stack([np.cos(theta), np.sin(theta)], axis=1)
        rings.append(ring + noise * rng.standard_normal((n_points, 2)))
        labels.append(np.full(n_points, label, dtype=np.int64))
    return np.concatenate(rings), np.concatenate(labels)


def one_hot(y, n_classes=N_CLASSES):
    """Turns integer labels into one-hot rows.

    Args:
        y: (N,) integer labels in [0, n_classes).
        n_classes: number of classes C.

    Returns:
        (N, C) float64 array with a single 1 per row.
    """
    y = np.asarray(y)
    return (y[:, None] == np.arange(n_classes)[None, :]).astype(np.float64)
