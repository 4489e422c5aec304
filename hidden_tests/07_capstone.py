"""Hidden tests of lesson 07_capstone (instructor only; see README.md).

The capstone is graded by measurement: the judge (a process no student code ran in) rebuilds
the firmware from the submitted model, runs it under QEMU on held-out frames and scores it by
``edgecourse.deploy.device_budget.RULE``. The held-out frames come from test digits the student's
visible frames leave out, drawn with a seed that only this file holds.
"""

import math

import numpy as np

HELD_SEED = 70_517  # instructor only: the held-out frames' positions, angles and noise
HELD_COPIES = 3  # frames per held-out digit

FORBIDDEN = {
    "model_macs": ("edgecourse.lab.pruning:count_macs", "edgecourse.deploy.tflite_model:count_macs",
                   "edgecourse.lab.budgets:activation_trace"),
    "fit_line": ("numpy:polyfit", "numpy.polynomial.polynomial:polyfit", "numpy.linalg:lstsq",
                 "numpy.linalg:pinv", "numpy.linalg:solve", "numpy.linalg:inv",
                 "scipy.stats:linregress", "sklearn.linear_model:LinearRegression"),
    # Reading the held-out digits (or the 8x8 test split they come from) is reading test labels.
    "capstone": ("edgecourse.lab.sensor_digits:held_out_digits",
                 "edgecourse.lab.data:load_digits_split", "sklearn.datasets:load_digits"),
}
FORBIDDEN_WHY = {"capstone": "which reads the test digits the held-out frames come from (the "
                             "test labels)"}
TOLERANCE = {"fit_line": {"rtol": 1e-9, "atol": 1e-9}}
TIMEOUT = {"capstone": 300}


def probe_model_macs(ns, thorough):
    f = ns["model_macs"]
    cases = [
        ("the baseline: width 2 on the full frame", (2.0, 1)),
        ("width 1, pooled to 8x8", (1.0, 2)),
        ("width 1.5 rounds its channels (12 and 24, 48 hidden units)", (1.5, 2)),
        ("pooled to 4x4", (2.0, 4)),
        ("width 0.3: at least one channel", (0.3, 1)),
        ("a quarter of the conv channels pruned", (2.0, 2, 0.25)),
        ("pruning rounds the channels it drops", (1.5, 1, 0.3)),
        ("pruning keeps the hidden units", (1.0, 4, 0.5)),
        ("no pruning by default", (0.75, 2)),
        ("pool 3 does not divide the frame: ValueError", (1.0, 3)),
        ("width 0: ValueError", (0.0, 1)),
        ("pruning everything: ValueError", (1.0, 1, 1.0)),
        ("negative pruning: ValueError", (1.0, 1, -0.1)),
    ]
    if thorough:
        rng = np.random.default_rng(7)
        cases += [(f"random {i}", (float(rng.choice([0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0])),
                                   int(rng.choice([1, 2, 4])), float(rng.choice([0.0, 0.1, 0.25, 0.5]))))
                  for i in range(30)]
    for name, args in cases:
        yield name, lambda args=args: f(*args)


def probe_fit_line(ns, thorough):
    f = ns["fit_line"]
    rng = np.random.default_rng(3)
    macs = np.array([92_000.0, 365_000.0, 25_000.0])
    cases = [
        ("three points on a line", [1.0, 2.0, 3.0], [5.0, 7.0, 9.0]),
        ("instructions against MACs", macs, 2.6 * macs + 4_000 + np.array([300.0, -500.0, 200.0])),
        ("two points", [0.0, 10.0], [1.0, 3.0]),
        ("a flat line", [1.0, 2.0, 5.0], [4.0, 4.0, 4.0]),
        ("the x values in any order", [3.0, 1.0, 2.0, 10.0], [1.0, 0.0, 2.0, 8.0]),
        ("ints work too", [1, 2, 3, 4], [2, 4, 7, 8]),
        ("one x value only: ValueError", [2.0, 2.0, 2.0], [1.0, 2.0, 3.0]),
        ("x and y of different lengths: ValueError", [1.0, 2.0, 3.0], [1.0, 2.0]),
        ("one point: ValueError", [1.0], [1.0]),
    ]
    if thorough:
        for i in range(30):
            n = int(rng.integers(2, 12))
            x = rng.uniform(0, 1e6, n)
            cases.append((f"random {i}", x, rng.uniform(1, 5) * x + rng.normal(0, 1e4, n)))
    for name, x, y in cases:
        def call(x=x, y=y):
            before = (np.array(x, copy=True), np.array(y, copy=True))
            result = f(x, y)
            return {"result": [float(v) for v in result], "inputs unchanged": bool(
                np.array_equal(np.asarray(x), before[0]) and np.array_equal(np.asarray(y), before[1]))}
        yield name, call


def probe_BASELINE_MISSES(ns, thorough):
    def misses():
        value = ns["BASELINE_MISSES"]
        return sorted(value) if isinstance(value, list | tuple | set | frozenset) else value
    yield "the limits the measured baseline misses", misses


# ---- PLAN: judged on its own terms (any good plan is right) ----------------------------------
PLAN_KEYS = {"width", "pool", "channel_prune", "distill", "predicted"}
PREDICTED_KEYS = {"flash", "ram", "instructions", "accuracy"}
# Instructions any cost line of the generated C gives for a model of this family: measured from
# 2.7 per MAC (width 2 at 8x8) to 6.3 (width 0.5 at 16x16), with a fixed part of some 30,000.
PER_MAC, FIXED = (1.5, 5.0), 60_000


def probe_PLAN(ns, thorough):
    yield "your plan", lambda: ns["PLAN"]


def _as_dict(value, what: str) -> dict:
    from edgecourse.grading import plain

    if not isinstance(value, plain.Mapping):
        raise ValueError(f"{what} must be a dict")
    return dict(value.items)


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _plan_problem(got) -> str | None:
    from edgecourse.deploy.device_budget import BUDGET
    from edgecourse.lab.models import SensorCNN
    from edgecourse.lab.pruning import count_macs, prune_channels

    plan = _as_dict(got, "PLAN")
    if set(plan) != PLAN_KEYS:
        return f"PLAN needs exactly the keys {sorted(PLAN_KEYS)}"
    width, pool, prune, distill = (plan[k] for k in ("width", "pool", "channel_prune", "distill"))
    if not (_number(width) and width > 0 and pool in (1, 2, 4) and not isinstance(pool, bool)
            and _number(prune) and 0 <= prune < 1 and isinstance(distill, bool)):
        return "width must be positive, pool 1, 2 or 4, channel_prune in [0, 1), distill a bool"
    predicted = _as_dict(plan["predicted"], "PLAN['predicted']")
    if set(predicted) != PREDICTED_KEYS or not all(_number(v) for v in predicted.values()):
        return f"PLAN['predicted'] needs a number for each of {sorted(PREDICTED_KEYS)}"
    techniques = [pool > 1, width != 2.0, prune > 0, distill]
    if sum(techniques) < 2:
        return ("the plan uses fewer than two of: a lower input resolution, another width, "
                "channel pruning, distillation (one technique does not meet this budget)")
    over = [k for k, limit in (("flash", BUDGET.flash_bytes), ("ram", BUDGET.ram_bytes),
                               ("instructions", BUDGET.instructions)) if predicted[k] > limit]
    if over or predicted["accuracy"] < BUDGET.accuracy:
        return f"the plan predicts missing the budget ({', '.join(over) or 'accuracy'})"
    try:
        net = SensorCNN(float(width), int(pool))
        if prune:
            net.cnn = prune_channels(net.cnn, float(prune))
    except ValueError as error:
        return f"that model cannot be built: {error}"
    macs = count_macs(net, (1, 1, 16, 16))
    low, high = PER_MAC[0] * macs, PER_MAC[1] * macs + FIXED
    if not low <= predicted["instructions"] <= high:
        return (f"the predicted instructions are not what a cost line of the generated C gives "
                f"for this model (at least {PER_MAC[0]:g} per MAC, at most {PER_MAC[1]:g} per MAC "
                f"plus {FIXED:,})")
    weights = sum(p.numel() for name, p in net.named_parameters() if name.endswith("weight"))
    if predicted["flash"] < weights:
        return "the predicted flash is below the planned model's int8 weights alone"
    return None


def judge_PLAN(case, got, want):
    try:
        return _plan_problem(got)
    except ValueError as error:
        return str(error)


# ---- capstone: measured on the emulated Cortex-M4 --------------------------------------------
def setup_capstone(ns):
    from edgecourse.lab.sensor_digits import load_sensor_task

    # The task's frames, made before the answer runs (they are the lesson's): the answer may
    # use them, but reading the 8x8 split they come from is forbidden.
    load_sensor_task()


def probe_capstone(ns, thorough):
    def submission():
        return {"model": ns["build_submission"](), "sparse": ns.get("SPARSE", False) is True,
                "codebook": ns.get("CODEBOOK", False) is True}
    yield "your submission", submission


def score_capstone(cases):
    from edgecourse.deploy import device_budget
    from edgecourse.deploy.firmware import toolchain
    from edgecourse.grading import plain
    from edgecourse.grading.verdicts import GraderError
    from edgecourse.lab.sensor_digits import frames, held_out_digits

    for tool in ("arm-none-eabi-gcc", "qemu-system-arm"):
        try:
            toolchain.require_tool(tool)
        except RuntimeError as error:
            raise GraderError(str(error)) from error
    got = cases.get("your submission")
    if isinstance(got, plain.Raised):
        raise ValueError(f"build_submission raises {got.names[0]}: no model to build")
    submission = _as_dict(got, "the submission")
    if not isinstance(submission.get("model"), bytes):
        raise ValueError("build_submission must return the model's .tflite bytes (to_tflite's)")
    held = frames(held_out_digits(), HELD_COPIES, HELD_SEED)
    measured = device_budget.measure(submission["model"], held.X, held.y,
                                     sparse=submission["sparse"], codebook=submission["codebook"])
    earned = device_budget.points(measured)
    lines = [f"your model's firmware, built by the grader and run under QEMU on "
             f"{measured.frames} held-out frames:", *device_budget.table(measured).splitlines(),
             f"rule: {device_budget.RULE}",
             f"{earned:g} of {device_budget.MAX_POINTS:g} by that rule"]
    numbers = {"flash_bytes": measured.flash_bytes, "ram_bytes": measured.ram_bytes,
               "instructions": measured.instructions, "accuracy": measured.accuracy}
    return earned / device_budget.MAX_POINTS, lines, numbers
