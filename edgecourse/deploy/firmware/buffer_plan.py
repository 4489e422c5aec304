"""Place a model's activation tensors in one static arena: a greedy, lifetime-aware plan.

Two tensors may share bytes when they are never alive at the same time (the idea of TFLM's
GreedyMemoryPlanner): the arena is the peak, not the sum, of the activations.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgecourse.deploy.tflite_model import TFLiteModel

ALIGNMENT = 4


@dataclass(frozen=True)
class BufferPlan:
    """Arena offsets of the activation tensors and the arena's size in bytes."""

    offsets: dict[int, int]  # tensor index -> byte offset in the arena
    arena_bytes: int
    sum_bytes: int  # what one buffer per tensor would have cost


def lifetimes(model: TFLiteModel) -> dict[int, tuple[int, int]]:
    """Return tensor index -> (first op that needs it, last op that needs it)."""
    last = len(model.operators)
    spans: dict[int, list[int]] = {i: [-1, -1] for i in model.inputs}
    for op in model.operators:
        for i in op.outputs:
            spans.setdefault(i, [op.index, op.index])
        for i in op.inputs:
            if i >= 0 and not model.tensors[i].is_constant:
                spans.setdefault(i, [op.index, op.index])[1] = op.index
    for i in model.outputs:
        spans[i][1] = last  # outputs are read after the last op
    return {i: (a, b) for i, (a, b) in spans.items()}


def plan_buffers(model: TFLiteModel) -> BufferPlan:
    """Return a buffer plan: biggest tensors first, each at the lowest offset free in its life."""
    spans = lifetimes(model)
    sizes = {i: -(-model.tensors[i].nbytes // ALIGNMENT) * ALIGNMENT for i in spans}
    placed: list[tuple[int, int, int, int]] = []  # (offset, size, first, last)
    offsets = {}
    for i in sorted(spans, key=lambda i: (-sizes[i], i)):
        first, last = spans[i]
        busy = sorted((o, o + s) for o, s, a, b in placed if a <= last and first <= b)
        offset = 0
        for start, end in busy:
            if offset + sizes[i] <= start:
                break
            offset = max(offset, end)
        offsets[i] = offset
        placed.append((offset, sizes[i], first, last))
    arena = max((o + s for o, s, _, _ in placed), default=0)
    return BufferPlan(offsets, arena, sum(sizes.values()))
