"""Does the course pin PyTorch's CPU kernels, whatever the environment asks, and say so if it can't?

The numbers of every lesson depend on it (CONTRIBUTING.md, "Same numbers on every machine");
tests/course/test_notebooks.py compares whole lessons across dispatch levels.
"""

import os
import subprocess
import sys

import pytest

PINNED = "x86_64" in os.uname().machine and " avx2 " in open("/proc/cpuinfo").read().replace(
    "\n", " ")
pytestmark = pytest.mark.skipif(not PINNED, reason="the AVX2 pin applies to x86-64 CPUs with AVX2")


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env})


def test_the_pin_wins_over_the_environment():
    """Asked for the baseline kernels and oneDNN, does a lesson's process still get the pins?"""
    run = _python("import edgecourse.lab.backend as b, torch, os\n"
                  "print(torch.backends.cpu.get_cpu_capability(), torch.backends.mkldnn.enabled,"
                  " os.environ['MKL_CBWR'], os.environ['TF_ENABLE_ONEDNN_OPTS'])",
                  ATEN_CPU_CAPABILITY="default", MKL_CBWR="AVX512",
                  TF_ENABLE_ONEDNN_OPTS="1")
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["AVX2", "False", "COMPATIBLE", "0"]


def test_torch_used_before_the_course_is_an_error_that_says_what_to_do():
    """Did torch compute before edgecourse was imported? Then the numbers would differ: say so."""
    run = _python("import torch\ntorch.ones(3).sum()\nimport edgecourse.lab.backend",
                  ATEN_CPU_CAPABILITY="default")
    assert run.returncode != 0
    assert "restart the kernel and import edgecourse" in run.stderr
