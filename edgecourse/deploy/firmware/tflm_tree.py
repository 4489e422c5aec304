"""A TFLM source tree made by ``create_tflm_tree.py``: where it is, and what a model needs of it.

TFLM's whole library takes 10-15 minutes to compile on 2 cores; a model needs its core (the
interpreter, allocator, planner, flatbuffer parsing) plus the kernels of its ops. The kernel of
an op is the file that defines the ``Register_...()`` function the op resolver calls; its
helpers are the ``*_common.cc`` and helper files of the kernel headers it includes; a CMSIS-NN
kernel adds the files that define the ``arm_*`` functions of the CMSIS-NN library it calls, and
theirs.
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import cache
from pathlib import Path

from edgecourse.third_party import KERNELS, TREE_ENV, tree_location

MICRO = "tensorflow/lite/micro"
KERNEL_DIR = f"{MICRO}/kernels"
RESOLVER_HEADER = f"{MICRO}/micro_mutable_op_resolver.h"
CMSIS_NN_SOURCE = "third_party/cmsis_nn/Source"
#: Library sources that only tests, mocks or other platforms use.
_NOT_LIBRARY = {"test_helpers.cc", "test_helper_custom_ops.cc", "mock_micro_graph.cc",
                "fake_micro_context.cc", "kernel_runner.cc"}
_REGISTER = re.compile(r"^TFLMRegistration\*?\s+(Register_\w+)\(\)\s*\{", re.M)
_KERNEL_INCLUDE = re.compile(rf'#include "{KERNEL_DIR}/(\w+)\.h"')


def check_tree(path: Path, kernels: str | None = None) -> Path:
    """Return the tree's absolute path, or raise FileNotFoundError saying what is wrong."""
    path = Path(path).expanduser().resolve()
    if not (path / MICRO / "micro_interpreter.h").is_file():
        raise FileNotFoundError(f"{path} is not a TFLM tree made by create_tflm_tree.py "
                                f"(no {MICRO}/micro_interpreter.h)")
    if kernels is not None and tree_kernels(path) != kernels:
        raise FileNotFoundError(f"{path} has {tree_kernels(path)} kernels, not {kernels}: "
                                f"point {TREE_ENV[kernels]} at a {kernels} tree")
    return path


def tree_kernels(path: Path) -> str:
    """Return "cmsis-nn" for a tree with CMSIS-NN kernels, else "reference"."""
    return "cmsis-nn" if (Path(path) / KERNEL_DIR / "cmsis_nn").is_dir() else "reference"


def find_tree(kernels: str = "reference", tree: Path | None = None) -> Path:
    """Return the TFLM tree for the kernels: ``tree``, else $EDGECOURSE_..., else ../shared."""
    if kernels not in KERNELS:
        raise ValueError(f"kernels must be one of {', '.join(KERNELS)}, got {kernels!r}")
    if tree is not None:
        return check_tree(tree, kernels)
    location = tree_location(kernels)
    if not os.environ.get(TREE_ENV[kernels]) and not location.is_dir():
        raise FileNotFoundError(f"no TFLM tree with {kernels} kernels: set {TREE_ENV[kernels]} "
                                f"to a create_tflm_tree.py output, or put one at {location}")
    return check_tree(location, kernels)


def available_trees() -> dict[str, Path]:
    """Return {kernels: tree} for every kernel variant whose tree can be found."""
    found = {}
    for kernels in KERNELS:
        try:
            found[kernels] = find_tree(kernels)
        except OSError:  # missing, or not readable (a grading jail)
            pass
    return found


@cache
def tree_digest(path: Path) -> str:
    """Return a SHA-256 over the tree's source files (paths and contents): the cache key."""
    digest = hashlib.sha256()
    for file in sorted(Path(path).rglob("*")):
        if file.suffix in (".h", ".hpp", ".c", ".cc", ".inc") and file.is_file():
            digest.update(str(file.relative_to(path)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


@cache
def registrations(path: Path) -> dict[str, tuple[str, str]]:
    """Return {builtin op: (resolver method, Register_ function)} from the tree's resolver."""
    header = (Path(path) / RESOLVER_HEADER).read_text()
    found = {}
    for method, args, body in re.findall(r"TfLiteStatus (Add\w+)\(([^{]*)\)\s*\{(.*?)\n  \}",
                                         header, re.S):
        ops = re.findall(r"BuiltinOperator_(\w+)", body)
        register = re.findall(r"(Register_\w+)\(\)", args + body)
        if ops and register and ops[0] != "CUSTOM":
            found[ops[0]] = (method, register[0])
    return found


def _read(path: Path) -> str:
    return path.read_text(errors="replace")


def _defines_registration(path: Path) -> bool:
    return bool(_REGISTER.search(_read(path)))


@cache
def _kernel_files(path: Path) -> dict[str, str]:
    """Return {Register_ function: kernel file (relative)}, optimized kernels first."""
    found: dict[str, str] = {}
    root = Path(path)
    for folder in sorted((root / KERNEL_DIR).iterdir()):
        if folder.is_dir():  # cmsis_nn/ etc.: they replace the reference kernels
            for file in sorted(folder.glob("*.cc")):
                for name in _REGISTER.findall(_read(file)):
                    found.setdefault(name, str(file.relative_to(root)))
    for file in sorted((root / KERNEL_DIR).glob("*.cc")):
        for name in _REGISTER.findall(_read(file)):
            found.setdefault(name, str(file.relative_to(root)))
    return found


def core_sources(path: Path) -> list[str]:
    """Return the library sources every model needs (everything outside the kernels)."""
    root = Path(path)
    sources = []
    for file in sorted(root.joinpath("tensorflow").rglob("*.cc")):
        rel = str(file.relative_to(root))
        if rel.startswith(KERNEL_DIR + "/") or file.name in _NOT_LIBRARY or "test" in file.name:
            continue
        if file.parent.name == "micro" and (root / MICRO / "cortex_m_generic" / file.name).exists():
            continue  # the platform port's version replaces the generic one
        sources.append(rel)
    return sources


def _kernel_closure(root: Path, start: list[str]) -> set[str]:
    """Return the kernel files plus the helpers of every kernel header they include."""
    chosen, queue = set(start), list(start)
    while queue:
        for stem in _KERNEL_INCLUDE.findall(_read(root / queue.pop())):
            for rel in (f"{KERNEL_DIR}/{stem}.cc", f"{KERNEL_DIR}/{stem}_common.cc"):
                file = root / rel
                if rel in chosen or not file.is_file():
                    continue
                if rel.endswith("_common.cc") or not _defines_registration(file):
                    chosen.add(rel)
                    queue.append(rel)
    return chosen


@cache
def _cmsis_nn_definitions(path: Path) -> dict[str, str]:
    """Return {arm_ function: the CMSIS-NN library file that defines it}."""
    root = Path(path)
    found: dict[str, str] = {}
    for file in sorted((root / CMSIS_NN_SOURCE).rglob("*.c")):
        for name in re.findall(r"^\w+[\s*]+(arm_\w+)\s*\(", _read(file), re.M):
            found.setdefault(name, str(file.relative_to(root)))
    return found


def _cmsis_nn_closure(root: Path, kernels: set[str]) -> set[str]:
    """Return the CMSIS-NN library files the kernels call, and the files those call."""
    defined = _cmsis_nn_definitions(root)
    chosen: set[str] = set()
    queue = [root / k for k in kernels if "/cmsis_nn/" in k]
    while queue:
        for name in set(re.findall(r"\b(arm_\w+)\s*\(", _read(queue.pop()))):
            rel = defined.get(name)
            if rel and rel not in chosen:
                chosen.add(rel)
                queue.append(root / rel)
    return chosen


def select_sources(path: Path, ops: list[str]) -> list[str]:
    """Return the tree's sources (relative paths) that a model with these builtin ops needs."""
    root = Path(path)
    known, files = registrations(root), _kernel_files(root)
    kernels = []
    for op in ops:
        if op not in known or known[op][1] not in files:
            raise ValueError(f"op {op} has no kernel in the TFLM tree {root}: TFLM cannot run "
                             "this model (or the tree is too old)")
        kernels.append(files[known[op][1]])
    utilities = [f"{KERNEL_DIR}/{name}" for name in ("kernel_util.cc", "micro_tensor_utils.cc")]
    chosen = _kernel_closure(root, kernels + [u for u in utilities if (root / u).is_file()])
    chosen |= _cmsis_nn_closure(root, chosen)
    return sorted(set(core_sources(root)) | chosen)
