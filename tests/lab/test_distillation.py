"""Is the KD loss of edgecourse.lab.distillation right, and are the recipes deterministic?"""

import numpy as np
import pytest
import torch

from edgecourse.lab import recipes
from edgecourse.lab.distillation import distillation_loss_fn, kd_loss
from edgecourse.lab.models import digits_cnn


def numpy_softmax(z: np.ndarray, T: float) -> np.ndarray:
    e = np.exp((z - z.max(axis=1, keepdims=True)) / T)
    return e / e.sum(axis=1, keepdims=True)


def numpy_kd_loss(s: np.ndarray, t: np.ndarray, y: np.ndarray, T: float, alpha: float) -> float:
    """Hinton et al.'s loss, written independently: explicit sum p_t * (log p_t - log p_s)."""
    p_t, p_s = numpy_softmax(t, T), numpy_softmax(s, T)
    kl = np.mean(np.sum(p_t * (np.log(p_t) - np.log(p_s)), axis=1))
    ce = -np.mean(np.log(numpy_softmax(s, 1.0)[np.arange(len(y)), y]))
    return alpha * T * T * kl + (1 - alpha) * ce


def random_batch(seed: int, batch: int = 16, classes: int = 10, scale: float = 3.0):
    gen = torch.Generator().manual_seed(seed)
    s = scale * torch.randn(batch, classes, generator=gen, dtype=torch.float64)
    t = scale * torch.randn(batch, classes, generator=gen, dtype=torch.float64)
    y = torch.randint(0, classes, (batch,), generator=gen)
    return s, t, y


@pytest.mark.parametrize("T,alpha", [(1.0, 0.0), (1.0, 0.5), (4.0, 0.9), (4.0, 1.0), (10.0, 0.3)])
def test_kd_loss_matches_an_independent_float64_formulation(T, alpha):
    """Does kd_loss equal alpha*T^2*sum p_t(log p_t - log p_s) + (1-alpha)*CE, batch-averaged?"""
    s, t, y = random_batch(1)
    got = kd_loss(s, t, y, T=T, alpha=alpha).item()
    assert got == pytest.approx(numpy_kd_loss(s.numpy(), t.numpy(), y.numpy(), T, alpha), rel=1e-10)


def test_kd_loss_is_not_the_reverse_kl():
    """Does kd_loss weigh by the teacher's distribution (KL(teacher || student), not the reverse)?"""
    s, t, y = random_batch(2)
    forward = numpy_kd_loss(s.numpy(), t.numpy(), y.numpy(), 4.0, 1.0)
    reverse = numpy_kd_loss(t.numpy(), s.numpy(), y.numpy(), 4.0, 1.0)
    got = kd_loss(s, t, y, T=4.0, alpha=1.0).item()
    assert got == pytest.approx(forward, rel=1e-10)
    assert abs(forward - reverse) > 1e-3  # the batch really tells the two directions apart


def test_kd_loss_is_zero_when_the_student_matches_the_teacher():
    """Is the soft term zero for identical logits?"""
    _, t, y = random_batch(3)
    assert kd_loss(t, t.clone(), y, T=4.0, alpha=1.0).item() == pytest.approx(0.0, abs=1e-12)


def soft_grad_norm(s, t, y, T: float) -> float:
    s = s.clone().requires_grad_(True)
    kd_loss(s, t, y, T=T, alpha=1.0).backward()
    return s.grad.norm().item()


def test_t_squared_keeps_the_soft_gradient_the_same_size():
    """Does the T^2 factor cancel the 1/T^2 fall of the soft gradient at large T?"""
    s, t, y = random_batch(4, scale=1.0)
    scaled = [soft_grad_norm(s, t, y, T) for T in (8.0, 16.0, 32.0, 64.0)]
    unscaled = [g / T**2 for g, T in zip(scaled, (8.0, 16.0, 32.0, 64.0), strict=True)]
    # With T^2: the same size at every large T. Without: a quarter each time T doubles.
    assert max(scaled) / min(scaled) < 1.1
    for a, b in zip(unscaled[:-1], unscaled[1:], strict=True):
        assert a / b == pytest.approx(4.0, rel=0.05)


def test_kd_loss_gradient_matches_the_closed_form():
    """Is d(T^2 KL)/ds = T (p_s - p_t) / B, checked against autograd at several T?"""
    s, t, y = random_batch(5)
    for T in (1.0, 4.0, 10.0):
        x = s.clone().requires_grad_(True)
        kd_loss(x, t, y, T=T, alpha=1.0).backward()
        expected = T * (numpy_softmax(s.numpy(), T) - numpy_softmax(t.numpy(), T)) / len(s)
        np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-9, atol=1e-15)


def test_kd_loss_rejects_mismatched_logits():
    s, t, y = random_batch(6)
    with pytest.raises(ValueError, match="same shape"):
        kd_loss(s, t[:, :9], y)
    with pytest.raises(ValueError, match="batch, classes"):
        kd_loss(s[0], t[0], y[:1])


def test_kd_loss_rejects_bad_labels():
    s, t, y = random_batch(7)
    with pytest.raises(ValueError, match="one label per row"):
        kd_loss(s, t, y[:5])
    with pytest.raises(TypeError, match="int64"):
        kd_loss(s, t, y.float())


BAD_KNOBS = [
    *(("T", value, "temperature T") for value in (0.0, -1.0, float("nan"), float("inf"), "4")),
    *(("alpha", value, "alpha") for value in (-0.1, 1.5, float("nan"), True)),
]


@pytest.mark.parametrize(("knob", "value", "match"), BAD_KNOBS)
def test_bad_temperature_or_alpha_is_refused(knob, value, match):
    """Is a T that is not a finite number > 0, or an alpha outside [0, 1], refused by both?"""
    s, t, y = random_batch(8)
    with pytest.raises(ValueError, match=match):
        kd_loss(s, t, y, **{knob: value})
    with pytest.raises(ValueError, match=match):
        distillation_loss_fn(digits_cnn(0.25), **{knob: value})


def test_kd_loss_rejects_non_tensors():
    _, t, y = random_batch(10)
    with pytest.raises(TypeError, match="student_logits must be a torch.Tensor"):
        kd_loss(t.tolist(), t, y)


def test_distillation_loss_fn_leaves_the_teacher_untouched():
    """Does a step with the loss function give the student gradients and the teacher none?"""
    torch.manual_seed(0)
    teacher, student = digits_cnn(1.0), digits_cnn(0.5)
    X, y = torch.rand(8, 1, 8, 8), torch.arange(8)
    loss = distillation_loss_fn(teacher, T=4.0, alpha=0.9)(student, X, y)
    loss.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert all(p.grad is not None for p in student.parameters())


def test_distillation_loss_fn_asks_the_teacher_in_eval_mode_and_restores_its_mode():
    """Does the teacher answer in eval mode, and keep the mode its owner gave it?"""
    teacher, student = digits_cnn(1.0), digits_cnn(0.5)
    modes = []
    teacher.register_forward_hook(lambda module, inputs, output: modes.append(module.training))
    teacher.train()
    loss_fn = distillation_loss_fn(teacher)
    assert teacher.training, "building the loss function changed the teacher's mode"
    loss_fn(student, torch.rand(4, 1, 8, 8), torch.arange(4))
    assert modes == [False] and teacher.training


def test_recipes_are_deterministic_whatever_ran_before():
    """Does a recipe give the same weights twice, even after other code used the global RNG?"""
    first = recipes.distilled_student(0)
    recipes._distilled.cache_clear()
    recipes._trained.cache_clear()
    torch.rand(1000)  # disturb the global generator: the recipe must not depend on it
    second = recipes.distilled_student(0)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), f"{name} differs between two rebuilds"
    assert first is not second  # a fresh copy each time, so callers can change it freely
    assert sum(p.numel() for p in first.parameters()) * 10 < sum(
        p.numel() for p in recipes.teacher(0).parameters())


def test_recipes_reject_bad_seeds():
    with pytest.raises(ValueError, match="seed"):
        recipes.distilled_student(-1)
    with pytest.raises(ValueError, match="seed"):
        recipes.teacher(1.5)
