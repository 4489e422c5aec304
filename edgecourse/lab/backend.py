"""Import torch the course's way (every lesson, through any ``edgecourse.lab`` module).

Importing tensorflow and then torchvision in one process segfaults, so torch and torchvision are
imported here first, and tensorflow is handed out only through :func:`tf`, which imports this
module before it.

The same numbers on every x86-64 machine: PyTorch and MKL pick their CPU code when they run
(AVX2 on a laptop, AVX-512 on a server, other branches on AMD), and those add in different
orders; training turns the last bit into different weights and accuracies (a point apart after
20 epochs). So every process that uses the course's models pins them before its first tensor
operation: ATen's AVX2 kernels (the baseline ones on a CPU without AVX2), no oneDNN (a
convolution is an im2col and one MKL matrix product), MKL's SSE2 branch (``MKL_CBWR=COMPATIBLE``,
the one that gives the same bits on Intel and AMD; its AVX2 branch still differed between this
AVX-512 machine and an AVX2 CPU), and no oneDNN in TensorFlow. The one MKL vector-math function
training needs, Adam's square root, comes from numpy instead (``train.Adam``).
CONTRIBUTING.md ("Same numbers on every machine") says why and what it costs.
"""

import os
import platform
from pathlib import Path


def _dispatch() -> dict[str, str]:
    """Return the pins for this CPU: AVX2 on x86-64 (every laptop and server for a decade)."""
    pins = {"TF_ENABLE_ONEDNN_OPTS": "0"}
    if platform.machine().lower() in ("x86_64", "amd64"):
        try:
            avx2 = " avx2 " in Path("/proc/cpuinfo").read_text().replace("\n", " ")
        except OSError:
            avx2 = True  # not Linux: assume a CPU of the last decade
        pins |= {"ATEN_CPU_CAPABILITY": "avx2" if avx2 else "default", "MKL_CBWR": "COMPATIBLE"}
    return pins


#: What the course pins; :func:`check_dispatch` says whether it took effect.
DISPATCH = _dispatch()
os.environ.update(DISPATCH)

import torch  # noqa: E402  (after the pins)
import torchvision  # noqa: E402, F401  (before tensorflow, always)

# Tiny models on 8x8 images: one thread is as fast as two, and makes every run bit-identical
# whatever the machine's core count (and lets tests run notebooks side by side).
torch.set_num_threads(1)
torch.backends.mkldnn.enabled = False


def check_dispatch() -> None:
    """Raise if this process computes with other kernels than the pinned ones (see above)."""
    capability = torch.backends.cpu.get_cpu_capability()
    wanted = DISPATCH.get("ATEN_CPU_CAPABILITY", capability.lower())
    if capability.lower() != wanted or torch.backends.mkldnn.enabled:
        raise RuntimeError(
            f"PyTorch here runs its {capability} kernels{' and oneDNN' * torch.backends.mkldnn.enabled}"
            ", not the course's portable ones, so the numbers will differ from the lessons'. "
            "Something used torch before edgecourse was imported: restart the kernel and import "
            "edgecourse.lab (or edgecourse) first.")


check_dispatch()


def tf():
    """Import and return tensorflow, after torch and torchvision (the safe order)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow

    return tensorflow
