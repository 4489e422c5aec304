"""Does the course benchmark still run and meet its targets (quick mode, one repetition)?"""

import json
import subprocess
import sys

import pytest
from lessons import LESSONS, REPO

pytestmark = [pytest.mark.slow, pytest.mark.bench]


def test_quick_benchmark_meets_its_targets(tmp_path):
    """Does `python -m edgecourse.bench.run --quick` exit 0 and write a complete report?"""
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "edgecourse.bench.run", "--quick", "--lessons", LESSONS[0], "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=1200,
    )
    assert run.returncode == 0, f"benchmark failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    report = json.loads(out.read_text())
    assert report["runtime"][LESSONS[0]]["runs_s"], "no notebook timing recorded"
    assert report["grading"]["score"] == report["grading"]["max_score"] > 0
    steps = [row["step"] for row in report["ledger"]["rows"]]
    assert steps[0].startswith("fp32 baseline") and len(steps) >= 8, steps
    assert all(row["deployed_bytes"] > 0 for row in report["ledger"]["rows"])
    assert report["ledger"]["firmware_speed"]["c_instructions_per_inference"] > 0
    assert report["misses"] == []
    assert "x smaller" in run.stdout
