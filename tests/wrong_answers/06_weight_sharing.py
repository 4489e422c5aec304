"""Plausible wrong answers to lesson 06_weight_sharing: each must lose all its exercise's points."""

WRONG = {
    # a quantile (density) init instead of the linear one: converges elsewhere on real weights
    "kmeans_1d": '''
def kmeans_1d(values: np.ndarray, k: int, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Cluster values into k shared values (quantile init)."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    centroids = np.quantile(x, (np.arange(k) + 0.5) / k)
    labels = np.abs(x[:, None] - centroids[None, :]).argmin(axis=1)
    for _ in range(max_iter):
        counts = np.bincount(labels, minlength=k)
        sums = np.bincount(labels, weights=x, minlength=k)
        centroids = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)
        new_labels = np.abs(x[:, None] - centroids[None, :]).argmin(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    return centroids, labels
''',
    # the mean of the cluster's gradients instead of their sum
    "centroid_gradients": '''
def centroid_gradients(weight_grad: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Return the k centroid gradients (mean per cluster)."""
    grad = np.asarray(weight_grad, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    sums = np.bincount(labels, weights=grad, minlength=k)
    return sums / np.maximum(np.bincount(labels, minlength=k), 1)
''',
    # most significant bit first: the right bytes for 8 bits, the wrong stream below that
    "pack_indices": '''
def pack_indices(indices: np.ndarray, bits: int) -> bytes:
    """Pack integers into bytes, most significant bit first."""
    indices = np.asarray(indices).reshape(-1).astype(np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= 1 << bits):
        raise ValueError("index out of range")
    stream = ((indices[:, None] >> np.arange(bits - 1, -1, -1)) & 1).astype(np.uint8).reshape(-1)
    return np.packbits(stream).tobytes()
''',
    # bits codebook entries instead of 2**bits
    "storage_bytes": '''
def storage_bytes(counts: dict[str, int], bits: dict[str, int], entry_bytes: int = 1) -> int:
    """Return the bytes of packed indices plus codebooks."""
    if set(counts) != set(bits):
        raise ValueError("counts and bits must name the same layers")
    return sum((counts[n] * bits[n] + 7) // 8 + bits[n] * entry_bytes for n in counts)
''',
    # a plan must stay strictly under the budget: the exact fit is rejected
    "plan_bits": '''
def plan_bits(loss: dict[str, dict[int, float]], counts: dict[str, int], budget_bytes: int) -> dict[str, int]:
    """Return {layer: bits} with the least summed loss among plans under budget_bytes."""
    import itertools

    names = list(loss)
    best, best_key = None, None
    for plan in itertools.product(*(sorted(loss[name]) for name in names)):
        size = sum(codebooks.codebook_bytes(counts[n], b) for n, b in zip(names, plan, strict=True))
        if size >= budget_bytes:
            continue
        key = (sum(loss[n][b] for n, b in zip(names, plan, strict=True)), size)
        if best_key is None or key < best_key:
            best, best_key = plan, key
    if best is None:
        raise ValueError("no plan fits")
    return dict(zip(names, best, strict=True))
''',
}
