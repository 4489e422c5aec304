"""Plausible wrong answers to lesson 06_weight_sharing: each must lose all its exercise's points."""

WRONG = {
    'kmeans_1d': [
        '''
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
        '''
def kmeans_1d(values: np.ndarray, k: int, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Ties go to the higher index."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    centroids = np.linspace(x.min(), x.max(), k)
    def nearest(c):
        d = np.abs(x[:, None] - c[None, :])
        return k - 1 - d[:, ::-1].argmin(axis=1)
    labels = nearest(centroids)
    for _ in range(max_iter):
        counts = np.bincount(labels, minlength=k)
        sums = np.bincount(labels, weights=x, minlength=k)
        centroids = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)
        new_labels = nearest(centroids)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    return centroids, labels.astype(np.int64)
''',
        '''
def kmeans_1d(values: np.ndarray, k: int, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """An empty cluster's centroid becomes 0."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    centroids = np.linspace(x.min(), x.max(), k)
    labels = np.abs(x[:, None] - centroids[None, :]).argmin(axis=1)
    for _ in range(max_iter):
        counts = np.bincount(labels, minlength=k)
        sums = np.bincount(labels, weights=x, minlength=k)
        centroids = sums / np.maximum(counts, 1)
        new_labels = np.abs(x[:, None] - centroids[None, :]).argmin(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    return centroids, labels.astype(np.int64)
''',
        '''
def kmeans_1d(values: np.ndarray, k: int, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Normalizes the caller's array in place first (and forgets to undo it)."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.dtype == np.float64:
        values -= 0.0
        values *= 1.0 + 1e-3
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    centroids = np.linspace(x.min(), x.max(), k)
    labels = np.abs(x[:, None] - centroids[None, :]).argmin(axis=1)
    for _ in range(max_iter):
        counts = np.bincount(labels, minlength=k)
        sums = np.bincount(labels, weights=x, minlength=k)
        centroids = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)
        new_labels = np.abs(x[:, None] - centroids[None, :]).argmin(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
    return centroids, labels.astype(np.int64)
''',
    ],
    'centroid_gradients': [
        '''
def centroid_gradients(weight_grad: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Return the k centroid gradients (mean per cluster)."""
    grad = np.asarray(weight_grad, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    sums = np.bincount(labels, weights=grad, minlength=k)
    return sums / np.maximum(np.bincount(labels, minlength=k), 1)
''',
        '''
def centroid_gradients(weight_grad: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Forgets the empty clusters at the end."""
    grad = np.asarray(weight_grad, dtype=np.float64).reshape(-1)
    return np.bincount(np.asarray(labels).reshape(-1), weights=grad)
''',
        '''
def centroid_gradients(weight_grad: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Accumulates in float32."""
    out = np.zeros(k, dtype=np.float32)
    np.add.at(out, np.asarray(labels).reshape(-1), np.asarray(weight_grad, dtype=np.float32).reshape(-1))
    return out.astype(np.float64)
''',
    ],
    'pack_indices': [
        '''
def pack_indices(indices: np.ndarray, bits: int) -> bytes:
    """Pack integers into bytes, most significant bit first."""
    indices = np.asarray(indices).reshape(-1).astype(np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= 1 << bits):
        raise ValueError("index out of range")
    stream = ((indices[:, None] >> np.arange(bits - 1, -1, -1)) & 1).astype(np.uint8).reshape(-1)
    return np.packbits(stream).tobytes()
''',
        '''
def pack_indices(indices: np.ndarray, bits: int) -> bytes:
    """Never lets an index straddle two bytes (pads each byte instead)."""
    indices = np.asarray(indices).reshape(-1).astype(np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= 1 << bits):
        raise ValueError("index out of range")
    per_byte = 8 // bits
    out = bytearray()
    for start in range(0, indices.size, per_byte):
        byte = 0
        for j, index in enumerate(indices[start:start + per_byte].tolist()):
            byte |= index << (j * bits)
        out.append(byte)
    return bytes(out)
''',
        '''
def pack_indices(indices: np.ndarray, bits: int) -> bytes:
    """Does not check the range: an index too large spills into its neighbour."""
    indices = np.asarray(indices).reshape(-1).astype(np.int64)
    stream = 0
    for i, index in enumerate(indices.tolist()):
        stream |= (index % (1 << bits)) << (i * bits)
    return stream.to_bytes((indices.size * bits + 7) // 8, "little")
''',
    ],
    'storage_bytes': [
        '''
def storage_bytes(counts: dict[str, int], bits: dict[str, int], entry_bytes: int = 1) -> int:
    """Return the bytes of packed indices plus codebooks."""
    if set(counts) != set(bits):
        raise ValueError("counts and bits must name the same layers")
    return sum((counts[n] * bits[n] + 7) // 8 + bits[n] * entry_bytes for n in counts)
''',
        '''
def storage_bytes(counts: dict[str, int], bits: dict[str, int], entry_bytes: int = 1) -> int:
    """Rounds the bits of all layers together to bytes once."""
    if set(counts) != set(bits):
        raise ValueError("counts and bits must name the same layers")
    total_bits = sum(counts[n] * bits[n] for n in counts)
    return (total_bits + 7) // 8 + sum((1 << bits[n]) * entry_bytes for n in counts)
''',
        '''
def storage_bytes(counts: dict[str, int], bits: dict[str, int], entry_bytes: int = 1) -> int:
    """A codebook of 2*bits entries instead of 2**bits."""
    if set(counts) != set(bits):
        raise ValueError("counts and bits must name the same layers")
    return sum((counts[n] * bits[n] + 7) // 8 + 2 * bits[n] * entry_bytes for n in counts)
''',
        '''
def storage_bytes(counts: dict[str, int], bits: dict[str, int], entry_bytes: int = 1) -> int:
    """Ignores layers that are missing from bits."""
    return sum((counts[n] * bits[n] + 7) // 8 + (1 << bits[n]) * entry_bytes for n in counts if n in bits)
''',
    ],
    'plan_bits': [
        '''
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
        '''
def plan_bits(loss: dict[str, dict[int, float]], counts: dict[str, int], budget_bytes: int) -> dict[str, int]:
    """A plan must stay strictly under the budget."""
    import itertools
    names = list(loss)
    best, best_key = None, None
    for plan in itertools.product(*(sorted(loss[name]) for name in names)):
        size = sum(codebooks.codebook_bytes(counts[n], b) for n, b in zip(names, plan))
        if size >= budget_bytes:
            continue
        key = (sum(loss[n][b] for n, b in zip(names, plan)), size)
        if best_key is None or key < best_key:
            best, best_key = plan, key
    if best is None:
        raise ValueError("no plan fits")
    return dict(zip(names, best))
''',
        '''
def plan_bits(loss: dict[str, dict[int, float]], counts: dict[str, int], budget_bytes: int) -> dict[str, int]:
    """Greedy: start from the most bits and lower the layer that costs least, until it fits."""
    plan = {n: max(loss[n]) for n in loss}
    size = lambda p: sum(codebooks.codebook_bytes(counts[n], b) for n, b in p.items())
    while size(plan) > budget_bytes:
        options = [(loss[n][b2] - loss[n][plan[n]], n, b2) for n in plan
                   for b2 in loss[n] if b2 < plan[n]]
        if not options:
            raise ValueError("no plan fits")
        _, n, b2 = min(options)
        plan[n] = b2
    return plan
''',
    ],
}
