"""Probe TFLM's arena needs in a child process (``python -m edgecourse.deploy.tflm_probe MODEL``).

Imports only numpy and TFLM, so a child starts in a fraction of a second. A child process,
because TFLM's Python wrapper can crash the whole process, instead of raising, when an arena is
too small even for its own bookkeeping. :func:`edgecourse.deploy.tflm.measure_arena` runs it;
:mod:`edgecourse.deploy.runtimes` builds its interpreters with :func:`new_interpreter`.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile

import numpy as np

#: Below this, TFLM's wrapper segfaults instead of raising (its own objects do not fit).
SAFE_FLOOR_BYTES = 1024


def capture_stderr(fn) -> str:
    """Call fn and return what it (C++ included) wrote to file descriptor 2."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        sink.seek(0)
        return sink.read().decode(errors="replace")


def new_interpreter(model_bytes: bytes, arena_bytes: int, preserve_all_tensors: bool = False):
    """Return a TFLM interpreter with its tensors allocated in ``arena_bytes``.

    ``preserve_all_tensors`` gives every intermediate tensor its own place in the arena, so each
    can be read after an invoke (a larger arena).
    """
    from tflite_micro import runtime

    if arena_bytes < SAFE_FLOOR_BYTES:
        raise ValueError(f"arena_bytes={arena_bytes} is below TFLM's fixed overhead; "
                         f"use >= {SAFE_FLOOR_BYTES}")
    config = (runtime.InterpreterConfig.kPreserveAllTensors if preserve_all_tensors
              else runtime.InterpreterConfig.kAllocationRecording)
    return runtime.Interpreter.from_bytes(model_bytes, arena_size=int(arena_bytes),
                                          intrepreter_config=config)


def allocation_report(model_bytes: bytes, arena_bytes: int) -> str:
    """Return the recording allocator's print_allocations() text after one invoke on zeros."""
    it = new_interpreter(model_bytes, arena_bytes)
    details = it.get_input_details(0)
    it.set_input(np.zeros(details["shape"], details["dtype"]), 0)
    it.invoke()
    return capture_stderr(it.print_allocations)


def recorded_arena_bytes(report: str) -> int:
    """Return the "Arena allocation total" figure of an allocation report."""
    match = re.search(r"Arena allocation total (\d+) bytes", report)
    if not match:
        raise ValueError("no 'Arena allocation total' line in the allocator report")
    return int(match.group(1))


def works(model_bytes: bytes, arena_bytes: int) -> bool:
    """Return True when TFLM allocates and invokes the model in ``arena_bytes``."""
    try:
        # TFLM prints why an allocation failed; swallow it, the bisection only needs yes/no.
        capture_stderr(lambda: allocation_report(model_bytes, arena_bytes))
        return True
    except RuntimeError:
        return False


def bisect_arena(model_bytes: bytes, generous_bytes: int = 1 << 20) -> dict:
    """Return the smallest working arena, the recorded total and the allocator report."""
    report = allocation_report(model_bytes, generous_bytes)
    recorded = recorded_arena_bytes(report)
    # Invariant: lo fails (or sits below the safe floor), hi works.
    lo, hi = max(SAFE_FLOOR_BYTES - 1, recorded // 2), recorded + 1024
    while not works(model_bytes, hi):
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if works(model_bytes, mid) else (mid, hi)
    return {"arena_bytes": hi, "recorded_bytes": recorded, "report": report}


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as f:
        print(json.dumps(bisect_arena(f.read())))
