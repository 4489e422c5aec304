"""Measure the smallest tensor arena the real TFLM runtime needs for a ``.tflite`` (lesson 05).

The measurement runs :mod:`edgecourse.deploy.tflm_probe` in a child process, because TFLM can
crash instead of raising on an arena that is too small. To run a model in TFLM, see
:func:`edgecourse.deploy.runtimes.run_tflm`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgecourse.deploy.tflite_model import as_model


@dataclass(frozen=True)
class ArenaMeasurement:
    """The smallest arena TFLM accepts for a model, and what its recording allocator reported."""

    arena_bytes: int  # smallest arena_size that allocates and invokes (found by bisection)
    recorded_bytes: int  # "Arena allocation total" of the recording allocator
    report: str  # the allocator's print_allocations() text


def measure_arena(model) -> ArenaMeasurement:
    """Measure the smallest tensor arena TFLM needs for the model (bisection in a subprocess)."""
    model_bytes = as_model(model).model_bytes  # parsed first: a clear error for non-flatbuffers
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(model_bytes)
        # A child process: a TFLM crash on a tiny arena must not take the caller down.
        result = subprocess.run([sys.executable, "-m", "edgecourse.deploy.tflm_probe", str(path)],
                                capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"TFLM arena measurement failed (exit {result.returncode}): "
                           f"{result.stderr.strip()[-500:]}")
    return ArenaMeasurement(**json.loads(result.stdout.strip().splitlines()[-1]))
