"""Helpers for grade cells: asserts with messages that teach (used in every lesson)."""

import inspect
from collections.abc import Callable

import numpy as np


def check_close(actual, expected, what: str, rtol: float = 1e-6, atol: float = 0.0) -> None:
    """Assert that ``actual`` equals ``expected`` within tolerance, naming ``what`` if not."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{what}: expected shape {e.shape}, got {a.shape}"
    assert np.allclose(a, e, rtol=rtol, atol=atol), f"{what}: the values are not right yet"


def source_mentions(fn: Callable, *names: str) -> list[str]:
    """Return which of ``names`` appear in the source of ``fn`` (to forbid library shortcuts)."""
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        return []
    return [name for name in names if name in source]
