"""Find the codebooks of a weight-shared int8 ``.tflite`` (lesson 06) for the C generator.

TFLite has no codebook op, so a shared model travels as an ordinary int8 ``.tflite`` whose
CONV_2D and FULLY_CONNECTED weights take at most ``2**bits`` distinct int8 values per tensor
(a network clustered with :mod:`edgecourse.lab.weight_sharing`, exported with per-tensor weight
scales: ``to_tflite(net, X, "int8", per_channel=False)``). Every TFLite runtime, TFLM included,
runs it unchanged with TFLite's integer arithmetic; the C generator (``edgecourse firmware MODEL
--target c --codebook``) finds each tensor's codebook and stores packed indices plus the
codebook instead of the int8 weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgecourse.deploy.tflite_model import TFLiteModel, as_model
from edgecourse.lab.codebooks import (
    MAX_BITS,
    codebook_bytes,
    pack_indices,
)

SHARED_OPS = ("CONV_2D", "FULLY_CONNECTED")


@dataclass(frozen=True)
class Codebook:
    """One weight tensor stored as packed ``bits``-bit indices into an int8 codebook."""

    tensor: int
    bits: int
    codebook: np.ndarray  # int8, 2**bits entries (unused ones repeat the last)
    indices: np.ndarray  # int64, the weight tensor's shape
    packed: bytes

    @property
    def nbytes(self) -> int:
        """Return the bytes stored: packed indices plus the codebook."""
        return codebook_bytes(self.indices.size, self.bits)


def weight_tensors(model) -> dict[str, int]:
    """Return ``{op label: weight tensor index}`` of the model's CONV_2D / FULLY_CONNECTED ops."""
    parsed = as_model(model)
    return {f"{op.op}#{op.index}": op.inputs[1] for op in parsed.operators
            if op.op in SHARED_OPS and parsed.tensors[op.inputs[1]].is_constant}


def find_codebooks(model: TFLiteModel | bytes) -> dict[int, Codebook]:
    """Return ``{weight tensor: Codebook}`` for every shared weight tensor that saves bytes.

    A tensor qualifies when its distinct values fit a codebook of ``bits = ceil(log2(count))``
    (at most 7 bits) and packed indices plus codebook take fewer bytes than the int8 weights.
    """
    parsed = as_model(model)
    found = {}
    for index in weight_tensors(parsed).values():
        data = parsed.tensors[index].data
        values = np.unique(data)
        bits = max(1, int(np.ceil(np.log2(len(values)))))
        if bits >= MAX_BITS or codebook_bytes(data.size, bits) >= data.size:
            continue
        codebook = np.concatenate([values, np.full((1 << bits) - len(values), values[-1])])
        indices = np.searchsorted(values, data)
        found[index] = Codebook(index, bits, codebook.astype(np.int8), indices,
                                pack_indices(indices, bits))
    return found

