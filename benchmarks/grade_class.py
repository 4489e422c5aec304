"""Grade a synthetic class of one lesson and print its throughput in submissions per minute.

    .venv/bin/python benchmarks/grade_class.py [LESSON] [--students 60] [--workers 1 2]
        [--executors local dask]

The class mixes full solutions, untouched stubs, plausible wrong answers (tests/wrong_answers)
and half-solved notebooks. Each executor and worker count grades a fresh copy of the same class:
``local`` runs that many worker processes here, ``dask`` a ``distributed.LocalCluster`` of that
many single-threaded worker processes (the cluster path: tasks carry their files, results come
back to this process, the one gradebook writer). The table gives submissions per minute for
each, and the Dask path's overhead against local at the same number of processes. Run it on
an otherwise idle machine: the figure is CPU-bound.
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
from edgecourse.grading.course import Course, lessons, repo_root
from edgecourse.grading.executors import LocalExecutor, local_cluster
from edgecourse.grading.grade import grade_class


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


def grade_once(root: Path, downloads: Path, course_dir: Path, lesson: str, executor_name: str,
               workers: int, cell_timeout: int | None) -> tuple[float, str]:
    """Collect and grade the class on one executor; return (seconds, summary)."""
    course = Course.load(root, course_dir)
    collect(course, downloads, lesson)
    # The cluster's start-up is part of its cost: it is timed too.
    start = time.monotonic()
    executor = local_cluster(workers) if executor_name == "dask" else LocalExecutor(workers)
    try:
        report = grade_class(course, lesson, executor=executor, cell_timeout=cell_timeout,
                             progress=True)
    finally:
        executor.close()
    return time.monotonic() - start, report.summary()


def main(argv: list[str] | None = None) -> int:
    root = repo_root()
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lesson", nargs="?", default=lessons(root)[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--executors", nargs="+", choices=["local", "dask"],
                        default=["local", "dask"])
    parser.add_argument("--cell-timeout", type=int, default=None)
    args = parser.parse_args(argv)
    rates: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory(prefix="edgecourse-bench-") as tmp:
        downloads = Path(tmp) / "downloads"
        downloads.mkdir()
        synthetic_class(root, args.lesson, args.students, downloads)
        for workers in args.workers:
            for name in args.executors:
                course_dir = Path(tmp) / f"course-{name}-{workers}"
                seconds, summary = grade_once(root, downloads, course_dir, args.lesson, name,
                                              workers, args.cell_timeout)
                rates[name, workers] = args.students / seconds * 60
                print(summary)
                print(f"{name}, {workers} process(es): {args.students} submissions in "
                      f"{seconds:.0f} s = {rates[name, workers]:.1f} submissions/minute")
                shutil.rmtree(course_dir)
    print(f"\n{args.lesson}, {args.students} submissions:\n")
    print("| processes | " + " | ".join(f"{n} (submissions/min)" for n in args.executors)
          + (" | Dask overhead |" if len(args.executors) == 2 else " |"))
    print("|---" * (len(args.executors) + 1 + (len(args.executors) == 2)) + "|")
    for workers in args.workers:
        row = [f"{rates[n, workers]:.1f}" for n in args.executors]
        if len(args.executors) == 2:
            overhead = rates["local", workers] / rates["dask", workers] - 1
            row.append(f"{overhead:+.1%}")
        print(f"| {workers} | " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
