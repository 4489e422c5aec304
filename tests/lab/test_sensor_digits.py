"""The capstone's task and model family: 16x16 frames, the same on every machine, two test halves."""

import hashlib

import numpy as np
import pytest
import torch

from edgecourse.lab.data import load_digits_split
from edgecourse.lab.models import SensorCNN
from edgecourse.lab.pruning import count_macs, prune_channels
from edgecourse.lab.sensor_digits import SIZE, frames, held_out_digits, load_sensor_task

# sha256 of each split's frames and labels: a frame depends on its digit and seed only (float64
# resampling), so these hold on every CPU. A change here changes every number of lesson 07.
DIGESTS = {"train": "44bf27ebf3540a50", "val": "ec930bb70135b21e", "test": "df5bdb5e4958323c"}


def _digest(split) -> str:
    return hashlib.sha256(split.X.numpy().tobytes() + split.y.numpy().tobytes()).hexdigest()[:16]


def test_the_frames_are_the_pinned_ones():
    task = load_sensor_task()
    assert {name: _digest(getattr(task, name)) for name in DIGESTS} == DIGESTS


def test_frames_are_16x16_in_range_seeded_and_labelled():
    digits = load_digits_split().val
    a, b = frames(digits, 2, seed=5), frames(digits, 2, seed=5)
    assert a.X.shape == (2 * len(digits), 1, SIZE, SIZE) and a.X.dtype == torch.float32
    assert float(a.X.min()) >= 0.0 and float(a.X.max()) <= 1.0
    assert torch.equal(a.X, b.X) and torch.equal(a.y, torch.cat([digits.y, digits.y]))
    assert not torch.equal(a.X, frames(digits, 2, seed=6).X), "another seed draws other frames"
    # ink on the frames, not only noise (clipped noise alone averages about 0.06)
    assert float(a.X[:len(digits)].mean()) > 0.15


def test_bad_arguments_are_refused():
    digits = load_digits_split().val
    with pytest.raises(ValueError, match="copies"):
        frames(digits, 0)
    with pytest.raises(ValueError, match="8x8"):
        frames(frames(digits, 1), 1)


def test_visible_and_held_out_halves_split_every_class_of_the_test_split():
    test, held = load_digits_split().test, held_out_digits()
    visible = load_sensor_task().test
    assert len(visible) + len(held) == len(test)
    for c in range(10):
        n, v, h = (int((s.y == c).sum()) for s in (test, visible, held))
        assert v + h == n and abs(v - h) <= 1, f"digit {c}: {v} visible, {h} held out of {n}"
    rows = {x.numpy().tobytes() for x in test.X}
    held_rows = {x.numpy().tobytes() for x in held.X}
    assert held_rows < rows and len(held_rows) == len(held)


@pytest.mark.parametrize("width, pool", [(2.0, 1), (1.0, 2), (1.5, 4)])
def test_sensor_cnn_takes_a_frame_and_pools_inside(width, pool):
    net = SensorCNN(width, pool)
    assert net(torch.zeros(3, 1, SIZE, SIZE)).shape == (3, 10)
    assert net.cnn.input_size == SIZE // pool


def test_sensor_cnn_refuses_a_pool_that_does_not_divide_the_frame():
    with pytest.raises(ValueError, match="pool"):
        SensorCNN(1.0, 3)


def test_channel_pruning_keeps_the_pooled_input_size():
    net = SensorCNN(2.0, 2)
    net.cnn = prune_channels(net.cnn, 0.25)
    assert net(torch.zeros(1, 1, SIZE, SIZE)).shape == (1, 10)
    assert net.cnn.channels == (12, 24)
    assert count_macs(net, (1, 1, SIZE, SIZE)) == 12 * 9 * 64 + 24 * 12 * 9 * 16 + 96 * 64 + 640


def test_an_average_pooled_model_exports_and_agrees():
    from edgecourse.deploy.export import to_keras

    torch.manual_seed(0)
    net = SensorCNN(1.0, 2)
    model = to_keras(net, (1, SIZE, SIZE))  # to_keras checks that Keras reproduces torch
    assert "AveragePooling2D" in [type(layer).__name__ for layer in model.layers]
    X = np.random.default_rng(0).random((2, 1, SIZE, SIZE), dtype=np.float32)
    keras_out = model(X[:1].transpose(0, 2, 3, 1)).numpy()
    assert np.allclose(keras_out, net(torch.from_numpy(X[:1])).detach().numpy(), atol=1e-5)
