"""Hidden tests of lesson 06_weight_sharing (instructor only; see README.md)."""

import numpy as np

# The course model's shared layers (recipes.distilled_student): weights per layer.
COURSE_COUNTS = {"features.0": 72, "features.3": 1152, "classifier.1": 2048, "classifier.3": 320}

FORBIDDEN = {
    "kmeans_1d": ("edgecourse.lab.codebooks:kmeans_1d", "sklearn.cluster:KMeans",
                  "sklearn.cluster:k_means", "scipy.cluster.vq:kmeans", "scipy.cluster.vq:kmeans2"),
    "pack_indices": ("edgecourse.lab.codebooks:pack_indices", "numpy:packbits"),
    "storage_bytes": ("edgecourse.lab.codebooks:codebook_bytes",
                      "edgecourse.lab.codebooks:packed_bytes"),
    "plan_bits": ("edgecourse.lab.codebooks:choose_bits",),
}
TOLERANCE = {"kmeans_1d": {"rtol": 1e-9, "atol": 1e-12},
             "centroid_gradients": {"rtol": 1e-12, "atol": 1e-12}}


def _kmeans(f, values, k):
    before = np.array(values, copy=True)
    centroids, labels = f(values, k)
    return {"centroids": centroids, "labels": labels, "values unchanged":
            bool(np.array_equal(values, before))}


def probe_kmeans_1d(ns, thorough):
    f = ns["kmeans_1d"]
    rng = np.random.default_rng(7)
    cases = [
        ("two well separated pairs", np.array([0.0, 0.1, 0.9, 1.0]), 2),
        ("normal weights, 4 clusters", rng.normal(size=300), 4),
        ("three groups of different spread, 5 clusters",
         np.concatenate([rng.normal(-2, 0.1, 50), rng.normal(0, 1, 200), rng.normal(5, 0.2, 10)]), 5),
        ("a 2-D layer is flattened in C order", rng.laplace(size=(20, 9)), 8),
        ("an empty cluster keeps its centroid", np.array([0.0, 0.0, 0.0, 1.0]), 4),
        ("a value halfway between two centroids goes to the lower index",
         np.array([0.0, 0.5, 1.0]), 2),
        ("all values equal: no NaN", np.array([3.0, 3.0, 3.0]), 2),
        ("one cluster is the mean", rng.normal(size=17), 1),
    ]
    if thorough:
        for i in range(40):
            n = int(rng.integers(1, 60))
            cases.append((f"random {i}", np.round(rng.normal(size=n), int(rng.integers(1, 4))),
                          int(rng.integers(1, 9))))
    for name, values, k in cases:
        yield name, lambda values=values, k=k: _kmeans(f, values, k)


def probe_centroid_gradients(ns, thorough):
    f = ns["centroid_gradients"]
    rng = np.random.default_rng(11)
    yield "each centroid collects the gradients of its weights", \
        lambda: f(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0, 1, 0, 1]), 2)
    shapes = [((6, 5), 4), ((200,), 16), ((3, 3, 2), 8), ((1,), 3)]
    if thorough:
        shapes += [((int(rng.integers(1, 40)),), int(rng.integers(1, 9))) for _ in range(30)]
    for i, (shape, k) in enumerate(shapes):
        labels = rng.integers(0, max(k - 1, 1), size=shape)  # the last cluster stays empty
        grad = rng.normal(size=shape)

        def call(grad=grad, labels=labels, k=k):
            before = grad.copy(), labels.copy()
            result = f(grad, labels, k)
            return {"result": result, "inputs unchanged": bool(
                np.array_equal(grad, before[0]) and np.array_equal(labels, before[1]))}
        yield (f"shape {shape}, {k} clusters, one left empty: a shared value's gradient is the "
               f"sum over its weights" if i < 4 else f"random {i}"), call


def probe_pack_indices(ns, thorough):
    f = ns["pack_indices"]
    rng = np.random.default_rng(0)
    yield "indices 1, 2, 3 at 2 bits", lambda: f(np.array([1, 2, 3]), 2)
    yield "eight 2-bit indices take two bytes", lambda: f(np.arange(8) % 4, 2)
    sizes = [(bits, n) for bits in (1, 2, 3, 4, 5, 6, 7, 8) for n in (1, 7, 13, 50)]
    if thorough:
        sizes += [(int(rng.integers(1, 9)), int(rng.integers(1, 100))) for _ in range(40)]
    for bits, n in sizes:
        idx = rng.integers(0, 1 << bits, size=n)
        yield (f"{bits}-bit indices, {n} of them: one continuous stream, lowest bit first, only "
               "the last byte padded"), lambda idx=idx, bits=bits: f(idx, bits)
    grid = rng.integers(0, 8, size=(4, 6))
    yield "a 2-D array is flattened in C order", lambda: f(grid, 3)
    yield "8 bits: one byte per index", lambda: f(np.arange(256), 8)
    yield "an index of 2**bits raises ValueError", lambda: f(np.array([4]), 2)
    yield "a negative index raises ValueError", lambda: f(np.array([-1]), 2)
    yield "the largest index fits", lambda: f(np.array([3, 0, 3]), 2)


def probe_storage_bytes(ns, thorough):
    f = ns["storage_bytes"]
    rng = np.random.default_rng(3)
    cases = [
        ("72 weights at 3 bits", {"a": 72}, {"a": 3}, 1),
        ("8 weights at 1 bit", {"a": 8}, {"a": 1}, 1),
        ("each layer is padded to whole bytes on its own", {"a": 3, "b": 3}, {"a": 3, "b": 3}, 1),
        ("a float32 codebook has 4-byte entries", {"a": 100}, {"a": 4}, 4),
        ("8 bits: 256 codebook entries", {"a": 10}, {"a": 8}, 1),
        ("the course model at 2 bits", COURSE_COUNTS, dict.fromkeys(COURSE_COUNTS, 2), 1),
        ("the course model, mixed bits", COURSE_COUNTS,
         {"features.0": 4, "features.3": 3, "classifier.1": 2, "classifier.3": 5}, 1),
        ("layers in counts but not in bits raise ValueError", {"a": 3}, {"b": 3}, 1),
        ("a layer missing from counts raises ValueError", {"a": 3}, {"a": 3, "b": 2}, 1),
    ]
    if thorough:
        for i in range(30):
            layers = {f"l{j}": int(rng.integers(1, 3000)) for j in range(int(rng.integers(1, 5)))}
            cases.append((f"random {i}", layers,
                          {n: int(rng.integers(1, 9)) for n in layers}, int(rng.integers(1, 5))))
    for name, counts, bits, entry in cases:
        def call(counts=counts, bits=bits, entry=entry):
            before = dict(counts), dict(bits)
            result = f(counts, bits, entry) if entry != 1 else f(counts, bits)
            return {"result": result, "inputs unchanged": (dict(counts), dict(bits)) == before}
        yield name, call


def probe_plan_bits(ns, thorough):
    f = ns["plan_bits"]
    toy_loss = {"a": {1: 5.0, 2: 1.0}, "b": {1: 0.5, 2: 0.0}}
    toy_counts = {"a": 16, "b": 32}
    cases = [
        ("with room for everything, lose nothing", toy_loss, toy_counts, 10_000),
        ("spend the bytes where they save the most accuracy", toy_loss, toy_counts, 19),
        ("a plan that takes exactly the budget fits", toy_loss, toy_counts, 14),
        ("the least summed loss, neither the fewest nor the most bytes", toy_loss, toy_counts, 16),
        ("when no plan fits the budget, raise ValueError", toy_loss, toy_counts, 9),
        ("equal loss: take the plan with fewer bytes", {"a": {1: 1.0, 2: 1.0}, "b": {2: 0.0}},
         toy_counts, 100),
    ]
    rng = np.random.default_rng(5)
    budgets = [900, 1_100, 1_300, 1_600] + ([int(rng.integers(700, 3000)) for _ in range(20)]
                                            if thorough else [])
    for i, budget in enumerate(budgets):
        loss = {name: {b: float(rng.uniform(0, 10 / b)) for b in (1, 2, 3, 4)}
                for name in COURSE_COUNTS}
        cases.append((f"a budget of {budget} bytes on the course model" if i < 4
                      else f"random {i}", loss, COURSE_COUNTS, budget))
    for name, loss, counts, budget in cases:
        yield name, lambda loss=loss, counts=counts, budget=budget: f(loss, counts, budget)
