"""Hidden tests of lesson 02_pruning (instructor only; see README.md)."""

import numpy as np
import torch
from torch import nn

from edgecourse.lab import models, recipes
from edgecourse.lab.data import load_digits_split, subset

_PRUNING = "edgecourse.lab.pruning:"
_PRUNE = "torch.nn.utils.prune:"

FORBIDDEN = {
    "toy_output": (_PRUNING + "magnitude_mask", _PRUNING + "_mask_from_scores"),
    "magnitude_mask": (_PRUNING + "magnitude_mask", _PRUNING + "_mask_from_scores",
                       _PRUNING + "layer_masks", _PRUNING + "global_masks",
                       _PRUNE + "l1_unstructured", _PRUNE + "L1Unstructured",
                       _PRUNE + "global_unstructured"),
    "global_masks": (_PRUNING + "global_masks", _PRUNING + "_mask_from_scores",
                     _PRUNING + "magnitude_mask", _PRUNING + "layer_masks",
                     _PRUNE + "global_unstructured", _PRUNE + "L1Unstructured",
                     _PRUNE + "l1_unstructured"),
    "iterative_prune": (_PRUNING + "iterative_prune", _PRUNING + "mask_after_step",
                        _PRUNING + "pruned_course_model"),
    "bitmask_encode": (_PRUNING + "bitmask_encode",),
    "prune_channels": (_PRUNING + "prune_channels", _PRUNING + "keep_channels",
                       _PRUNING + "channel_norms", _PRUNE + "ln_structured",
                       _PRUNE + "LnStructured"),
}
FORBIDDEN["csr_matvec"] = ("scipy.sparse:csr_matrix", "scipy.sparse:csr_array",
                            "scipy.sparse:coo_matrix", "scipy.sparse:coo_array",
                            "torch:sparse_csr_tensor", "torch:sparse_coo_tensor")
TOLERANCE = {"toy_output": {"rtol": 1e-9, "atol": 1e-12}}

# The lecture's toy layer, as in the notebook.
TOY_W = np.array([[0.8, -0.3], [-0.1, 0.5], [0.2, -0.6]])
TOY_X = np.array([1.0, 2.0, 0.5])


def _state(net: nn.Module) -> dict:
    return {name: t.detach().clone() for name, t in net.state_dict().items()}


def _plain_dict(value):
    # A dict subclass (OrderedDict) counts as a dict; its items stay strictly checked.
    return dict(value) if isinstance(value, dict) else value


# ---- 1. toy_output -----------------------------------------------------------------------------

def _toy(f, W, x, k):
    before = np.array(W, copy=True)
    y = f(W, x, k)
    return {"y": y, "W unchanged": bool(np.array_equal(W, before))}


def probe_toy_output(ns, thorough):
    f = ns["toy_output"]
    rng = np.random.default_rng(1)
    ties = np.array([[0.5, -0.5], [0.5, 2.0], [-1.0, 0.25]])
    spread = np.array([1.0, 10.0, 100.0])
    cases = [(f"the lecture's toy, k = {k}: prune exactly k weights, the smallest |w|",
              TOY_W, TOY_X, k) for k in range(7)]
    cases += [(f"equal |w|, k = {k}: the one first in W.flatten() goes first", ties, spread, k)
              for k in range(7)]
    big = np.round(rng.normal(size=(6, 4)), 1)  # 24 weights, many equal magnitudes
    cases += [(f"a 6x4 layer with many equal |w|, k = {k}", big, np.arange(1.0, 7.0) ** 2, k)
              for k in (3, 9, 15, 20)]
    cases += [
        ("the sign does not matter, only |w|", np.array([[-3.0, 0.1], [0.2, -0.05], [4.0, -2.0]]),
         np.array([2.0, -1.0, 0.5]), 2),
        ("negative inputs", TOY_W, np.array([-1.0, 3.0, -2.0]), 3),
    ]
    if thorough:
        for i in range(40):
            shape = (int(rng.integers(1, 7)), int(rng.integers(1, 5)))
            W = np.round(rng.normal(size=shape), int(rng.integers(0, 2)))
            cases.append((f"random {i}", W, rng.normal(size=shape[0]),
                          int(rng.integers(0, W.size + 1))))
    for name, W, x, k in cases:
        yield name, lambda W=W, x=x, k=k: _toy(f, W, x, k)


# ---- 2. magnitude_mask -------------------------------------------------------------------------

def _mask(f, weight, sparsity):
    before = weight.detach().clone()
    mask = f(weight, sparsity)
    return {"mask": mask, "dtype": str(mask.dtype),
            "weight unchanged": bool(torch.equal(weight.detach(), before))}


def probe_magnitude_mask(ns, thorough):
    f = ns["magnitude_mask"]
    gen = torch.Generator().manual_seed(0)
    example = torch.randn(3, 4, generator=gen)
    layer = nn.Linear(8, 4)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(4, 8, generator=gen))
    cases = [
        ("sparsity 0.5 of 12 weights", example, 0.5),
        ("sparsity 0 keeps everything", example, 0.0),
        ("ten equal weights at sparsity 0.3: the first three (stable order)", torch.ones(10), 0.3),
        ("weights already zero tie: the first ones go first",
         torch.tensor([0.0, 0.0, 0.0, 0.5, -0.2, 0.0, 0.9]), 0.43),
        ("prune by magnitude |w|, not by value",
         torch.tensor([[-5.0, 0.1], [0.2, -0.05]]), 0.5),
        ("round(2.5) = 2: Python's round", torch.arange(1.0, 11.0), 0.25),
        ("round(3.5) = 4: Python's round", torch.arange(10.0, 0.0, -1.0), 0.35),
        ("round(0.5) = 0: Python's round", torch.tensor([3.0, -1.0]), 0.25),
        ("a float64 weight gets a float64 mask", torch.randn(6, 5, generator=gen,
                                                             dtype=torch.float64), 0.4),
        ("a layer's weight (an nn.Parameter, requires grad)", layer.weight, 0.6),
        ("a sparsity just below 1", torch.randn(40, generator=gen), 0.99),
    ]
    for shape, s in (((7,), 0.3), ((16, 1, 3, 3), 0.8), ((10, 64), 0.9), ((5, 5), 0.04),
                     ((33,), 0.97)):
        cases.append((f"shape {shape}, sparsity {s}", torch.randn(shape, generator=gen), s))
    cases += [(f"sparsity {s} is outside [0, 1): ValueError", example, s)
              for s in (1.0, -0.1, 1.5)]
    if thorough:
        rng = np.random.default_rng(2)
        for i in range(40):
            shape = tuple(int(v) for v in rng.integers(1, 9, size=int(rng.integers(1, 4))))
            w = torch.from_numpy(np.round(rng.normal(size=shape), int(rng.integers(0, 3))))
            cases.append((f"random {i}", w.float(), float(rng.choice([0.0, 0.1, 0.25, 0.5,
                                                                       0.75, 0.9, 0.95]))))
    for name, weight, sparsity in cases:
        yield name, lambda weight=weight, sparsity=sparsity: _mask(f, weight, sparsity)


# ---- 3. global_masks ---------------------------------------------------------------------------

def _digits(width: float, seed: int) -> models.DigitsCNN:
    torch.manual_seed(seed)
    return models.digits_cnn(width)


def _constant() -> nn.Module:
    net = _digits(1.0, 0)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.fill_(0.25 if name.endswith("weight") else 0.0)
    return net


def _rounded() -> nn.Module:
    net = _digits(1.0, 4)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.round(p * 20) / 20)  # few distinct magnitudes: ties across layers
    return net


def _with_batchnorm() -> nn.Module:
    torch.manual_seed(6)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 6 * 6, 10, bias=False))
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([0.001, 0.002, 5.0, 0.003]))  # tiny BN scales
    return net


def _ten_weights() -> nn.Module:
    torch.manual_seed(7)
    return nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 3))  # 4 + 6 weights


def _global(f, build, sparsity):
    net = build()
    before = _state(net)
    masks = f(net, sparsity)
    after = _state(net)
    return {"masks": _plain_dict(masks), "net unchanged": all(
        torch.equal(before[k], after[k]) for k in before) and before.keys() == after.keys()}


def probe_global_masks(ns, thorough):
    f = ns["global_masks"]
    cases = [(f"the digits CNN at sparsity {s}: one threshold over all weights, smallest first",
              lambda: _digits(1.0, 3), s) for s in (0.0, 0.3, 0.5, 0.8, 0.95)]
    cases += [
        ("the trained course CNN at 80%, as in the notebook",
         lambda: recipes.course_model(seed=0), 0.8),
        ("the course-width CNN at 80%", lambda: _digits(2.0, 0), 0.8),
        ("as prune.global_unstructured at 70%", lambda: _digits(1.0, 3), 0.7),
        ("all weights equal: ties go in named_parameters() order, then flat index",
         _constant, 0.3),
        ("all weights equal, 90%", _constant, 0.9),
        ("many equal magnitudes across layers", _rounded, 0.5),
        ("only Conv2d and Linear weights: batch norm's weight is not pruned", _with_batchnorm,
         0.5),
        ("round(2.5) = 2 weights of 10: Python's round", _ten_weights, 0.25),
        ("round(3.5) = 4 weights of 10", _ten_weights, 0.35),
    ]
    cases += [(f"sparsity {s} is outside [0, 1): ValueError", lambda: _digits(1.0, 3), s)
              for s in (1.0, -0.1, 1.5)]
    if thorough:
        rng = np.random.default_rng(3)
        for i in range(25):
            cases.append((f"random {i}", lambda seed=10 + i: _digits(
                [0.5, 1.0, 1.5][seed % 3], seed), float(rng.uniform(0, 0.99))))
    for name, build, sparsity in cases:
        yield name, lambda build=build, sparsity=sparsity: _global(f, build, sparsity)


# ---- 5. iterative_prune ------------------------------------------------------------------------

def _iterative(f, data, width, schedule, epochs, lr, seed):
    net = _digits(width, 5)
    if seed is None:  # the default seed
        masks = f(net, data, schedule=schedule, epochs=epochs, lr=lr)
    else:
        masks = f(net, data, schedule=schedule, epochs=epochs, lr=lr, seed=seed)
    return {"masks": _plain_dict(masks), "net after": _state(net)}


def probe_iterative_prune(ns, thorough):
    f = ns["iterative_prune"]
    data = subset(load_digits_split().train, 10, seed=0)  # 100 images: two batches an epoch
    cases = [
        ("two steps: prune, fine-tune with the masks re-applied after every step; "
         "return the last masks", 1.0, (0.5, 0.7), 1, 1e-2, 0),
        ("one step at 60%, two epochs, at the lr and seed given", 1.0, (0.6,), 2, 2e-3, 3),
        ("epochs=0: the net is only pruned, in place", 1.0, (0.5, 0.8), 0, 1e-2, 0),
        ("the course-width CNN, three steps", 2.0, (0.3, 0.6, 0.9), 1, 5e-3, 1),
        ("seed defaults to 0", 1.0, (0.4,), 1, 1e-2, None),
    ]
    if thorough:
        rng = np.random.default_rng(4)
        for i in range(6):
            schedule = tuple(sorted(float(s) for s in rng.uniform(0, 0.95,
                                                                  size=int(rng.integers(1, 4)))))
            cases.append((f"random {i}", 0.5, schedule, int(rng.integers(0, 3)),
                          float(rng.choice([1e-3, 1e-2])), int(rng.integers(0, 5))))
    for name, width, schedule, epochs, lr, seed in cases:
        yield name, lambda width=width, schedule=schedule, epochs=epochs, lr=lr, seed=seed: \
            _iterative(f, data, width, schedule, epochs, lr, seed)


# ---- 6. bitmask_encode -------------------------------------------------------------------------

def _sparse(shape, sparsity, seed):
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(shape, generator=gen)
    order = torch.argsort(w.abs().flatten(), stable=True)
    w.view(-1)[order[:round(sparsity * w.numel())]] = 0
    return w


def _encode(f, weight):
    before = weight.detach().clone()
    result = f(weight)
    if isinstance(result, tuple | list):
        result = list(result)
    return {"encoding": result, "weight unchanged": bool(torch.equal(weight.detach(), before))}


def probe_bitmask_encode(ns, thorough):
    f = ns["bitmask_encode"]
    negative_zero = _sparse((5, 5), 0.6, 2)
    with torch.no_grad():
        negative_zero *= torch.where(torch.arange(25).view(5, 5) % 2 == 0, -1.0, 1.0)
    layer = nn.Linear(12, 4)
    with torch.no_grad():
        layer.weight.copy_(_sparse((4, 12), 0.75, 3))
    cases = [
        ("13 weights: two mask bytes, the first weight in the most significant bit",
         torch.tensor([0.0, 1.5, 0, 0, -2.0, 0, 0, 0, 0, 3.25, 0, 0, 0])),
        ("all zeros: no values", torch.zeros(9)),
        ("no zeros, negative values", torch.tensor([[-1.0, 2.0], [0.0, -0.5]])),
        ("8 weights: exactly one mask byte", torch.tensor([0.0, 1, 0, 1, 1, 0, 0, 1])),
        ("one weight", torch.tensor([0.75])),
        ("a pruned conv weight (16, 1, 3, 3), 80% zeros", _sparse((16, 1, 3, 3), 0.8, 0)),
        ("a pruned fc weight (10, 32)", _sparse((10, 32), 0.5, 1)),
        ("a pruned weight's -0.0 is zero too", negative_zero),
        ("a layer's weight (an nn.Parameter, requires grad)", layer.weight),
        ("a float64 weight: values stored as float32",
         torch.tensor([0.1, 0.0, -1e-3, 2.5], dtype=torch.float64)),
        ("a transposed weight: flat order is weight.flatten()'s", _sparse((6, 4), 0.5, 4).t()),
    ]
    if thorough:
        rng = np.random.default_rng(5)
        for i in range(30):
            shape = tuple(int(v) for v in rng.integers(1, 12, size=int(rng.integers(1, 4))))
            cases.append((f"random {i}", _sparse(shape, float(rng.uniform(0, 0.99)), 100 + i)))
    for name, weight in cases:
        yield name, lambda weight=weight: _encode(f, weight)


# ---- 7. prune_channels -------------------------------------------------------------------------

def _six_ten() -> models.DigitsCNN:
    torch.manual_seed(9)
    return models.DigitsCNN((6, 10), 16)


def _tied() -> models.DigitsCNN:
    """A DigitsCNN((6, 10), 16) whose channels share L2 norms (sign flips of one kernel)."""
    torch.manual_seed(8)
    net = models.DigitsCNN((6, 10), 16)
    with torch.no_grad():
        base1 = torch.randn(1, 3, 3)
        for c, scale in enumerate([1.0, -1.0, 2.0, 1.0, 3.0, -2.0]):
            net.features[0].weight[c] = scale * base1
        base2 = torch.randn(6, 3, 3)
        for c, scale in enumerate([2.0, 1.0, -1.0, 3.0, 1.0, 2.0, -2.0, -1.0, 4.0, 1.0]):
            net.features[3].weight[c] = scale * base2
    return net


def _channels(f, build, amount):
    net = build()
    before = _state(net)
    small = f(net, amount)
    after = _state(net)
    return {"class": type(small).__name__, "channels": list(small.channels),
            "weights": _state(small), "net unchanged": all(
                torch.equal(before[k], after[k]) for k in before)}


def probe_prune_channels(ns, thorough):
    f = ns["prune_channels"]
    cases = [(f"the course-width CNN, amount {a}: the strongest channels, in their order; conv2 "
              "and fc1 lose the inputs of the dropped channels", lambda: _digits(2.0, 0), a)
             for a in (0.5, 0.25, 0.8)]
    cases += [
        ("the trained course CNN at 50%, as in the notebook",
         lambda: recipes.course_model(seed=0), 0.5),
        ("amount 0: an equal copy", lambda: _digits(2.0, 0), 0.0),
        ("the width-1 CNN at 60%", lambda: _digits(1.0, 1), 0.6),
        ("round(1.5) = 2 and round(2.5) = 2 channels: Python's round",
         _six_ten, 0.25),
        ("equal norms: the lower index is dropped first", _tied, 0.3),
        ("equal norms, half the channels", _tied, 0.5),
    ]
    if thorough:
        rng = np.random.default_rng(6)
        for i in range(20):
            cases.append((f"random {i}", lambda seed=20 + i: _digits([1.0, 2.0][seed % 2], seed),
                          float(rng.uniform(0, 0.9))))
    for name, build, amount in cases:
        yield name, lambda build=build, amount=amount: _channels(f, build, amount)


# ---- 9. csr_matvec ------------------------------------------------------------------------------

def _csr(rows: int, cols: int, density: float, seed: int, low: int = -128):
    """Return (values int8, index uint16, count uint16) of a random int8 matrix, rows in order."""
    rng = np.random.default_rng(seed)
    dense = rng.integers(low, 128, (rows, cols)) * (rng.random((rows, cols)) < density)
    nonzero = dense != 0
    index = np.broadcast_to(np.arange(cols), dense.shape)[nonzero]
    return (dense[nonzero].astype(np.int8), index.astype(np.uint16),
            nonzero.sum(axis=1).astype(np.uint16))


def _matvec(f, values, index, count, x):
    before = [np.array(a, copy=True) for a in (values, index, count, x)]
    result = f(values, index, count, x)
    unchanged = all(np.array_equal(a, b) for a, b in zip((values, index, count, x), before,
                                                         strict=True))
    return {"sums": np.asarray(result).astype(np.int64) if isinstance(result, np.ndarray)
            else result, "is an integer array": isinstance(result, np.ndarray)
            and result.dtype.kind in "iu", "inputs unchanged": unchanged}


def probe_csr_matvec(ns, thorough):
    f = ns["csr_matvec"]
    u16, i8 = np.uint16, np.int8
    rng = np.random.default_rng(9)
    w, ix, n = _csr(10, 64, 0.12, 1)
    wide = _csr(300, 256, 1.0, 2, low=-128)
    cases = [
        ("the notebook's example: rows 0 and 2, an empty row between",
         np.array([3, -128, 5, 127], i8), np.array([1, 3, 0, 2], u16), np.array([2, 0, 2], u16),
         np.array([-128, 7, 100, -128], i8)),
        ("-128 * -128 many times: widen before multiplying and summing",
         np.full(40, -128, i8), np.zeros(40, u16), np.array([40], u16), np.array([-128], i8)),
        ("an empty first and last row", np.array([7, -2], i8), np.array([0, 1], u16),
         np.array([0, 2, 0], u16), np.array([3, -4], i8)),
        ("every row empty", np.zeros(0, i8), np.zeros(0, u16), np.zeros(4, u16),
         np.arange(5, dtype=i8)),
        ("one input used by several rows, indices out of order",
         np.array([1, 2, 3, 4, 5], i8), np.array([2, 0, 2, 2, 1], u16),
         np.array([3, 1, 1], u16), np.array([10, -20, 30], i8)),
        ("int16 inputs (a convolution's input with its zero point added)",
         w, ix, n, rng.integers(-255, 256, 64).astype(np.int16)),
        ("a pruned fully connected layer, int8 inputs", w, ix, n,
         rng.integers(-128, 128, 64).astype(i8)),
        ("more than 65,535 weights: the running position outgrows uint16", *wide,
         np.random.default_rng(3).integers(-128, 128, 256).astype(i8)),
    ]
    if thorough:
        for i in range(30):
            rows, cols = (int(v) for v in rng.integers(1, 40, 2))
            csr = _csr(rows, cols, float(rng.uniform(0, 1)), 100 + i)
            x = rng.integers(-300, 300, cols).astype(np.int16 if i % 2 else np.int32)
            cases.append((f"random {i}", *csr, x if i % 2 else np.clip(x, -128, 127).astype(i8)))
    for name, *args in cases:
        yield name, lambda args=args: _matvec(f, *args)


# ---- 9. PREDICTED_SPEED -------------------------------------------------------------------------

def probe_PREDICTED_SPEED(ns, thorough):
    ranking = ns["PREDICTED_SPEED"]
    yield ("rank flash and instructions, each a list of the three models once",
           lambda: {"keys": sorted(map(str, ranking)),
                    "models": {str(k): sorted(map(str, ranking[k])) for k in sorted(map(str, ranking))}})
    yield "flash: what does CSR store for each nonzero weight, and what does a narrower net drop?", \
        lambda: [str(v) for v in ranking["flash"]]
    yield "instructions: count what one multiply-accumulate costs in each kernel, not only how many", \
        lambda: [str(v) for v in ranking["instructions"]]
