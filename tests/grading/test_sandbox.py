"""Does the sandbox hold a process to its memory, file size, files and signals?

Each test starts ``python -I -m edgecourse.grading.sandbox ... -- python -c CODE`` (as a grading
kernel is started) and reads what the inner Python could do.
"""

import json
import os
import subprocess
import sys

import pytest

from edgecourse.grading.sandbox import (
    PIDFILE_ENV,
    Limits,
    landlock_abi,
    python_read_paths,
    write_kernelspec,
)

ABI = landlock_abi()
needs_landlock = pytest.mark.skipif(ABI < 1, reason="Landlock unavailable on this kernel")


def sandboxed(code: str, *options: str, env: dict | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-I", "-m", "edgecourse.grading.sandbox", *options,
            "--", sys.executable, "-c", code]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def jail(tmp_path) -> list[str]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return ["--write", str(work), *[f"--read={p}" for p in python_read_paths()]]


@pytest.mark.parametrize("field", ["memory_mb", "cpu_seconds", "file_size_mb"])
@pytest.mark.parametrize("value", [0, -1, 1.5])
def test_limits_refuse_non_positive_or_fractional_values(field, value):
    """Is a limit of 0, -1 or 1.5 refused, naming the field?"""
    with pytest.raises(ValueError, match=f"Limits.{field} must be a positive int"):
        Limits(**{field: value})


def test_memory_limit_turns_a_big_allocation_into_memoryerror():
    """Does --memory-mb make a 2 GiB allocation fail inside the process, not the machine?"""
    done = sandboxed("bytearray(2 * 2**30)", "--memory-mb", "512")
    assert done.returncode != 0 and "MemoryError" in done.stderr, done.stderr
    assert sandboxed("bytearray(2**20)", "--memory-mb", "512").returncode == 0


def test_file_size_limit_stops_a_big_write(tmp_path):
    """Does --file-size-mb stop a 2 MiB write at 1 MiB?"""
    target = tmp_path / "big"
    done = sandboxed(f"open({str(target)!r}, 'wb').write(b'x' * 2**21)", "--file-size-mb", "1")
    assert done.returncode != 0 and "File too large" in done.stderr, done.stderr
    assert target.stat().st_size <= 2**20


@needs_landlock
def test_jail_allows_its_folder_and_refuses_the_rest(tmp_path):
    """Can a jailed process write its own folder but neither read nor write next to it?"""
    secret = tmp_path / "solutions.ipynb"
    secret.write_text("answers")
    inside = tmp_path / "work" / "ok.txt"
    code = (f"open({str(inside)!r}, 'w').write('ok')\n"
            "for attempt in (lambda: open(%r).read(), lambda: open(%r, 'w')):\n"
            "    try:\n        attempt()\n        print('ALLOWED')\n"
            "    except PermissionError:\n        print('REFUSED')\n") % (str(secret),
                                                                           str(secret))
    done = sandboxed(code, *jail(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["REFUSED", "REFUSED"], done.stdout
    assert inside.read_text() == "ok" and secret.read_text() == "answers"


@pytest.mark.skipif(ABI < 6, reason="signal scoping needs Landlock ABI 6")
def test_jail_refuses_signals_to_processes_outside(tmp_path):
    """Is a jailed process refused even signal 0 (a harmless probe) to its parent?"""
    probe = "import os\ntry:\n    os.kill(os.getppid(), 0)\n    print('ALLOWED')\n" \
            "except PermissionError:\n    print('REFUSED')"
    assert sandboxed(probe).stdout.strip() == "ALLOWED", "the probe itself is broken"
    assert sandboxed(probe, *jail(tmp_path)).stdout.strip() == "REFUSED"


def test_pidfile_records_the_kernel_pid(tmp_path):
    """Does the sandbox write the pid it execs under, so a grader can kill a stray kernel?"""
    pidfile = tmp_path / "kernel.pids"
    done = sandboxed("import os; print(os.getpid())", env={PIDFILE_ENV: str(pidfile)})
    assert pidfile.read_text().split() == [done.stdout.strip()]


def test_a_missing_command_is_a_usage_error():
    """Does the sandbox without a command after -- exit 2 and say what it needs?"""
    done = subprocess.run([sys.executable, "-I", "-m", "edgecourse.grading.sandbox", "--"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "give the command to run" in done.stderr


@pytest.mark.parametrize("jailed", [True, False])
def test_kernelspec_starts_the_kernel_through_the_sandbox(tmp_path, jailed):
    """Does the kernelspec pass the limits, and the jail's folders only when jailed?"""
    limits = Limits(memory_mb=1024, cpu_seconds=None, jail=jailed)
    spec = write_kernelspec(tmp_path, "k", limits, tmp_path / "work", tmp_path / "home",
                            [tmp_path / "py"])
    argv = json.loads((spec / "kernel.json").read_text())["argv"]
    assert argv[1:4] == ["-I", "-m", "edgecourse.grading.sandbox"]
    assert argv[argv.index("--memory-mb") + 1] == "1024" and "--cpu-seconds" not in argv
    assert ("--write" in argv) == jailed and ("--read" in argv) == jailed
    assert argv[-3:] == ["ipykernel_launcher", "-f", "{connection_file}"]


@needs_landlock
def test_kernels_share_no_writable_folder(tmp_path):
    """Can a jailed kernel leave a file where another student's kernel could read it?"""
    code = ("import os\n"
            "for path in ('/dev/shm/edgecourse-share', '/tmp/edgecourse-share', "
            "'/var/tmp/edgecourse-share'):\n"
            "    try:\n        open(path, 'w').write('answers')\n        print('WROTE', path)\n"
            "    except OSError as error:\n        print('DENIED', path, type(error).__name__)\n"
            "open('/dev/null', 'w').write('fine')\n"
            "import torch\n"  # torch seeds itself from /dev/urandom: readable, not writable
            "assert len(open('/dev/urandom', 'rb').read(8)) == 8 and torch.initial_seed() >= 0\n")
    result = sandboxed(code, *jail(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "WROTE" not in result.stdout, result.stdout
    assert result.stdout.count("DENIED") == 3, result.stdout


def test_kernel_sees_no_grader_secrets():
    """Does the kernel's environment drop what it does not need (a database password)?"""
    result = sandboxed("import os, json; print(json.dumps(dict(os.environ)))",
                       env={"PGPASSWORD": "secret",
                            "LC_ALL": "C.UTF-8"})
    seen = json.loads(result.stdout)
    assert "PGPASSWORD" not in seen, "a grader secret reached the kernel"
    assert seen.get("LC_ALL") == "C.UTF-8" and "PATH" in seen


@needs_landlock
def test_kernel_reads_the_tflm_trees_and_library_cache_and_writes_neither(tmp_path, monkeypatch):
    """Can a grading kernel read what the lessons' TFLM firmware builds need (the trees, cached
    libraries), while the cache stays unwritable and its hidden-test references unreadable?"""
    from edgecourse.deploy.firmware.tflm_tree import available_trees
    from edgecourse.grading.worker import firmware_read_paths

    cache = tmp_path / "cache"
    (cache / "tflm" / "lib").mkdir(parents=True)
    (cache / "tflm" / "lib" / "libtflm.a").write_text("archive")
    (cache / "references").mkdir()
    (cache / "references" / "lesson.json").write_text("expected outputs")
    monkeypatch.setenv("EDGECOURSE_CACHE", str(cache))
    paths = firmware_read_paths()
    assert cache / "tflm" in paths and cache not in paths
    trees = [p for p in paths if p != cache / "tflm"]
    assert trees == list(available_trees().values()), "the TFLM trees found are readable"
    code = ("import sys\n"
            "def attempt(what, action):\n"
            "    try:\n        action()\n        print('OK', what)\n"
            "    except OSError as error:\n        print('DENIED', what, type(error).__name__)\n"
            f"attempt('library', lambda: open({str(cache / 'tflm' / 'lib' / 'libtflm.a')!r}).read())\n"
            f"attempt('plant', lambda: open({str(cache / 'tflm' / 'lib' / 'evil.a')!r}, 'w'))\n"
            f"attempt('references', lambda: open({str(cache / 'references' / 'lesson.json')!r}).read())\n"
            f"for tree in {[str(t) for t in trees]!r}:\n"
            "    attempt('tree', lambda: open(tree + '/tensorflow/lite/micro/micro_interpreter.h').read())\n")
    result = sandboxed(code, *jail(tmp_path), *[f"--read={p}" for p in paths])
    assert result.returncode == 0, result.stderr
    assert "OK library" in result.stdout and "DENIED plant" in result.stdout, result.stdout
    assert "DENIED references" in result.stdout, result.stdout
    assert result.stdout.count("OK tree") == len(trees), result.stdout
