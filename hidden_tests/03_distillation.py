"""Hidden tests of lesson 03_distillation (instructor only; see README.md)."""

import torch
from torch import nn

_KD = ("edgecourse.lab.distillation:kd_loss", "edgecourse.lab.distillation:distillation_loss_fn")
_AUTOGRAD = ("torch:Tensor.backward", "torch.autograd:backward", "torch.autograd:grad",
             "torch.autograd.graph:_engine_run_backward", "torch.autograd.functional:jacobian",
             "torch.autograd.functional:vjp", "torch.func:grad", "torch.func:vjp",
             "torch.func:jacrev")

FORBIDDEN = {
    "softmax_temperature": _KD,
    "distillation_loss": _KD,
    "soft_term_gradient": _KD + _AUTOGRAD,  # "in closed form (no autograd)"
    "distillation_step": _KD,
}
_TIGHT = {"rtol": 1e-9, "atol": 1e-12}
TOLERANCE = {"softmax_temperature": _TIGHT, "distillation_loss": _TIGHT,
             "soft_term_gradient": _TIGHT, "comparison_table": _TIGHT}


def _logits(gen, *shape, spread=3.0):
    return spread * torch.randn(*shape, generator=gen, dtype=torch.float64)


def _unchanged(*tensors):
    """Return a function telling whether the tensors still hold their values now."""
    before = [t.detach().clone() for t in tensors]
    return lambda: all(torch.equal(t.detach(), b) for t, b in zip(tensors, before, strict=True))


# ---- Exercise 1 --------------------------------------------------------------------------------

def probe_softmax_temperature(ns, thorough):
    f = ns["softmax_temperature"]
    gen = torch.Generator().manual_seed(3)

    def call(z, T):
        same = _unchanged(z)
        return {"result": f(z, T), "logits unchanged": same()}

    z = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0]], dtype=torch.float64)
    yield "the visible example at T=1", lambda: call(z, 1.0)
    yield "the visible example at T=10", lambda: call(z, 10.0)
    yield "equal logits give a uniform distribution", lambda: call(torch.zeros(1, 4,
                                                                  dtype=torch.float64), 3.0)
    batch = _logits(gen, 5, 10, spread=4.0)
    for T in (1.0, 4.0, 10.0):
        yield f"a batch of 5 images at T={T:g}: where does T go?", lambda T=T: call(batch, T)
    yield "T below 1 sharpens the distribution", lambda: call(batch, 0.5)
    square = _logits(gen, 10, 10, spread=1.0)
    yield "a square batch: normalise over the classes (last axis), not the batch", \
        lambda: call(square, 2.0)
    tall = _logits(gen, 7, 3)
    yield "more images than classes", lambda: call(tall, 3.0)
    yield "one image", lambda: call(_logits(gen, 1, 10), 2.0)
    yield "the class axis is the last one, also for 3-D logits", \
        lambda: call(_logits(gen, 2, 3, 5), 1.5)
    yield "logits of 1000 do not overflow to nan", \
        lambda: call(torch.tensor([[1000.0, 0.0], [0.0, -1000.0]]), 1.0)
    yield "large logits at a small T stay finite", \
        lambda: call(torch.tensor([[800.0, 799.0, -5.0]], dtype=torch.float64), 0.5)
    if thorough:
        for i in range(30):
            rows, cols = int(torch.randint(1, 9, (1,), generator=gen)), \
                int(torch.randint(2, 12, (1,), generator=gen))
            T = float(torch.rand(1, generator=gen, dtype=torch.float64)) * 12 + 0.2
            z = _logits(gen, rows, cols, spread=5.0)
            yield f"random {i}", lambda z=z, T=T: call(z, T)


# ---- Exercise 2 --------------------------------------------------------------------------------

def probe_distillation_loss(ns, thorough):
    f = ns["distillation_loss"]
    gen = torch.Generator().manual_seed(0)
    s, t = _logits(gen, 8, 10), _logits(gen, 8, 10)
    y = torch.randint(0, 10, (8,), generator=gen)

    def call(s, t, y, T, alpha):
        same = _unchanged(s, t, y)
        return {"loss": f(s, t, y, T, alpha), "inputs unchanged": same()}

    def gradient(s, t, y, T, alpha):
        s = s.clone().requires_grad_(True)
        f(s, t, y, T, alpha).backward()
        return s.grad

    yield "a student that matches the teacher has zero soft loss", lambda: call(t, t, y, 4.0, 1.0)
    yield "alpha=0 leaves only the cross-entropy with the hard labels", \
        lambda: call(s, t, y, 4.0, 0.0)
    yield "alpha=1 at T=4: the soft term alone (which way does the KL run? what keeps its size "\
        "independent of T?)", lambda: call(s, t, y, 4.0, 1.0)
    yield "alpha=0.9 at T=4: alpha weighs the soft (KL) term, 1 - alpha the hard term", \
        lambda: call(s, t, y, 4.0, 0.9)
    yield "alpha=0.5 at T=4", lambda: call(s, t, y, 4.0, 0.5)
    for T, alpha in ((1.0, 0.3), (2.5, 0.7), (10.0, 1.0), (3.0, 0.0)):
        yield f"T={T:g}, alpha={alpha:g}", lambda T=T, alpha=alpha: call(s, t, y, T, alpha)
    yield "a batch of 3: average over the batch, don't sum", \
        lambda: call(s[:3], t[:3], y[:3], 2.0, 0.5)
    yield "one image", lambda: call(s[:1], t[:1], y[:1], 4.0, 0.6)
    s3, t3 = _logits(gen, 6, 3), _logits(gen, 6, 3)
    y3 = torch.randint(0, 3, (6,), generator=gen)
    yield "three classes: the KL sums over the classes, then averages over the batch", \
        lambda: call(s3, t3, y3, 2.0, 0.8)
    yield "the cross-entropy uses the student's logits at T=1", \
        lambda: call(s3, t3, y3, 5.0, 0.25)
    yield "the loss is differentiable: its gradient with respect to the student's logits", \
        lambda: gradient(s, t, y, 4.0, 0.5)
    yield "the gradient at T=2, alpha=1", lambda: gradient(s3, t3, y3, 2.0, 1.0)
    if thorough:
        for i in range(30):
            b, c = int(torch.randint(1, 9, (1,), generator=gen)), \
                int(torch.randint(2, 11, (1,), generator=gen))
            T = float(torch.rand(1, generator=gen, dtype=torch.float64)) * 9 + 0.5
            alpha = float(torch.rand(1, generator=gen, dtype=torch.float64))
            args = (_logits(gen, b, c), _logits(gen, b, c),
                    torch.randint(0, c, (b,), generator=gen), T, alpha)
            yield f"random {i}", lambda args=args: call(*args)
            yield f"random gradient {i}", lambda args=args: gradient(*args)


# ---- Exercise 3 --------------------------------------------------------------------------------

def probe_soft_term_gradient(ns, thorough):
    f = ns["soft_term_gradient"]
    gen = torch.Generator().manual_seed(1)
    s, t = _logits(gen, 4, 10, spread=2.0), _logits(gen, 4, 10, spread=2.0)

    def call(s, t, T):
        same = _unchanged(s, t)
        return {"gradient": f(s, t, T), "logits unchanged": same()}

    yield "the gradient at T=1", lambda: call(s, t, 1.0)
    for T in (4.0, 10.0):
        yield f"the gradient at T={T:g}: how many powers of T survive once the loss is scaled "\
            "by T^2?", lambda T=T: call(s, t, T)
    yield "the gradient at T=2", lambda: call(s, t, 2.0)
    yield "one image: the batch mean's 1/B is 1", lambda: call(s[:1], t[:1], 4.0)
    yield "the loss is a batch mean, so each image's gradient carries 1/B", \
        lambda: call(s[:3], t[:3], 3.0)
    wide_s, wide_t = _logits(gen, 12, 5), _logits(gen, 12, 5)
    yield "more images than classes", lambda: call(wide_s, wide_t, 2.5)
    yield "a student equal to the teacher gets no push", lambda: call(t, t, 4.0)
    if thorough:
        for i in range(30):
            b, c = int(torch.randint(1, 10, (1,), generator=gen)), \
                int(torch.randint(2, 11, (1,), generator=gen))
            T = float(torch.rand(1, generator=gen, dtype=torch.float64)) * 12 + 0.3
            pair = (_logits(gen, b, c), _logits(gen, b, c), T)
            yield f"random {i}", lambda pair=pair: call(*pair)


# ---- Exercise 4 --------------------------------------------------------------------------------

def _pair(seed, inputs=6, classes=4):
    """A tiny seeded student and teacher (no dropout, no batch norm), in float64."""
    torch.manual_seed(seed)
    student = nn.Sequential(nn.Linear(inputs, 5), nn.ReLU(), nn.Linear(5, classes)).double()
    teacher = nn.Sequential(nn.Linear(inputs, 9), nn.ReLU(), nn.Linear(9, classes)).double()
    return student, teacher


def _batch(seed, n=12, inputs=6, classes=4):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(n, inputs, generator=gen, dtype=torch.float64),
            torch.randint(0, classes, (n,), generator=gen))


def _state(net):
    return [p.detach().clone() for p in net.state_dict().values()]


def _steps(f, seed, T, alpha, steps=1, optimizer="sgd", lr=0.5):
    student, teacher = _pair(seed)
    X, y = _batch(seed + 100)
    teacher_before, inputs_same = _state(teacher), _unchanged(X, y)
    opt = (torch.optim.SGD(student.parameters(), lr=lr) if optimizer == "sgd"
           else torch.optim.Adam(student.parameters(), lr=lr))
    losses = [f(student, teacher, opt, X, y, T, alpha) for _ in range(steps)]
    return {"losses": losses, "student after": _state(student),
            "teacher unchanged": all(torch.equal(a, b) for a, b in
                                     zip(_state(teacher), teacher_before, strict=True)),
            "no gradient reached the teacher": [p.grad is None for p in teacher.parameters()],
            "X and y unchanged": inputs_same()}


def probe_distillation_step(ns, thorough):
    f = ns["distillation_step"]

    def part(key, *args, **kwargs):
        return lambda: _steps(f, *args, **kwargs)[key]

    yield "return the loss before the update, as a Python float", part("losses", 5, 4.0, 0.7)
    yield "one step at T=4, alpha=0.7 updates the student", part("student after", 5, 4.0, 0.7)
    yield "the teacher's weights stay as they were", part("teacher unchanged", 5, 4.0, 0.7)
    yield "no gradient reaches the teacher: its logits are targets, computed without a graph", \
        part("no gradient reached the teacher", 5, 4.0, 0.7)
    yield "the batch is left as it was", part("X and y unchanged", 5, 4.0, 0.7)
    yield "two steps at T=2, alpha=0.3: old gradients are cleared, T and alpha are used", \
        lambda: _steps(f, 6, 2.0, 0.3, steps=2)
    yield "three steps at alpha=0 (plain training)", lambda: _steps(f, 7, 3.0, 0.0, steps=3)
    yield "soft labels only (alpha=1) at T=10", lambda: _steps(f, 8, 10.0, 1.0, steps=2)
    yield "the step goes through the optimizer it is given (Adam)", \
        lambda: _steps(f, 9, 4.0, 0.9, steps=2, optimizer="adam", lr=0.01)
    if thorough:
        gen = torch.Generator().manual_seed(11)
        for i in range(12):
            T = float(torch.rand(1, generator=gen, dtype=torch.float64)) * 9 + 0.5
            alpha = float(torch.rand(1, generator=gen, dtype=torch.float64))
            yield f"random {i}", lambda i=i, T=T, alpha=alpha: _steps(f, 20 + i, T, alpha,
                                                                       steps=1 + i % 3)


# ---- Exercise 5 --------------------------------------------------------------------------------

def probe_comparison_table(ns, thorough):
    f = ns["comparison_table"]

    def call(results):
        before = {k: list(v) for k, v in results.items()}
        table = f(results)
        return {"table": table, "methods in the order given": list(table),
                "plain Python floats": all(isinstance(v, float) for row in table.values()
                                           for v in row.values()),
                "results unchanged": {k: list(v) for k, v in results.items()} == before}

    yield "the visible example: hard labels and distilled", \
        lambda: call({"hard labels": [90.0, 92.0, 94.0], "distilled": [95.0, 95.0, 98.0]})
    yield "the spread of a few seeds is the sample standard deviation (n - 1)", \
        lambda: call({"x": [95.0, 95.0, 98.0]})
    yield "four values given as a tuple", lambda: call({"x": (1.0, 2.0, 3.0, 4.0)})
    yield "the worst and the best seed, in any order of the seeds", \
        lambda: call({"a": [97.5, 96.1, 98.2], "b": [91.0, 99.0, 93.0]})
    yield "three methods, in the order given", lambda: call(
        {"hard labels": [80.3, 78.1, 82.5], "distilled (teacher: 1078)": [88.1, 87.2, 89.4],
         "distilled (teacher: 100)": [83.0, 81.9, 84.7]})
    yield "equal accuracies have no spread", lambda: call({"same": [96.0, 96.0, 96.0]})
    yield "two seeds", lambda: call({"two": [50.0, 60.0]})
    if thorough:
        import numpy as np
        rng = np.random.default_rng(4)
        for i in range(20):
            results = {f"m{j}": [float(v) for v in rng.uniform(60, 100, int(rng.integers(2, 7)))]
                       for j in range(int(rng.integers(1, 4)))}
            yield f"random {i}", lambda r=results: call(r)
