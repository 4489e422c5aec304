"""The `edgecourse` command: doctor, release, and the tools later lessons add."""

import argparse
import sys
from pathlib import Path


def cmd_doctor(args: argparse.Namespace) -> int:
    from edgecourse.doctor import main

    return main()


def cmd_release(args: argparse.Namespace) -> int:
    from edgecourse.nbgrader_course import repo_root
    from edgecourse.release import release

    root = repo_root(args.root)
    for path in release(root, args.lessons or None):
        print(f"released {path.relative_to(root)}")
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
