"""Seed every random number generator the course uses (introduced in lesson 01)."""

import random

import numpy as np
import torch

from edgecourse.lab import backend  # noqa: F401  (torch and torchvision first, one thread)


def check_seed(seed: int) -> int:
    """Return ``seed``, or raise a ValueError if it is not a non-negative int."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return seed


def set_seed(seed: int = 0) -> torch.Generator:
    """Seed python, numpy and torch; return a torch generator seeded the same way."""
    check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
