"""Local, named seeds: each check draws its inputs from a generator seeded by its own name."""

import zlib

import numpy as np


def seed_for(name):
    """A stable 32-bit seed for ``name`` (crc32; unlike hash() it does not change per process)."""
    return zlib.crc32(name.encode("utf-8"))


def rng(name):
    """A numpy Generator seeded by ``name``."""
    return np.random.default_rng(seed_for(name))
