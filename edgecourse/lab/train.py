"""Seeded training and evaluation loops with a progress bar (lesson 01; reused by all lessons)."""

import contextlib
import os
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from edgecourse.lab import backend  # noqa: F401  (torch and torchvision first, one thread)
from edgecourse.lab.data import Split
from edgecourse.lab.seeding import set_seed

LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
AfterStep = Callable[[nn.Module], None]


def check_net(net: nn.Module, what: str = "net") -> nn.Module:
    """Return ``net``, or raise a TypeError if it is not a torch module."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"{what} must be a torch.nn.Module, got {type(net).__name__}")
    return net


@contextlib.contextmanager
def eval_mode(net: nn.Module) -> Iterator[nn.Module]:
    """Put ``net`` in eval mode for a ``with`` block; restore its previous mode, even on error."""
    # Each submodule's own mode: a net may train with some layers (e.g. batch norm) frozen in eval.
    modes = [(module, module.training) for module in check_net(net).modules()]
    net.eval()
    try:
        yield net
    finally:
        for module, training in modes:
            module.training = training


def progress_disabled(progress: bool = True) -> bool:
    """Say whether to hide progress bars (asked for, or running under CI)."""
    return not progress or bool(os.environ.get("CI"))


class Adam(torch.optim.Optimizer):
    """torch.optim.Adam's update, with a square root that rounds the same on every CPU.

    ``torch.sqrt`` on a CPU tensor runs MKL's vector math (1 ulp, not correctly rounded), which
    picks its code by CPU: an AVX-512 server and an AVX2 laptop round Adam's denominators
    differently, and 20 epochs turn that into different weights. numpy's square root is the
    CPU's own instruction, correctly rounded (IEEE 754) everywhere; the bias corrections are
    running products of Python floats. Everything else is torch.optim.Adam's arithmetic.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state.update(exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p),
                                 beta1_t=1.0, beta2_t=1.0)
                state["beta1_t"] *= beta1
                state["beta2_t"] *= beta2
                state["exp_avg"].lerp_(p.grad, 1 - beta1)
                state["exp_avg_sq"].mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                root = torch.from_numpy(np.sqrt(state["exp_avg_sq"].numpy()))
                denom = (root / float(np.sqrt(1 - state["beta2_t"]))).add_(group["eps"])
                p.addcdiv_(state["exp_avg"], denom, value=-group["lr"] / (1 - state["beta1_t"]))
        return loss


def cross_entropy_loss(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return the mean cross-entropy of ``net`` on a batch (the default training loss)."""
    return nn.functional.cross_entropy(net(X), y)


def fit(
    net: nn.Module,
    data: Split,
    epochs: int = 20,
    lr: float = 1e-2,
    batch_size: int = 64,
    seed: int = 0,
    loss_fn: LossFn = cross_entropy_loss,
    after_step: AfterStep | None = None,
    progress: bool = True,
    desc: str = "train",
) -> list[float]:
    """Train ``net`` in place with Adam; return the mean loss of each epoch.

    ``after_step(net)`` runs after every optimizer step (lesson 02 re-applies pruning masks there).
    """
    check_net(net)
    if epochs < 0 or batch_size < 1 or not lr > 0:
        raise ValueError(f"need epochs >= 0, batch_size >= 1, lr > 0; got {epochs}, {batch_size}, {lr}")
    generator = set_seed(seed)
    optimizer = Adam(net.parameters(), lr=lr)
    history = []
    net.train()
    for _ in tqdm(range(epochs), desc=desc, disable=progress_disabled(progress), leave=False):
        order = torch.randperm(len(data), generator=generator)
        total = 0.0
        for start in range(0, len(data), batch_size):
            idx = order[start:start + batch_size]
            loss = loss_fn(net, data.X[idx], data.y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if after_step is not None:
                after_step(net)
            total += loss.item() * len(idx)
        history.append(total / len(data))
    net.eval()
    return history


@torch.no_grad()
def predict(net: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Return the logits of ``net`` on ``X`` in eval mode (its own mode comes back afterwards)."""
    with eval_mode(net):
        return net(X)


def evaluate(net: nn.Module, data: Split) -> float:
    """Return the accuracy of ``net`` on ``data`` in percent."""
    check_net(net)
    return 100.0 * (predict(net, data.X).argmax(1) == data.y).float().mean().item()
