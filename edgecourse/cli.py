"""The `edgecourse` command: doctor, release, and the tools later lessons add."""

import argparse
import sys
from pathlib import Path


def cmd_doctor(args: argparse.Namespace) -> int:
    from edgecourse.doctor import main

    return main()


def cmd_release(args: argparse.Namespace) -> int:
    from edgecourse.grading.course import repo_root
    from edgecourse.grading.release import release

    root = repo_root(args.root)
    for path in release(root, args.lessons or None):
        print(f"released {path.relative_to(root)}")
    return 0


def _course(args: argparse.Namespace):
    from edgecourse.grading.course import Course, repo_root

    return Course.load(repo_root(args.root), args.course_dir, args.db)


def cmd_collect(args: argparse.Namespace) -> int:
    from edgecourse.grading.collect import collect

    report = collect(_course(args), args.source, args.lesson, args.student_pattern)
    print(report.summary())
    db = f" --db {args.db}" if args.db else ""
    print(f"next: edgecourse grade {args.lesson} --course-dir {args.course_dir}{db}")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from edgecourse.grading.executors import make_executor
    from edgecourse.grading.grade import grade_class
    from edgecourse.grading.sandbox import Limits

    limits = Limits(memory_mb=args.memory_mb or None, cpu_seconds=args.cpu_seconds or None,
                    jail=not args.no_jail)
    course = _course(args)
    course.check_gradebook()  # before starting workers: a wrong --db fails in seconds
    executor = make_executor(args.workers, args.scheduler, args.cluster, args.jobs)
    try:
        report = grade_class(course, args.lesson, executor=executor,
                             cell_timeout=args.cell_timeout, limits=limits,
                             student_timeout=args.student_timeout, force=args.force,
                             csv_path=args.csv, progress=not args.quiet)
    finally:
        executor.close()
    print(report.summary())
    return 0


def cmd_mutants(args) -> int:
    from edgecourse.grading import mutants

    return mutants.run(args.lessons, exercises=args.exercise, limit=args.limit, show=args.show,
                       min_score=args.min_score)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgecourse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    doctor = sub.add_parser("doctor", help="check versions, import order, TFLM, compilers, emulator")
    doctor.set_defaults(func=cmd_doctor)

    rel = sub.add_parser("release", help="regenerate notebooks/ from solutions/ through nbgrader")
    rel.add_argument("lessons", nargs="*", help="lesson ids (default: all)")
    rel.add_argument("--root", type=Path, default=None, help="course repository (default: here)")
    rel.set_defaults(func=cmd_release)

    from edgecourse.grading.names import DB_HELP, DEFAULT_COURSE_DIR, DEFAULT_PATTERN

    col = sub.add_parser("collect", help="import downloaded submissions into a grading course")
    col.add_argument("lesson", help="lesson id, e.g. 01_flash_budgets")
    col.add_argument("source", type=Path,
                     help="folder of notebooks/zips named by student, or nbgrader's submitted/")
    col.add_argument("--course-dir", type=Path, default=DEFAULT_COURSE_DIR,
                     help=f"grading course directory (default: {DEFAULT_COURSE_DIR})")
    col.add_argument("--student-pattern", default=DEFAULT_PATTERN,
                     help="regex with (?P<student>...) matched against each file name")
    col.add_argument("--db", default=None, help=DB_HELP)
    col.add_argument("--root", type=Path, default=None, help="course repository (default: here)")
    col.set_defaults(func=cmd_collect)

    gra = sub.add_parser("grade", help="autograde every submission, write feedback and a CSV")
    gra.add_argument("lesson", help="lesson id, e.g. 01_flash_budgets")
    gra.add_argument("--course-dir", type=Path, default=DEFAULT_COURSE_DIR,
                     help=f"grading course directory (default: {DEFAULT_COURSE_DIR})")
    gra.add_argument("--workers", type=int, default=2,
                     help="submissions graded side by side on this machine (one process each; "
                     "about one per core); with --cluster local, the Dask worker processes")
    gra.add_argument("--scheduler", default=None, metavar="tcp://HOST:8786",
                     help="grade on the workers of this running Dask scheduler")
    gra.add_argument("--cluster", default=None,
                     choices=["local", "slurm", "pbs", "sge", "lsf", "htcondor"],
                     help="start Dask workers: a LocalCluster of --workers processes here, or "
                     "--jobs batch jobs through dask-jobqueue (~/.config/dask/jobqueue.yaml)")
    gra.add_argument("--jobs", type=int, default=None,
                     help="batch jobs to submit with --cluster slurm/pbs/... (default: 1)")
    gra.add_argument("--db", default=None, help=DB_HELP)
    gra.add_argument("--cell-timeout", type=int, default=None,
                     help="seconds per cell (default: nbgrader_config.py's Execute.timeout)")
    gra.add_argument("--student-timeout", type=float, default=3600,
                     help="seconds for one whole submission before it is stopped")
    gra.add_argument("--memory-mb", type=int, default=8192,
                     help="address-space limit of each kernel in MiB (0: none)")
    gra.add_argument("--cpu-seconds", type=int, default=1800,
                     help="CPU-time limit of each kernel (0: none)")
    gra.add_argument("--no-jail", action="store_true",
                     help="do not confine kernels' file access (Landlock) even where available")
    gra.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    gra.add_argument("--csv", type=Path, default=None,
                     help="where to write the grades CSV (default: COURSE_DIR/grades/LESSON.csv)")
    gra.add_argument("--quiet", action="store_true", help="no progress bar")
    gra.add_argument("--root", type=Path, default=None, help="course repository (default: here)")
    gra.set_defaults(func=cmd_grade)

    mut = sub.add_parser("mutants", help="mutation score of each exercise's hidden tests",
                         description="Mutate every exercise's solution (operators, edges, "
                         "constants, rounding, dropped clamps and copies, swapped arguments, a "
                         "hard-coded answer), grade each mutant like a submission, and print "
                         "killed / non-equivalent mutants per exercise.")
    mut.add_argument("lessons", nargs="*", help="lesson ids (default: all)")
    mut.add_argument("--exercise", action="append", help="only these exercises")
    mut.add_argument("--limit", type=int, help="at most this many mutants per exercise")
    mut.add_argument("--show", action="store_true", help="list the surviving mutants")
    mut.add_argument("--min-score", type=float, default=95.0,
                     help="exit 1 when an exercise scores below this percentage (default 95)")
    mut.set_defaults(func=cmd_mutants)

    from edgecourse.deploy.firmware.commands import add_firmware_commands

    add_firmware_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError, RuntimeError) as error:
        print(f"edgecourse {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
