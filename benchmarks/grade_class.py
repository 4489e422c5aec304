"""Grade a synthetic class of one lesson and print its throughput in submissions per minute.

    .venv/bin/python benchmarks/grade_class.py [LESSON] [--students 30] [--workers 1 2]

The class mixes full solutions, untouched stubs, plausible wrong answers (tests/wrong_answers)
and half-solved notebooks. Each worker count grades a fresh copy of the same class, so the
speed-up of parallel grading (separate worker processes, one gradebook writer) is measured on
identical work. Run it on an otherwise idle machine: the figure is CPU-bound.
"""

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from edgecourse.grading.collect import collect
from edgecourse.grading.grade import grade_class
from edgecourse.grading.course import lessons, repo_root


def wrong_answers(root: Path, lesson: str) -> dict[str, str]:
    """Return the lesson's plausible wrong answers (grade_id -> source), or none."""
    path = root / "tests" / "wrong_answers" / f"{lesson}.py"
    if not path.is_file():
        return {}
    spec = importlib.util.spec_from_file_location(f"wrong_{lesson}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG


def synthetic_class(root: Path, lesson: str, students: int, folder: Path) -> None:
    """Write ``students`` submissions named like an LMS download into ``folder``."""
    solution = nbformat.read(root / "solutions" / lesson / f"{lesson}.ipynb", as_version=4)
    stubs = nbformat.read(root / "notebooks" / lesson / f"{lesson}.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
               if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    wrong = wrong_answers(root, lesson)
    for index in range(students):
        nb = nbformat.from_dict(stubs)
        kind = index % 4
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id not in answers or not cell.metadata["nbgrader"].get("solution"):
                continue
            # kind 3 answers every other exercise (deterministic: by position).
            if kind == 0 or (kind == 3 and list(answers).index(grade_id) % 2 == 0):
                cell.source = answers[grade_id]
            elif kind == 2 and grade_id in wrong:
                cell.source = wrong[grade_id]
        nbformat.write(nb, folder / f"s{index:03d}_{lesson}.ipynb")


def main(argv: list[str] | None = None) -> int:
    root = repo_root()
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lesson", nargs="?", default=lessons(root)[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cell-timeout", type=int, default=None)
    args = parser.parse_args(argv)
    rates = {}
    with tempfile.TemporaryDirectory(prefix="edgecourse-bench-") as tmp:
        downloads = Path(tmp) / "downloads"
        downloads.mkdir()
        synthetic_class(root, args.lesson, args.students, downloads)
        for workers in args.workers:
            course = Path(tmp) / f"course-{workers}"
            collect(root, downloads, args.lesson, course)
            start = time.monotonic()
            report = grade_class(root, course, args.lesson, workers=workers,
                                 cell_timeout=args.cell_timeout, progress=True)
            seconds = time.monotonic() - start
            rates[workers] = args.students / seconds * 60
            print(report.summary())
            print(f"workers={workers}: {args.students} submissions in {seconds:.0f} s = "
                  f"{rates[workers]:.1f} submissions/minute")
            shutil.rmtree(course)
    if len(rates) > 1:
        base = rates[min(rates)]
        for workers, rate in sorted(rates.items()):
            print(f"speed-up with {workers} workers: x{rate / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
