"""Weight sharing in numpy (lesson 06): 1-D k-means codebooks, packed b-bit indices, bit budgets.

A layer's weights are replaced by ``codebook[indices]``: ``2**bits`` shared values and one
``bits``-wide index per weight. Plain numpy (no torch), so the firmware generator can pack the
indices of an int8 model with the same functions the lesson teaches.
"""

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np

MAX_BITS = 8


def check_bits(bits: int) -> int:
    """Return ``bits`` if it is an int in 1..8, else raise ValueError."""
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer) or not 1 <= bits <= MAX_BITS:
        raise ValueError(f"bits must be an int in 1..{MAX_BITS}, got {bits!r}")
    return int(bits)


def linear_init(values: np.ndarray, k: int) -> np.ndarray:
    """Return ``k`` centroids spaced evenly from min to max (Deep Compression's linear init)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0 or k < 1:
        raise ValueError(f"need at least one value and k >= 1, got {values.size} values, k={k}")
    return np.linspace(values.min(), values.max(), k)


def assign(values: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Return the index of each value's nearest centroid (ties: the lower index)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    return np.abs(values[:, None] - np.asarray(centroids, dtype=np.float64)[None, :]).argmin(1)


def kmeans_1d(values: np.ndarray, k: int, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Cluster values into ``k`` shared values with Lloyd's algorithm from a linear init.

    Return (centroids float64 of length k, labels int64 of values' size). A cluster that loses
    all its members keeps its centroid (it costs a codebook entry, nothing else). Stops when no
    label changes.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    centroids = linear_init(values, k)
    labels = assign(values, centroids)
    for _ in range(max_iter):
        sums = np.bincount(labels, weights=values, minlength=k)
        counts = np.bincount(labels, minlength=k)
        centroids = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)
        new_labels = assign(values, centroids)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    return centroids, labels


def pack_indices(indices: np.ndarray, bits: int) -> bytes:
    """Pack integers in 0..2**bits-1 into a bit stream, least significant bit first.

    Index ``i`` occupies bits ``i*bits .. i*bits+bits-1`` of the stream; bit ``j`` of the stream
    is bit ``j % 8`` of byte ``j // 8``. The last byte is padded with zeros.
    """
    bits = check_bits(bits)
    indices = np.asarray(indices).reshape(-1)
    if indices.size and (indices.min() < 0 or indices.max() >= 1 << bits):
        raise ValueError(f"indices must lie in 0..{(1 << bits) - 1} for {bits} bits")
    stream = (indices.astype(np.uint16)[:, None] >> np.arange(bits)) & 1
    return np.packbits(stream.astype(np.uint8).reshape(-1), bitorder="little").tobytes()


def unpack_indices(data: bytes, bits: int, count: int) -> np.ndarray:
    """Return the ``count`` indices packed by :func:`pack_indices` (int64)."""
    bits = check_bits(bits)
    if len(data) < packed_bytes(count, bits):
        raise ValueError(f"{len(data)} bytes hold fewer than {count} indices of {bits} bits")
    stream = np.unpackbits(np.frombuffer(bytes(data), dtype=np.uint8), bitorder="little")
    chunks = stream[: count * bits].reshape(count, bits).astype(np.int64)
    return (chunks << np.arange(bits)).sum(axis=1)


def packed_bytes(count: int, bits: int) -> int:
    """Return the bytes of ``count`` packed ``bits``-bit indices (the last byte padded)."""
    return math.ceil(count * check_bits(bits) / 8)


def codebook_bytes(count: int, bits: int, entry_bytes: int = 1) -> int:
    """Return the bytes of one layer stored as packed indices plus a ``2**bits`` codebook."""
    return packed_bytes(count, bits) + (1 << bits) * entry_bytes


def choose_bits(
    loss: Mapping[str, Mapping[int, float]], counts: Mapping[str, int], budget_bytes: int,
    entry_bytes: int = 1,
) -> dict[str, int]:
    """Return the bit width per layer that fits ``budget_bytes`` with the least summed loss.

    ``loss[layer][bits]`` is the accuracy lost when only that layer is shared at ``bits`` (a
    sensitivity scan); losses are assumed to add up. Every combination is tried (a few layers,
    a few widths). Ties go to the plan with fewer bytes, then the wider bits of earlier layers.
    """
    layers = list(loss)
    if set(layers) != set(counts):
        raise ValueError("loss and counts must name the same layers")
    options: list[Sequence[int]] = [sorted(loss[name], reverse=True) for name in layers]
    best, best_key = None, None
    for plan in itertools.product(*options):
        size = sum(codebook_bytes(counts[n], b, entry_bytes) for n, b in zip(layers, plan, strict=True))
        if size > budget_bytes:
            continue
        key = (sum(loss[n][b] for n, b in zip(layers, plan, strict=True)), size)
        if best_key is None or key < best_key:
            best, best_key = plan, key
    if best is None:
        smallest = sum(codebook_bytes(counts[n], min(loss[n]), entry_bytes) for n in layers)
        raise ValueError(f"no plan fits {budget_bytes} bytes: the smallest takes {smallest} "
                         "bytes; raise the budget or offer fewer bits")
    return dict(zip(layers, best, strict=True))
