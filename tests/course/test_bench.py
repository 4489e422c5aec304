"""Does the course benchmark still run and meet its targets (quick mode, one repetition)?"""

import json
import subprocess
import sys

import pytest
from lessons import LESSONS, REPO

from edgecourse.deploy.firmware.report import format_rows

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
    # The README's Results are this run's numbers, exactly (the same on every x86-64 machine).
    readme = _readme_results()
    routes = format_rows(list(report["ledger"]["firmware_speed"]["routes"].values()))
    speed = format_rows(report["ledger"]["firmware_speed"]["speed"])
    for name, table in (("compression ledger", report["ledger"]["table"]),
                        ("porting routes", routes), ("speed table", speed)):
        assert table.strip() in readme, (
            f"README.md's Results differ from this run's {name}; paste this run's table:\n{table}")
    # The prose under the tables reads this run's numbers, word for word (bench/findings.py).
    words = " ".join(report["ledger"]["findings"].split())
    assert words in " ".join(_results_section().split()), (
        "README.md's Results prose differs from this run's findings; paste them:\n"
        + report["ledger"]["findings"])


def _results_section() -> str:
    return (REPO / "README.md").read_text().split("### Results")[1].split("\n### ")[0]


def _readme_results() -> str:
    """Return the code block of the README's Results (the tables)."""
    results = _results_section()
    start = results.index("```") + 3
    return results[start:results.index("```", start)]


@pytest.mark.parametrize("c, cmsis, behind", [(90_000, 137_000, False), (137_000, 137_000, True),
                                              (150_000, 137_000, True)])
def test_the_benchmark_misses_when_generated_c_falls_behind_cmsis_nn(c, cmsis, behind):
    from edgecourse.bench.run import misses

    report = {"runtime": {}, "complete_course": False,
              "grading": {"seconds": 1, "limit_s": 60, "score": 3, "max_score": 3},
              "ledger": {"misses": [], "firmware_speed": {
                  "c_instructions_per_inference": c,
                  "tflm_cmsis_nn_instructions_per_inference": cmsis}}}
    found = misses(report)
    assert bool(found) == behind
    assert not found or ("course model" in found[0] and f"{cmsis:,}" in found[0])
    report["behind"] = ["the maxpool_dense (test) model's generated C takes ..."]
    assert misses(report)[-1] == report["behind"][0], "a test model behind CMSIS-NN is a miss too"


@pytest.mark.parametrize("c, behind", [(40_000, False), (62_000, True)])
def test_a_test_model_behind_cmsis_nn_is_named(c, behind):
    from types import SimpleNamespace

    from edgecourse.bench.speed import behind_cmsis_nn

    reports = [SimpleNamespace(route="generated C", instructions=c),
               SimpleNamespace(route="TFLM reference", instructions=600_000),
               SimpleNamespace(route="TFLM cmsis-nn", instructions=62_000)]
    found = behind_cmsis_nn("maxpool_dense (test) model", reports)
    assert bool(found) == behind
    assert not found or "maxpool_dense" in found[0] and "62,000" in found[0]
