"""The capstone's task (lesson 07): the course's digits as a 16x16 camera sees them.

Each 8x8 digit is enlarged to about 12x12 and drawn onto a 16x16 frame at a random position,
angle and size, then sensor noise is added: harder than the 8x8 digits, so that a model's width,
input resolution and compression show in its accuracy. Every image comes from the course's fixed
split (:func:`edgecourse.lab.data.load_digits_split`): the training images from its train split,
the validation images from its val split, the visible test images from every other digit of each
class in its test split; the grader draws its held-out frames from the other half, with a seed of
its own. Nothing is downloaded, and each frame depends only on its digit and its seed (float64
resampling, then float32), so the images are the same on every machine.
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from scipy.ndimage import affine_transform

from edgecourse.lab import backend  # noqa: F401  (torch and torchvision first, one thread)
from edgecourse.lab.data import Split, load_digits_split

SIZE = 16  # the frame's height and width, pixels
ZOOM = 1.5  # 8x8 digit -> about 12x12 on the frame
MAX_SHIFT = 2.0  # pixels, each axis
MAX_DEGREES = 12.0
MAX_RESCALE = 0.1  # size varies by up to 10 %
NOISE = 0.15  # standard deviation of the sensor noise (pixels lie in 0..1)
TRAIN_COPIES = 2  # frames drawn per training digit
TRAIN_SEED, VAL_SEED, TEST_SEED = 1, 2, 3


@dataclass(frozen=True)
class SensorTask:
    """The capstone's frames: train, validation and visible test (X (N, 1, 16, 16), y (N,))."""

    train: Split
    val: Split
    test: Split


def frames(split: Split, copies: int = 1, seed: int = 0) -> Split:
    """Return ``copies`` camera frames of each digit in ``split`` (8x8 -> 16x16), seeded."""
    if copies < 1:
        raise ValueError(f"copies must be at least 1, got {copies}")
    digits = split.X.numpy()[:, 0].astype(np.float64)
    if digits.shape[1:] != (8, 8):
        raise ValueError(f"frames are drawn from 8x8 digits, got images of shape {digits.shape[1:]}")
    rng = np.random.default_rng(seed)
    n = len(digits) * copies
    angle = np.deg2rad(rng.uniform(-MAX_DEGREES, MAX_DEGREES, n))
    scale = ZOOM * rng.uniform(1 - MAX_RESCALE, 1 + MAX_RESCALE, n)
    shift = rng.uniform(-MAX_SHIFT, MAX_SHIFT, (n, 2))
    noise = rng.normal(0.0, NOISE, (n, SIZE, SIZE))
    out = np.empty((n, 1, SIZE, SIZE), np.float32)
    centre_in, centre_out = np.full(2, 3.5), np.full(2, (SIZE - 1) / 2)
    for i in range(n):
        c, s = np.cos(angle[i]), np.sin(angle[i])
        # frame pixel o comes from digit pixel A (o - centre_out - shift) + centre_in
        A = np.array([[c, -s], [s, c]]) / scale[i]
        offset = centre_in - A @ (centre_out + shift[i])
        frame = affine_transform(digits[i % len(digits)], A, offset, output_shape=(SIZE, SIZE),
                                 order=1, mode="constant", cval=0.0)
        out[i, 0] = np.clip(frame + noise[i], 0.0, 1.0)
    labels = np.tile(split.y.numpy(), copies)
    return Split(torch.from_numpy(out), torch.from_numpy(labels))


def _half(split: Split, parity: int) -> Split:
    """Return every other digit of each class (the first, third, ... for parity 0)."""
    y = split.y.numpy()
    rank = np.zeros(len(y), np.int64)
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        rank[members] = np.arange(len(members))
    keep = torch.from_numpy(np.flatnonzero(rank % 2 == parity))
    return Split(split.X[keep], split.y[keep])


def held_out_digits() -> Split:
    """Return the 8x8 test digits the visible test frames leave out (the grader's)."""
    return _half(load_digits_split().test, 1)


@lru_cache(maxsize=1)
def load_sensor_task() -> SensorTask:
    """Return the capstone's frames: two per training digit, one per val digit, one per visible
    test digit (every other digit of the test split)."""
    digits = load_digits_split()
    return SensorTask(frames(digits.train, TRAIN_COPIES, TRAIN_SEED),
                      frames(digits.val, 1, VAL_SEED),
                      frames(_half(digits.test, 0), 1, TEST_SEED))
