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


def cmd_collect(args: argparse.Namespace) -> int:
    from edgecourse.grading.collect import collect
    from edgecourse.grading.course import repo_root

    report = collect(repo_root(args.root), args.source, args.lesson, args.course_dir,
                     args.student_pattern)
    print(report.summary())
    print(f"next: edgecourse grade {args.lesson} --course-dir {args.course_dir}")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from edgecourse.grading.course import repo_root
    from edgecourse.grading.grade import grade_class
    from edgecourse.grading.sandbox import Limits

    limits = Limits(memory_mb=args.memory_mb or None, cpu_seconds=args.cpu_seconds or None,
                    jail=not args.no_jail)
    report = grade_class(repo_root(args.root), args.course_dir, args.lesson,
                         workers=args.workers, cell_timeout=args.cell_timeout, limits=limits,
                         student_timeout=args.student_timeout, force=args.force,
                         csv_path=args.csv, progress=not args.quiet)
    print(report.summary())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgecourse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    doctor = sub.add_parser("doctor", help="check versions, import order, TFLM, compilers, emulator")
    doctor.set_defaults(func=cmd_doctor)

    rel = sub.add_parser("release", help="regenerate notebooks/ from solutions/ through nbgrader")
    rel.add_argument("lessons", nargs="*", help="lesson ids (default: all)")
    rel.add_argument("--root", type=Path, default=None, help="course repository (default: here)")
    rel.set_defaults(func=cmd_release)

    from edgecourse.grading.names import DEFAULT_COURSE_DIR, DEFAULT_PATTERN

    col = sub.add_parser("collect", help="import downloaded submissions into a grading course")
    col.add_argument("lesson", help="lesson id, e.g. 01_flash_budgets")
    col.add_argument("source", type=Path,
                     help="folder of notebooks/zips named by student, or nbgrader's submitted/")
    col.add_argument("--course-dir", type=Path, default=DEFAULT_COURSE_DIR,
                     help=f"grading course directory (default: {DEFAULT_COURSE_DIR})")
    col.add_argument("--student-pattern", default=DEFAULT_PATTERN,
                     help="regex with (?P<student>...) matched against each file name")
    col.add_argument("--root", type=Path, default=None, help="course repository (default: here)")
    col.set_defaults(func=cmd_collect)

    gra = sub.add_parser("grade", help="autograde every submission, write feedback and a CSV")
    gra.add_argument("lesson", help="lesson id, e.g. 01_flash_budgets")
    gra.add_argument("--course-dir", type=Path, default=DEFAULT_COURSE_DIR,
                     help=f"grading course directory (default: {DEFAULT_COURSE_DIR})")
    gra.add_argument("--workers", type=int, default=2,
                     help="submissions graded side by side (one process each; about one per core)")
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
