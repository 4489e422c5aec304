"""Does every solution notebook run top to bottom, printing the same numbers at every CPU level?

Each lesson runs twice: once with PyTorch, oneDNN and MKL held to their baseline x86-64 kernels
(what any machine can run), then under nbval at AVX2 (a student's laptop; a grading server
picks AVX-512 where it has it), compared output by output with the first run. Only what is
measured in time (progress bars, seconds, timestamps) is masked, by the patterns in
``nbval_sanitize.cfg``; every accuracy, size, arena and instruction count must be equal. The
numbers the lesson's prose and its row in the README's table of lessons state must be ones it
prints (``prose_numbers.py``).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from lessons import LESSONS, LEVELS, solution_path
from prose_numbers import unproven_numbers, unproven_readme_numbers

pytestmark = pytest.mark.slow
SANITIZE = Path(__file__).with_name("nbval_sanitize.cfg")
def _env(level: str) -> dict[str, str]:
    return {**os.environ, **LEVELS[level]}


@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_prints_the_same_numbers_at_every_dispatch_level(lesson, tmp_path):
    """Does the solution run without error at the baseline level and print the same under nbval?"""
    executed = tmp_path / f"{lesson}.ipynb"  # run here: what the lesson writes stays here
    shutil.copyfile(solution_path(lesson), executed)
    run = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
         "--inplace", "--ExecutePreprocessor.timeout=300", str(executed)],
        cwd=tmp_path, env=_env("baseline"), capture_output=True, text=True)
    assert run.returncode == 0, f"{lesson} fails at the baseline level:\n{run.stderr[-6000:]}"
    nb = nbformat.read(executed, as_version=4)
    unproven = unproven_numbers(lesson, nb)
    assert not unproven, (f"{lesson}: numbers in the prose that nothing the lesson prints backs "
                          f"(print them, or derive them in the prose): {unproven}")
    unproven = unproven_readme_numbers(lesson, nb)
    assert not unproven, (f"README.md's row for {lesson} states numbers the lesson doesn't print "
                          f"or derive: {unproven}")
    compared = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", f"--nbval-sanitize-with={SANITIZE}",
         "--nbval-cell-timeout=300", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-o", "addopts=", "--rootdir", str(tmp_path), str(executed)],
        cwd=tmp_path, env=_env("avx2"), capture_output=True, text=True)
    assert compared.returncode == 0, (
        f"{lesson} prints something else at AVX2 than at the baseline level:\n"
        f"{compared.stdout[-8000:]}")
