"""Plausible wrong answers to lesson 07_capstone: each must lose all its exercise's points.

The capstone's weak but working submissions (one limit missed, over-fitted to the visible
frames) earn partial points by the rule; tests/grading/test_capstone_class.py grades those.
"""


def _model_macs(doc: str, channels: str, total: str) -> str:
    """model_macs with the solution's checks and sizes, and its own channels and sum."""
    return f'''
def model_macs(width: float, pool: int, channel_prune: float = 0.0) -> int:
    """{doc}"""
    if not width > 0 or pool not in (1, 2, 4) or not 0 <= channel_prune < 1:
        raise ValueError("bad arguments")
    size = 16 // pool
    c1, c2 = (max(1, round(c * width)) for c in (8, 16))
    hidden = max(1, round(32 * width))
    c1, c2 = {channels}
    return {total}
'''


def _fit_line(doc: str, body: str) -> str:
    """fit_line with the solution's checks, and its own slope and intercept."""
    return f'''
def fit_line(x, y) -> tuple[float, float]:
    """{doc}"""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or len(np.unique(x)) < 2:
        raise ValueError("need two distinct x values")
{body}'''


def _submission(doc: str, body: str) -> str:
    """A capstone answer: the route flags and build_submission with its own body."""
    return f'''
SPARSE = False
CODEBOOK = False


def build_submission() -> bytes:
    """{doc}"""
{body}'''


DROPPED = "(c - round(channel_prune * c) for c in (c1, c2))"
CONVS = "c1 * 9 * size * size + c2 * c1 * 9 * (size // 2) ** 2"

WRONG = {
    "BASELINE_MISSES": [
        'BASELINE_MISSES = ["flash", "instructions"]  # RAM forgotten\n',
        'BASELINE_MISSES = ["flash", "ram", "instructions", "accuracy"]\n',
        'BASELINE_MISSES = ["instructions"]  # only the speed\n',
    ],
    "model_macs": [
        _model_macs("The dense layers at the full frame's size, whatever the pooling.", DROPPED,
                    f"{CONVS} + c2 * 16 * hidden + hidden * 10"),
        _model_macs("Channels kept, rounded down, instead of channels dropped, rounded.",
                    "(int(c * (1 - channel_prune)) for c in (c1, c2))",
                    f"{CONVS} + c2 * (size // 4) ** 2 * hidden + hidden * 10"),
        _model_macs("The last layer (fc2) forgotten.", DROPPED,
                    f"{CONVS} + c2 * (size // 4) ** 2 * hidden"),
    ],
    "fit_line": [
        _fit_line("The line through the first and the last point.", """\
    slope = float((y[-1] - y[0]) / (x[-1] - x[0]))
    return slope, float(y[0] - slope * x[0])
"""),
        _fit_line("Regresses x on y and inverts it.", """\
    dy = y - y.mean()
    slope = float(np.sum(dy * dy) / np.sum(dy * (x - x.mean())))
    return slope, float(y.mean() - slope * x.mean())
"""),
        _fit_line("The least-squares slope, with the intercept through the first point.", """\
    dx = x - x.mean()
    slope = float(np.sum(dx * (y - y.mean())) / np.sum(dx * dx))
    return slope, float(y[0] - slope * x[0])
"""),
    ],
    "PLAN": [
        '''
PLAN = {  # one technique: pooling alone
    "width": 2.0, "pool": 2, "channel_prune": 0.0, "distill": False,
    "predicted": {"flash": 25_000, "ram": 3_500, "instructions": 190_000, "accuracy": 86.0},
}
''',
        '''
PLAN = {  # instructions guessed, not from the cost model: 1 per MAC
    "width": 2.0, "pool": 2, "channel_prune": 0.25, "distill": True,
    "predicted": {"flash": 25_000, "ram": 3_300, "instructions": 55_000, "accuracy": 86.0},
}
''',
        '''
PLAN = {  # predicts an accuracy below the budget's
    "width": 1.0, "pool": 2, "channel_prune": 0.0, "distill": True,
    "predicted": {"flash": 19_000, "ram": 2_500, "instructions": 100_000, "accuracy": 83.0},
}
''',
    ],
    "capstone": [
        _submission("The planned model, converted in float32 (it keeps the fp32 accuracy).", """\
    task = load_sensor_task()
    teacher = recipes.capstone_baseline()
    kd = distillation_loss_fn(teacher, T=4.0, alpha=0.9)
    set_seed(0)
    net = SensorCNN(2.0, 2)
    fit(net, task.train, epochs=20, seed=0, loss_fn=kd, desc="distill")
    net.cnn = prune_channels(net.cnn, 0.25)
    fit(net, task.train, epochs=5, seed=0, loss_fn=kd, desc="fine-tune")
    return to_tflite(net, task.train.X[:200], "float32")
"""),
        _submission("The frames pooled to 8x8 before the model: an 8x8 input the device does not "
                    "give.", """\
    import torch

    from edgecourse.lab.data import Split
    from edgecourse.lab.models import digits_cnn

    task = load_sensor_task()
    pooled = torch.nn.functional.avg_pool2d(task.train.X, 2)
    set_seed(0)
    net = digits_cnn(1.0)
    fit(net, Split(pooled, task.train.y), epochs=20, seed=0)
    return to_tflite(net, pooled[:200])
"""),
        _submission("Writes the model to a file and returns its name.", """\
    task = load_sensor_task()
    set_seed(0)
    net = SensorCNN(1.0, 2)
    fit(net, task.train, epochs=5, seed=0)
    Path("capstone.tflite").write_bytes(to_tflite(net, task.train.X[:200]))
    return "capstone.tflite"
"""),
        _submission("Trains on the test split's digits too (the held-out frames are drawn from "
                    "them).", """\
    import torch

    from edgecourse.lab.data import Split, load_digits_split
    from edgecourse.lab.sensor_digits import frames

    task = load_sensor_task()
    extra = frames(load_digits_split().test, 2, seed=5)
    data = Split(torch.cat([task.train.X, extra.X]), torch.cat([task.train.y, extra.y]))
    set_seed(0)
    net = SensorCNN(1.0, 2)
    fit(net, data, epochs=20, seed=0)
    return to_tflite(net, task.train.X[:200])
"""),
    ],
}
