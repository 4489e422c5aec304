"""The course benchmark: notebook runtimes, grading time, compression ledger, firmware speed.

Run it with ``make bench`` or ``python -m edgecourse.bench.run [--quick]``. It prints a table,
writes a JSON file, and exits non-zero with a clear message when a target is missed.
"""

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from edgecourse.deploy.firmware.report import format_rows
from edgecourse.grading.course import lessons, repo_root
from edgecourse.grading.grade import autograde, cell_scores, prepare_course, submit

LESSON_LIMIT_S = {"05_mcu_porting": 120.0}
DEFAULT_LESSON_LIMIT_S = 90.0
COURSE_LIMIT_S = 6 * 60.0
GRADING_LIMIT_S = 8 * 60.0


def run_notebook(path: Path) -> float:
    """Execute a notebook from a cold kernel with nbclient; return its wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def notebook_runtimes(root: Path, chosen: list[str], repeat: int) -> dict[str, dict]:
    """Time every chosen solution notebook ``repeat`` times: median, spread, runs, limit."""
    result = {}
    for lesson in chosen:
        runs = [run_notebook(root / "solutions" / lesson / f"{lesson}.ipynb") for _ in range(repeat)]
        result[lesson] = {
            "runs_s": [round(r, 2) for r in runs],
            "median_s": round(statistics.median(runs), 2),
            "spread_s": round(max(runs) - min(runs), 2),
            "limit_s": LESSON_LIMIT_S.get(lesson, DEFAULT_LESSON_LIMIT_S),
        }
    return result


def grading_time(root: Path, chosen: list[str]) -> dict:
    """Autograde one student's complete submission (the solutions) and time it."""
    with tempfile.TemporaryDirectory(prefix="edgecourse-bench-") as tmp:
        course = Path(tmp) / "course"
        for lesson in chosen:
            prepare_course(root, course, lesson)
            submit(course, lesson, "bench_student", root / "solutions" / lesson / f"{lesson}.ipynb")
        start = time.perf_counter()
        for lesson in chosen:
            autograde(root, course, lesson, "bench_student")
        elapsed = time.perf_counter() - start
        earned = sum(s.score for lesson in chosen
                     for s in cell_scores(root, course, lesson, "bench_student").values())
        possible = sum(s.max_score for lesson in chosen
                       for s in cell_scores(root, course, lesson, "bench_student").values())
    return {"lessons": chosen, "seconds": round(elapsed, 2), "score": earned, "max_score": possible,
            "limit_s": GRADING_LIMIT_S}


def misses(report: dict) -> list[str]:
    """Return a sentence for every target the report misses."""
    found = []
    runtimes = report["runtime"]
    for lesson, r in runtimes.items():
        if r["median_s"] > r["limit_s"]:
            found.append(f"{lesson} runs in {r['median_s']} s, over its {r['limit_s']:.0f} s target")
    total = sum(r["median_s"] for r in runtimes.values())
    if report["complete_course"] and total > COURSE_LIMIT_S:
        found.append(f"the whole course runs in {total:.0f} s, over {COURSE_LIMIT_S:.0f} s")
    grading = report["grading"]
    if grading["seconds"] > grading["limit_s"]:
        found.append(f"grading one submission takes {grading['seconds']} s, over {grading['limit_s']:.0f} s")
    if grading["score"] != grading["max_score"]:
        found.append(f"the solutions scored {grading['score']} of {grading['max_score']} when graded")
    found += report["ledger"]["misses"]
    speed = report["ledger"]["firmware_speed"]
    c, cmsis = speed["c_instructions_per_inference"], speed["tflm_cmsis_nn_instructions_per_inference"]
    if cmsis is not None and c >= cmsis:
        found.append(f"the course model's generated C takes {c:,} instructions per inference, "
                     f"behind TFLM + CMSIS-NN ({cmsis:,})")
    return found + report.get("behind", [])


def format_report(report: dict) -> str:
    """Render the report as the plain-text tables the README quotes."""
    lines = [f"machine: {report['machine']}", "", "lesson               median_s  spread_s  limit_s"]
    for lesson, r in report["runtime"].items():
        lines.append(f"{lesson:<20} {r['median_s']:>8.1f}  {r['spread_s']:>8.1f}  {r['limit_s']:>7.0f}")
    total = sum(r["median_s"] for r in report["runtime"].values())
    lines.append(f"{'total':<20} {total:>8.1f}")
    g = report["grading"]
    lines += ["", f"autograde one submission ({len(g['lessons'])} lessons): {g['seconds']:.1f} s, "
              f"score {g['score']:g}/{g['max_score']:g}", ""]
    lines.append(report["ledger"]["table"])
    speed = report["ledger"]["firmware_speed"]
    lines += ["", "the lecture's porting routes on the Cortex-M4 (QEMU mps2-an386), course model:",
              format_rows(list(speed["routes"].values()))]
    lines += ["", "speed on the Cortex-M4 (ratio: instructions per inference against the first row "
              "of each model):", format_rows(speed["speed"])]
    if "findings" in report["ledger"]:
        lines += ["", report["ledger"]["findings"]]
    if speed["tflm_instructions_per_inference"] is None:
        lines.append(f"TFLM on the Cortex-M4: not measured ({speed['why_no_tflm_figure']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgecourse.bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one repetition (what the test suite runs)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per notebook (default 3)")
    parser.add_argument("--lessons", nargs="*", default=None, help="lessons to time (default: all)")
    parser.add_argument("--json", type=Path, default=Path("bench.json"), help="where to write the JSON")
    args = parser.parse_args(argv)
    from edgecourse.bench.ledger import compression_ledger
    from edgecourse.bench.speed import firmware_test_rows

    root = repo_root()
    known = lessons(root)
    chosen = args.lessons or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        parser.error(f"unknown lessons {unknown}; known: {known}")
    repeat = 1 if args.quick else args.repeat
    report = {
        "machine": f"{platform.node()} {platform.machine()} {platform.processor() or ''}".strip()
                   + f", {__import__('os').cpu_count()} cores, Python {platform.python_version()}",
        "complete_course": chosen == known,
        "runtime": notebook_runtimes(root, chosen, repeat),
        "grading": grading_time(root, chosen),
        "ledger": compression_ledger(),
    }
    if not args.quick:  # the firmware tests' models: new TFLM op sets, a cold library each
        rows, report["behind"] = firmware_test_rows(root)
        report["ledger"]["firmware_speed"]["speed"] += rows
    report["misses"] = misses(report)
    args.json.write_text(json.dumps(report, indent=2))
    print(format_report(report))
    if report["misses"]:
        print("\nTARGETS MISSED:\n- " + "\n- ".join(report["misses"]), file=sys.stderr)
        return 1
    print(f"\nall targets met; JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
