"""Run a student's kernel under limits: memory, CPU time, file size, and a filesystem jail.

The grader starts each kernel through ``python -I -m edgecourse.grading.sandbox [limits] -- ARGV``
(the package root and ``grading`` import nothing heavy), which sets resource limits (RLIMIT_AS, RLIMIT_CPU, RLIMIT_FSIZE), and, where the Linux kernel
supports Landlock (5.13+, no root needed), restricts the process and its children to reading the
Python installation and writing only its own working folder. Then it ``exec``s the kernel.

What this does not give: network isolation, a separate user, limits on processes a submission
forks that escape their process group, or protection on systems without Landlock. For those run
the grader in a container or as a separate user account (see the README).
"""

import argparse
import ctypes
import json
import os
import resource
import site
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

# Landlock syscalls and access rights (linux/landlock.h); x86_64 and aarch64 share these numbers.
_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_READ = _EXECUTE | _READ_FILE | _READ_DIR
# Every filesystem right of ABI 1, then REFER (ABI 2), TRUNCATE (ABI 3), IOCTL_DEV (ABI 5).
_ALL_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
_ALL_LATEST = (1 << 16) - 1

# System folders a Python kernel reads; missing ones are skipped.
# Read-only; of /dev only the entropy and zero devices (torch and numpy seed from /dev/urandom).
SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/opt",
               "/var/lib", "/var/cache", "/proc", "/sys", "/run", "/dev/urandom", "/dev/random",
               "/dev/zero")
# Only the null device: no /dev/shm (a folder every kernel could share), no terminals.
SYSTEM_WRITE = ("/dev/null",)
# What a kernel's environment keeps of the grader's (the rest, e.g. database passwords, is
# dropped); names are exact or, ending in "_", prefixes.
ENVIRONMENT = ("PATH", "HOME", "TMPDIR", "LANG", "LANGUAGE", "TERM", "TZ", "CI", "MPLCONFIGDIR",
               "IPYTHONDIR", "MALLOC_ARENA_MAX", "PYTHONNOUSERSITE", "PYTHONHASHSEED",
               "PYTHONWARNINGS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "ATEN_CPU_CAPABILITY",
               "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA",
               "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", "LC_", "JPY_", "JUPYTER_",
               "EDGECOURSE_")
# Where the kernel's pid is appended, so the grader can kill a kernel its worker left behind.
PIDFILE_ENV = "EDGECOURSE_KERNEL_PIDFILE"


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


# ABI 6 scopes: no signals to (and no abstract unix sockets of) processes outside the sandbox,
# so a submission cannot kill the grader that runs it.
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1


@dataclass(frozen=True)
class Limits:
    """Resource limits for one grading kernel (None: no limit)."""

    memory_mb: int | None = 8192
    cpu_seconds: int | None = 1800
    file_size_mb: int | None = 256
    jail: bool = True

    def __post_init__(self) -> None:
        for name in ("memory_mb", "cpu_seconds", "file_size_mb"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise ValueError(f"Limits.{name} must be a positive int or None, got {value!r}")


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """Return the Landlock ABI version this Linux kernel offers (0: not available)."""
    if not sys.platform.startswith("linux"):
        return 0
    version = _libc().syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0),
                              ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(int(version), 0)


def python_read_paths() -> list[Path]:
    """Return the folders a kernel of this Python needs to read: installation, packages."""
    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
             Path(__file__).resolve().parents[1]}  # the edgecourse package, not the repository
    paths.update(Path(p) for p in sysconfig.get_paths().values())
    paths.update(Path(p) for p in site.getsitepackages())
    return sorted(p.resolve() for p in paths if p.exists())


def restrict_filesystem(read: list[Path], write: list[Path]) -> int:
    """Allow this process only to read ``read`` and read/write ``write``; return the ABI used."""
    abi = landlock_abi()
    if abi < 1:
        raise OSError("Landlock is not available on this system (Linux 5.13+ with landlock LSM)")
    libc = _libc()
    handled = _ALL_BY_ABI.get(abi, _ALL_LATEST)
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0
    attr = _RulesetAttr(handled, 0, scoped)
    # Older ABIs know only the first field(s): pass the size they understand.
    size = ctypes.sizeof(ctypes.c_uint64) * (3 if abi >= 6 else 2 if abi >= 4 else 1)
    ruleset = libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for paths, access in ((read, _READ), (write, handled)):
            for path in paths:
                if not Path(path).exists():
                    continue
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                try:
                    # Files take only file rights; directories take all of them.
                    allowed = access if Path(path).is_dir() else access & (
                        _EXECUTE | _WRITE_FILE | _READ_FILE | (1 << 14))
                    rule = _PathBeneath(allowed & handled, fd)
                    if libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH,
                                    ctypes.byref(rule), 0) < 0:
                        raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
                finally:
                    os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0) < 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return abi


def apply_limits(limits: Limits) -> None:
    """Set this process's memory, CPU and file size limits (inherited by what it execs)."""
    if limits.memory_mb is not None:
        size = limits.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    if limits.cpu_seconds is not None:
        # The soft limit sends SIGXCPU (the kernel dies, the grader records it); hard kills.
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    if limits.file_size_mb is not None:
        size = limits.file_size_mb * 2**20
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))


def die_with_parent(parent: int) -> None:
    """Get SIGKILL when the thread that started this process ends (Linux); exit if it has."""
    if not sys.platform.startswith("linux"):
        return
    _PR_SET_PDEATHSIG = 1
    _libc().prctl(_PR_SET_PDEATHSIG, 9, 0, 0, 0)  # SIGKILL
    if os.getppid() != parent:  # it ended before prctl took effect
        os._exit(1)


def kernel_environment(environ) -> dict[str, str]:
    """Return the part of ``environ`` a student's kernel may see."""
    return {k: v for k, v in environ.items()
            if k in ENVIRONMENT or any(k.startswith(p) for p in ENVIRONMENT if p.endswith("_"))}


def write_kernelspec(folder: Path, name: str, limits: Limits, workdir: Path,
                     home: Path, read: list[Path], env: dict[str, str] | None = None) -> Path:
    """Write a Jupyter kernelspec ``name`` under ``folder/kernels`` that starts a jailed kernel.

    ``env`` adds variables to the kernel's environment (names the sandbox lets through).
    """
    # -I: no user site, no PYTHONPATH, no current folder on sys.path; the package's root and
    # grading/ import nothing heavy, so the jail starts fast.
    argv = [sys.executable, "-I", "-m", "edgecourse.grading.sandbox"]
    for flag, value in (("--memory-mb", limits.memory_mb), ("--cpu-seconds", limits.cpu_seconds),
                        ("--file-size-mb", limits.file_size_mb)):
        if value is not None:
            argv += [flag, str(value)]
    if limits.jail:
        argv += ["--write", str(workdir), "--write", str(home)]
        for path in read:
            argv += ["--read", str(path)]
    argv += ["--", sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": f"edgecourse sandbox ({name})", "language": "python",
            "env": {"HOME": str(home), "TMPDIR": str(home), "MPLCONFIGDIR": str(home),
                    "IPYTHONDIR": str(home / ".ipython"), "MALLOC_ARENA_MAX": "2",
                    "PYTHONNOUSERSITE": "1", **(env or {})}}
    target = folder / "kernels" / name
    target.mkdir(parents=True, exist_ok=True)
    (target / "kernel.json").write_text(json.dumps(spec, indent=1))
    return target


def main(argv: list[str] | None = None) -> int:
    """Apply limits and the filesystem jail, then exec the command after ``--``."""
    parser = argparse.ArgumentParser(prog="python -m edgecourse.grading.sandbox", description=__doc__)
    parser.add_argument("--memory-mb", type=int, default=None)
    parser.add_argument("--cpu-seconds", type=int, default=None)
    parser.add_argument("--file-size-mb", type=int, default=None)
    parser.add_argument("--read", type=Path, action="append", default=[])
    parser.add_argument("--write", type=Path, action="append", default=[])
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    pidfile = os.environ.get(PIDFILE_ENV)
    if pidfile:
        # exec keeps the pid: the grader can kill this kernel if its worker is killed.
        with open(pidfile, "a") as out:
            out.write(f"{os.getpid()}\n")
    if args.write and landlock_abi() < 1:
        print("edgecourse sandbox: Landlock unavailable, the kernel's file access is NOT confined",
              file=sys.stderr)
    elif args.write:
        # The connection file lives in the runtime folder given by the grader: read it too.
        runtime = os.environ.get("JUPYTER_RUNTIME_DIR")
        read = [*map(Path, SYSTEM_READ), *args.read, *([Path(runtime)] if runtime else [])]
        restrict_filesystem(read, [*map(Path, SYSTEM_WRITE), *args.write])
    apply_limits(Limits(args.memory_mb, args.cpu_seconds, args.file_size_mb))
    os.execve(command[0], command, kernel_environment(os.environ))
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main())
