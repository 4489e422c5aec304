"""Does eval_mode give back the mode a net had, whatever happens? Is the course's Adam Adam?"""

import pytest
import torch
from torch import nn

from edgecourse.lab.data import load_digits_split
from edgecourse.lab.models import digits_cnn
from edgecourse.lab.seeding import check_seed, set_seed
from edgecourse.lab.train import Adam, eval_mode, evaluate, predict


def dropout_net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.Sequential(nn.BatchNorm1d(4)))


@pytest.mark.parametrize("training", [True, False])
def test_eval_mode_restores_the_previous_mode(training):
    """Is every submodule in eval mode inside the block, and back to its old mode after?"""
    net = dropout_net().train(training)
    with eval_mode(net) as inside:
        assert inside is net
        assert not any(m.training for m in net.modules())
    assert all(m.training == training for m in net.modules())


def test_eval_mode_restores_mixed_modes():
    """Does a layer frozen in eval mode inside a training net stay frozen afterwards?"""
    net = dropout_net().train()
    net[2].eval()
    with eval_mode(net):
        assert not any(m.training for m in net.modules())
    assert net.training and net[1].training and not net[2].training and not net[2][0].training


def test_eval_mode_restores_the_mode_on_error():
    """Does an exception inside the block still give the net its training mode back?"""
    net = dropout_net().train()
    with pytest.raises(RuntimeError, match="boom"), eval_mode(net):
        raise RuntimeError("boom")
    assert net.training and net[1].training


def test_eval_mode_refuses_a_non_module():
    """Is something that is not an nn.Module refused with a TypeError naming what came?"""
    with pytest.raises(TypeError, match="net must be a torch.nn.Module, got str"), eval_mode("net"):
        pass


def test_predict_and_evaluate_leave_the_mode_alone():
    """Do predict and evaluate run in eval mode without changing the caller's mode?"""
    set_seed(0)
    net = digits_cnn(0.5).train()
    test = load_digits_split().test
    assert predict(net, test.X[:5]).shape == (5, 10)
    assert 0.0 <= evaluate(net, test) <= 100.0
    assert net.training


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_bad_seeds_are_refused(seed):
    """Is a seed that is not a non-negative int refused with a ValueError?"""
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        check_seed(seed)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        set_seed(seed)


def test_set_seed_returns_a_generator_seeded_the_same_way():
    """Does the returned generator draw what torch.manual_seed(seed) draws?"""
    generator = set_seed(3)
    assert torch.equal(torch.rand(3, generator=generator),
                       torch.rand(3, generator=torch.Generator().manual_seed(3)))


def _adam_steps(optimizer_class, steps: int = 6) -> torch.Tensor:
    torch.manual_seed(0)
    net = nn.Linear(20, 7)
    optimizer = optimizer_class(net.parameters(), lr=0.05)
    X = torch.randn(32, 20, generator=torch.Generator().manual_seed(1))
    for _ in range(steps):
        optimizer.zero_grad()
        net(X).pow(2).mean().backward()
        optimizer.step()
    return net.weight.detach()


def test_the_courses_adam_takes_torchs_steps():
    """Does fit's Adam (numpy's square root) move weights as torch.optim.Adam does, to rounding?"""
    ours, torchs = _adam_steps(Adam), _adam_steps(torch.optim.Adam)
    assert not torch.equal(ours, _adam_steps(Adam, steps=5)), "the steps should move the weights"
    torch.testing.assert_close(ours, torchs, rtol=1e-5, atol=1e-6)
