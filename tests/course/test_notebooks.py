"""Does every solution notebook execute top to bottom without an error (nbval)?"""

import subprocess
import sys

import pytest
from lessons import LESSONS, solution_path

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_notebook_runs_under_nbval(lesson, tmp_path):
    """Does `pytest --nbval-lax` pass on the solution notebook?"""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-cell-timeout=300", "-q",
         "-p", "no:cacheprovider", "-p", "no:xdist", "-o", "addopts=", str(solution_path(lesson))],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert result.returncode == 0, f"{lesson} fails under nbval:\n{result.stdout[-6000:]}"
