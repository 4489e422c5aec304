"""Does a laptop's CPU compute the course's models bit for bit as this machine does?

This machine (and the CI's) runs AVX-512; a student's laptop runs AVX2, from Intel or AMD.
PyTorch, MKL and TensorFlow's converter (XNNPACK, which calibrates int8 models) all choose their
code from what the CPU reports. ``qemu-x86_64`` runs the same Python, the same wheels, on an
emulated CPU that reports no AVX-512: an Intel Haswell and an AMD EPYC (Zen). The recipes'
models and the int8 model lessons 04-07 deploy must come out with the same bytes there as here
(CONTRIBUTING.md, "Same numbers on every machine"). Measured before the course pinned MKL's
SSE2 branch and took Adam's square root from numpy: the course model's weights differed on both.
"""

import os
import shutil
import subprocess
import sys

import pytest
from lessons import IN_CI

pytestmark = pytest.mark.slow
QEMU = shutil.which("qemu-x86_64")
INSTALL_HINT = "install Debian's qemu-user (apt-get install qemu-user)"
# What the lessons train and deploy: Adam, convolutions, matrix products, distillation's loss,
# magnitude pruning with fine-tuning, k-means and centroid fine-tuning, and TFLite's converter
# (its int8 calibration). Each name printed with the sha256 of the model's bytes.
FINGERPRINTS = """
import hashlib, sys
import torch
from edgecourse.lab import recipes
from edgecourse.lab.pruning import pruned_course_model
from edgecourse.lab.data import load_digits_split
from edgecourse.deploy.export import to_tflite

def weights(net):
    return b"".join(v.numpy().tobytes() for v in net.state_dict().values())

def int8(net):
    return to_tflite(net, load_digits_split().train.X[:200], "int8")

MODELS = {"course_model": lambda: weights(recipes.course_model()),
          "course_model int8": lambda: int8(recipes.course_model()),
          "distilled_student": lambda: weights(recipes.distilled_student()),
          "distilled_student int8": lambda: int8(recipes.distilled_student()),
          "pruned_course_model": lambda: weights(pruned_course_model()),
          "shared_student": lambda: weights(recipes.shared_student())}
print("=avx512", torch.cpu._is_avx512_supported())
for name in sys.argv[1:] or MODELS:
    print(f"={name}", hashlib.sha256(MODELS[name]()).hexdigest())
"""
# An emulated CPU runs some 25 times slower: every model on one, the course model on the other.
CPUS = {"Haswell": ("an Intel laptop", ()),
        "EPYC": ("an AMD laptop", ("course_model", "course_model int8"))}


def _fingerprints(*prefix: str, models: tuple[str, ...] = ()) -> dict[str, str]:
    run = subprocess.run([*prefix, sys.executable, "-c", FINGERPRINTS, *models], capture_output=True,
                         text=True, env={**os.environ, "CI": "1"}, timeout=1200)
    assert run.returncode == 0, run.stderr[-3000:]
    return dict(line[1:].rsplit(" ", 1) for line in run.stdout.splitlines() if line[:1] == "=")


@pytest.fixture(scope="module")
def here() -> dict[str, str]:
    return _fingerprints()


@pytest.mark.parametrize("cpu", CPUS)
def test_an_avx2_laptop_computes_the_same_models(cpu, here):
    if QEMU is None:
        if IN_CI:
            pytest.fail(f"the other-CPU test must run in CI: {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)
    laptop, models = CPUS[cpu]
    there = _fingerprints(QEMU, "-cpu", cpu, models=models)
    assert there.pop("avx512") == "False", f"the emulated {cpu} should report no AVX-512"
    assert set(there) == set(models or here) - {"avx512"}, there
    differ = [name for name in there if there[name] != here[name]]
    assert not differ, f"on {laptop} ({cpu}) these differ from this machine's: {differ}"
