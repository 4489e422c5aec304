"""Hidden tests of lesson 01_flash_budgets (instructor only; see README.md)."""

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from edgecourse.lab import budgets
from edgecourse.lab.budgets import KIB, MB, MIB
from edgecourse.lab.models import COURSE_WIDTH, digits_cnn

DTYPES = ("fp32", "fp16", "int8", "int4")

# The seed's ten networks: (seed #Params in millions, counted with head, counted without head),
# the counts as budgets.reference_table() finds them (literal here: no network to build).
SEED_COUNTS = {
    "alexnet": (61.1, 61_100_840, 2_469_696),
    "vgg19": (20.08, 143_667_240, 20_024_384),
    "inception_v3": (6.25, 27_161_264, 25_112_264),
    "resnet18": (11.22, 11_689_512, 11_176_512),
    "resnet50": (23.7, 25_557_032, 23_508_032),
    "resnet101": (42.7, 44_549_160, 42_500_160),
    "resnet152": (58.34, 60_192_808, 58_143_808),
    "densenet121": (7.05, 7_978_856, 6_953_856),
    "densenet169": (12.64, 14_149_480, 12_484_480),
    "densenet201": (18.28, 20_013_928, 18_092_928),
}
SQUEEZE11_10 = 727_626  # squeezenet1_1 parameters with a 10-class head
SQUEEZE11_11 = 728_139  # ... with an 11-class head (odd: int4 leaves a half-filled byte)

FORBIDDEN = {
    "weight_bytes": ("edgecourse.lab.budgets:param_bytes", "edgecourse.lab.budgets:dtype_bits"),
    "count_parameters": ("edgecourse.lab.budgets:count_params",
                         "edgecourse.lab.budgets:reference_model"),
    "peak_activation": ("edgecourse.lab.budgets:peak_activation_bytes",
                        "edgecourse.lab.budgets:activation_trace"),
    "fitting_architectures": ("edgecourse.lab.budgets:param_bytes",
                              "edgecourse.lab.budgets:dtype_bits",
                              "edgecourse.lab.budgets:count_params",
                              "edgecourse.lab.budgets:reference_model",
                              "edgecourse.lab.budgets:reference_table",
                              "edgecourse.lab.budgets:flash_candidates"),
    "largest_input_that_fits": ("edgecourse.lab.budgets:peak_activation_bytes",
                                "edgecourse.lab.budgets:activation_trace"),
}
TOLERANCE = {"smallest_model": {"rtol": 1e-9, "atol": 0.0},
             "seed_match": {"rtol": 0.0, "atol": 0.0}}


# ---- 1. weight_bytes ---------------------------------------------------------------------------

def _error_message(f, dtype):
    try:
        f(10, dtype)
    except ValueError as error:
        return {"raises ValueError": True,
                "message names the known dtypes": [d in str(error) for d in DTYPES]}
    return {"raises ValueError": False}


def probe_weight_bytes(ns, thorough):
    f = ns["weight_bytes"]
    yield "1000 weights at each dtype", lambda: [f(1000, d) for d in DTYPES]
    yield "an odd count at int4: a half-filled byte is still a byte", \
        lambda: [f(n, "int4") for n in (1, 3, 5, 7, 9, 11, 13_705)]
    yield "no weights take no bytes", lambda: [f(0, d) for d in DTYPES]
    for n in (1, 2, 7, 13_706, 61_100_840, 143_667_241):
        yield f"{n:,} weights at each dtype", lambda n=n: [f(n, d) for d in DTYPES]
    yield "return an int: flash holds whole bytes", \
        lambda: [type(f(n, d)).__name__ for n in (5, 1000) for d in DTYPES]
    for bad in ("int3", "uint8", "float64", "float32", "FP32", "int8x", ""):
        yield f"an unknown dtype ({bad!r}) raises ValueError", lambda bad=bad: f(10, bad)
    yield "the ValueError's message lists the known dtypes", lambda: _error_message(f, "int3")
    if thorough:
        rng = np.random.default_rng(1)
        for i in range(40):
            n = int(rng.integers(0, 10 ** int(rng.integers(1, 10))))
            yield f"random {i}", lambda n=n: [f(n, d) for d in DTYPES]


# ---- 2. count_parameters -----------------------------------------------------------------------

def _tiny():
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def _named():
    return nn.Sequential(OrderedDict(features=nn.Conv2d(1, 4, 3), classifier=nn.Linear(4, 10)))


def _head_not_last():
    # The head is found by its name, not by its position among the children.
    return nn.Sequential(OrderedDict(features=nn.Conv2d(1, 4, 3), pool=nn.AdaptiveAvgPool2d(1),
                                     flat=nn.Flatten(), fc=nn.Linear(4, 7), soft=nn.Softmax(1)))


def _frozen():
    net = nn.Sequential(OrderedDict(features=nn.Linear(5, 3), classifier=nn.Linear(3, 2)))
    net.features.requires_grad_(False)
    return net


def _shared():
    shared = nn.Linear(3, 3)
    return nn.Sequential(shared, nn.ReLU(), shared)


def _count(f, build, *args):
    net = build()
    result = f(net, *args)
    return {"count": result, "type": type(result).__name__}


def probe_count_parameters(ns, thorough):
    f = ns["count_parameters"]
    torch.manual_seed(0)
    cases = [
        ("a Linear(i, o) has i*o weights and o biases", _tiny, ()),
        ("resnet18 (meta): torchvision's published count", lambda: budgets.build_architecture(
            "resnet18"), ()),
        ("resnet18 without its fc head", lambda: budgets.build_architecture("resnet18"), (False,)),
        ("batch norm learns a weight and a bias per channel; its running statistics are buffers",
         lambda: nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8)), ()),
        ("count every weight and every bias", _named, ()),
        ("leave out the `classifier` head", _named, (False,)),
        ("include_head=True keeps the head", _named, (True,)),
        ("the head is budgets.classifier_head(net), whatever comes after it", _head_not_last,
         (False,)),
        ("frozen weights (requires_grad=False) are parameters too", _frozen, ()),
        ("frozen weights, without the head", _frozen, (False,)),
        ("a layer used twice stores its weights once", _shared, ()),
        ("densenet121 (meta), with its head", lambda: budgets.build_architecture("densenet121"),
         ()),
        ("densenet121 without its classifier head",
         lambda: budgets.build_architecture("densenet121"), (False,)),
        ("vgg19 without its head: all three fully connected layers go",
         lambda: budgets.build_architecture("vgg19"), (False,)),
        ("mobilenet_v2 with a 10-class head, without it",
         lambda: budgets.build_architecture("mobilenet_v2", num_classes=10), (False,)),
        ("squeezenet1_1 with a 10-class head",
         lambda: budgets.build_architecture("squeezenet1_1", num_classes=10), ()),
        ("the digits CNN", lambda: digits_cnn(COURSE_WIDTH), ()),
        ("the digits CNN without its classifier", lambda: digits_cnn(1.0), (False,)),
    ]
    if thorough:
        rng = np.random.default_rng(2)
        for i in range(20):
            a, b, c = (int(v) for v in rng.integers(1, 30, size=3))
            bias = bool(rng.integers(0, 2))
            cases.append((f"random {i}", lambda a=a, b=b, c=c, bias=bias: nn.Sequential(
                OrderedDict(body=nn.Linear(a, b, bias=bias), norm=nn.BatchNorm1d(b),
                            classifier=nn.Linear(b, c))), (bool(i % 2),)))
    for name, build, args in cases:
        yield name, lambda build=build, args=args: _count(f, build, *args)


# ---- 3. seed_match -----------------------------------------------------------------------------

def probe_seed_match(ns, thorough):
    f = ns["seed_match"]
    cases = [
        ("AlexNet: 61.1 M is the whole network", (61.1, 61_100_840, 58_631_144)),
        ("Inception v3: 6.25 M matches neither", (6.25, 27_161_264, 25_112_264)),
        ("1.0 M is 1 % from 1,010,000", (1.0, 2_000_000, 1_010_000)),
        ("VGG19: compare relatively, in the same unit", (20.08, 143_667_240, 20_024_384)),
        ("1.9 % apart is within rtol=0.02", (1.0, 1_019_000, 5_000_000)),
        ("2.1 % apart is outside rtol=0.02", (1.0, 1_021_000, 5_000_000)),
        ("both within 2 %: the closer wins", (10.0, 10_100_000, 9_950_000)),
        ("both within 2 %, the closer one without the head", (10.0, 10_150_000, 9_990_000)),
        ("closer means the smaller relative difference", (10.0, 10_101_000, 9_900_000)),
        ("exactly rtol apart is still within rtol", (1.02, 1_000_000, 5_000_000)),
        ("relative to the count, not to the seed's figure (inside)", (1.0, 1_020_400, 5_000_000)),
        ("relative to the count, not to the seed's figure (outside)",
         (1.0, 980_200, 5_000_000)),
        ("a count above and one below the figure", (5.0, 5_050_000, 4_900_000)),
        ("use the rtol argument", (100.0, 104_000_000, 50_000_000, 0.05)),
        ("a tight rtol", (100.0, 100_500_000, 99_000_000, 0.001)),
        ("rtol=0: only an exact match", (2.5, 2_500_000, 2_400_000, 0.0)),
    ]
    cases += [(f"the seed's {name}", (seed, with_head, without_head))
              for name, (seed, with_head, without_head) in SEED_COUNTS.items()]
    if thorough:
        rng = np.random.default_rng(3)
        for i in range(60):
            seed = round(float(rng.uniform(0.5, 50)), 2)
            counts = [int(seed * 1e6 * rng.uniform(0.95, 1.05)) for _ in range(2)]
            cases.append((f"random {i}", (seed, *counts, float(rng.choice([0.01, 0.02, 0.04])))))
    for name, args in cases:
        yield name, lambda args=args: f(*args)


# ---- 4. smallest_model -------------------------------------------------------------------------

def setup_smallest_model(ns):
    """The notebook's `table` (built by a cell that is not part of any context)."""
    ns["table"] = {row.name: row for row in budgets.reference_table()}


def probe_smallest_model(ns, thorough):
    yield "the fewest counted parameters, with the head", lambda: ns["smallest_model"]
    yield "times_1mb: its fp32 bytes over 10**6", lambda: ns["times_1mb"]
    yield "times_1mib: its fp32 bytes over 2**20", lambda: ns["times_1mib"]


# ---- 5. peak_activation ------------------------------------------------------------------------

def _peak(f, build, shape, *args):
    torch.manual_seed(0)
    net = build()
    result = f(net, shape, *args)
    return {"peak": result, "type": type(result).__name__,
            "hooks left": sum(len(m._forward_hooks) for m in net.modules())}


def _tiny_conv():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64, 10))


def probe_peak_activation(ns, thorough):
    f = ns["peak_activation"]
    cases = [
        ("the busiest layer of tiny at fp32 (the default)", _tiny_conv, (1, 8, 8), ()),
        ("the busiest layer of tiny at int8", _tiny_conv, (1, 8, 8), (1,)),
        ("2 bytes per element", _tiny_conv, (1, 8, 8), (2,)),
        ("the peak is the busiest layer's, not a sum over layers",
         lambda: nn.Sequential(nn.Linear(100, 10), nn.Linear(10, 10)), (100,), (1,)),
        ("one layer's input plus its own output, not the largest input plus the largest output",
         lambda: nn.Sequential(nn.Linear(100, 10), nn.Linear(10, 200)), (100,), (1,)),
        ("hook the leaf modules only: a block's input and output are not held at once",
         lambda: nn.Sequential(nn.Sequential(nn.Linear(100, 50), nn.ReLU(), nn.Linear(50, 100))),
         (100,), (1,)),
        ("the digits CNN of width 1", lambda: digits_cnn(1.0), (1, 8, 8), (1,)),
        ("the course's digits CNN", lambda: digits_cnn(COURSE_WIDTH), (1, 8, 8), (1,)),
        ("the course's digits CNN at fp32", lambda: digits_cnn(COURSE_WIDTH), (1, 8, 8), ()),
        ("squeezenet1_0 built on the meta device, at 64x64",
         lambda: budgets.build_architecture("squeezenet1_0", num_classes=10), (3, 64, 64), (1,)),
        ("resnet18 on the meta device, at 64x64: the sample goes on the parameters' device",
         lambda: budgets.build_architecture("resnet18", num_classes=10), (3, 64, 64), (1,)),
        ("mnasnet0_5 on the meta device, at 96x96",
         lambda: budgets.build_architecture("mnasnet0_5", num_classes=10), (3, 96, 96), (4,)),
        ("squeezenet1_1 on the CPU, at 32x32",
         lambda: budgets.build_architecture("squeezenet1_1", num_classes=10, device="cpu"),
         (3, 32, 32), (1,)),
    ]
    if thorough:
        rng = np.random.default_rng(4)
        for i in range(20):
            sizes = [int(v) for v in rng.integers(1, 200, size=4)]
            cases.append((f"random {i}", lambda s=sizes: nn.Sequential(
                nn.Linear(s[0], s[1]), nn.ReLU(), nn.Sequential(nn.Linear(s[1], s[2]),
                                                                nn.Linear(s[2], s[3]))),
                (sizes[0],), (int(rng.integers(1, 5)),)))
    for name, build, shape, args in cases:
        yield name, lambda build=build, shape=shape, args=args: _peak(f, build, shape, *args)


# ---- 6. fitting_architectures ------------------------------------------------------------------

def probe_fitting_architectures(ns, thorough):
    f = ns["fitting_architectures"]
    cases = [
        ("resnet18 needs about 11 MB even at int8; squeezenet1_1 with a 10-class head fits",
         (["resnet18", "squeezenet1_1"], "int8", MIB), {}),
        ("at fp32 each weight takes 4 bytes", (["squeezenet1_1"], "fp32", MIB), {}),
        ("weights exactly as large as the flash still fit",
         (["squeezenet1_1"], "int8", SQUEEZE11_10), {}),
        ("one byte short does not fit", (["squeezenet1_1"], "int8", SQUEEZE11_10 - 1), {}),
        ("build the head with num_classes outputs",
         (["squeezenet1_1", "shufflenet_v2_x0_5"], "int4", MIB), {"num_classes": 1000}),
        ("with 1000 classes squeezenet1_1 is too big at int8",
         (["squeezenet1_1"], "int8", MIB), {"num_classes": 1000}),
        ("int4, an odd count: the half-filled last byte counts (fits exactly)",
         (["squeezenet1_1"], "int4", (SQUEEZE11_11 + 1) // 2), {"num_classes": 11}),
        ("int4, an odd count: one byte short",
         (["squeezenet1_1"], "int4", (SQUEEZE11_11 + 1) // 2 - 1), {"num_classes": 11}),
        ("at fp16", (["mnasnet0_5", "shufflenet_v2_x0_5"], "fp16", MIB), {}),
        ("keep the order of names", (["shufflenet_v2_x0_5", "mnasnet0_5"], "int8", MB), {}),
        ("keep the order of names (reversed)",
         (["mnasnet0_5", "squeezenet1_0", "shufflenet_v2_x0_5"], "int8", MB), {}),
        ("no names, nothing fits", ([], "int8", MIB), {}),
    ]
    if thorough:
        rng = np.random.default_rng(5)
        names = ["squeezenet1_1", "shufflenet_v2_x0_5", "mnasnet0_5", "squeezenet1_0"]
        for i in range(10):
            chosen = list(rng.permutation(names)[:int(rng.integers(1, 5))])
            cases.append((f"random {i}", (chosen, str(rng.choice(DTYPES)),
                                          int(rng.integers(100_000, 3_000_000))),
                          {"num_classes": int(rng.integers(1, 1001))}))
    for name, args, kwargs in cases:
        yield name, lambda args=args, kwargs=kwargs: f(*args, **kwargs)


# ---- 7. largest_input_that_fits ----------------------------------------------------------------

def _squeeze():
    torch.manual_seed(0)
    return budgets.build_architecture("squeezenet1_1", num_classes=10, device="cpu")


def _small():
    # Peak 8 s^2 elements at s x s (the ReLU: 4 s^2 in, 4 s^2 out).
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 10))


def _fixed():
    # Runs at 8x8 only: any other size fails in the Linear layer (a RuntimeError).
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 2, 3, padding=1), nn.Flatten(), nn.Linear(128, 10))


def probe_largest_input_that_fits(ns, thorough):
    f = ns["largest_input_that_fits"]
    cases = [
        ("squeezenet1_1 at int8 needs more than 256 KiB at 96x96, less at 64x64",
         _squeeze, (256 * KIB, [224, 160, 128, 96, 64]), {}),
        ("nothing fits: return None", _squeeze, (256 * KIB, [224, 160]), {}),
        ("the largest size that fits, whatever the order of sizes",
         _squeeze, (256 * KIB, [32, 64, 96, 128]), {}),
        ("squeezenet1_1 cannot take 8x8 or 16x16 inputs: skip sizes whose forward pass fails",
         _squeeze, (256 * KIB, [8, 16, 32]), {}),
        ("use bytes_per_element: at fp32 every activation takes 4 bytes",
         _squeeze, (MIB, [32, 64, 96, 128]), {"bytes_per_element": 4}),
        ("a peak exactly as large as the SRAM fits", _small, (2048, [4, 8, 16, 32]), {}),
        ("one byte short does not fit", _small, (2047, [4, 8, 16, 32]), {}),
        ("ascending sizes: not the first that fits", _small, (10_000, [1, 2, 8, 16, 32]), {}),
        ("bytes_per_element at the edge", _small, (8192, [32, 16, 8, 4]),
         {"bytes_per_element": 4}),
        ("no sizes: None", _small, (10_000, []), {}),
        ("a size that fails is skipped, even the largest", _fixed, (10_000, [4, 8, 16]), {}),
        ("every size fails: None", _fixed, (10_000, [4, 16]), {}),
    ]
    if thorough:
        rng = np.random.default_rng(6)
        for i in range(25):
            sizes = [int(v) for v in rng.integers(1, 40, size=int(rng.integers(1, 6)))]
            cases.append((f"random {i}", _small, (int(rng.integers(10, 20_000)), sizes),
                          {"bytes_per_element": int(rng.integers(1, 5))}))
    for name, build, args, kwargs in cases:
        yield name, lambda build=build, args=args, kwargs=kwargs: f(build(), *args, **kwargs)
