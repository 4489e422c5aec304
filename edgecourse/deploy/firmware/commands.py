"""The ``edgecourse firmware`` and ``edgecourse budget`` subcommands (any int8 .tflite)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

_UNITS = {"": 1, "b": 1, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
          "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "k": 1 << 10, "m": 1 << 20}


def parse_bytes(text: str) -> int:
    """Parse a size such as 1MiB, 256KiB, 64kB or 4096 into bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"cannot read the size {text!r}: write e.g. 1MiB, 256KiB, 64kB or 4096")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def cmd_firmware(args: argparse.Namespace) -> int:
    from edgecourse.deploy.firmware import generate_c, generate_tflm, write_project
    from edgecourse.deploy.tflite_model import load_tflite

    model = load_tflite(Path(args.model))
    name = args.name or Path(args.model).stem
    if args.target == "tflm":
        project = generate_tflm(model, name)
        files = project.files
        detail = (f"ops {', '.join(project.ops)}; arena {project.arena_bytes} bytes "
                  f"(measured {project.measured_arena_bytes} + margin)")
    else:
        files = generate_c(model, name)
        detail = f"plain C99 for ops {', '.join(model.ops)}"
    out = write_project(files, Path(args.output))
    print(f"wrote {len(files)} files to {out}: {detail}")
    return 0


def cmd_budget(args: argparse.Namespace) -> int:
    from edgecourse.deploy.firmware.tflm_project import arena_with_margin
    from edgecourse.deploy.tflite_model import load_tflite
    from edgecourse.deploy.tflm import measure_arena

    flash, ram = parse_bytes(args.flash), parse_bytes(args.ram)
    model = load_tflite(Path(args.model))
    if not model.is_int8:
        raise ValueError("the budget is for int8 models (int8 input and output): convert "
                         "with a representative dataset and int8 inference types")
    measured = measure_arena(model).arena_bytes
    arena = arena_with_margin(measured)
    flash_bytes = len(model.model_bytes)
    fits_flash, fits_ram = flash_bytes <= flash, arena <= ram
    print(f"flash: {flash_bytes} bytes model data of {flash} ({100 * flash_bytes / flash:.1f}%)"
          " (TFLM library code not counted)")
    print(f"ram:   {arena} bytes tensor arena of {ram} ({100 * arena / ram:.1f}%)"
          f" (measured {measured} + margin)")
    verdict = "fits" if fits_flash and fits_ram else "does not fit"
    why = [w for w, ok in (("flash", fits_flash), ("ram", fits_ram)) if not ok]
    print(f"verdict: {verdict}" + (f" (over budget: {', '.join(why)})" if why else ""))
    return 0 if verdict == "fits" else 1


def add_firmware_commands(sub) -> None:
    """Register the firmware and budget subcommands on the CLI's subparsers."""
    fw = sub.add_parser("firmware", help="generate TFLM sources or plain C from an int8 .tflite")
    fw.add_argument("model", type=Path, help="an int8 .tflite file")
    fw.add_argument("-o", "--output", type=Path, required=True, help="project folder to write")
    fw.add_argument("--target", choices=("tflm", "c"), default="tflm",
                    help="tflm: TFLM interpreter sources; c: generated dependency-free C99")
    fw.add_argument("--name", default=None, help="C symbol name (default: the file's stem)")
    fw.set_defaults(func=cmd_firmware)

    budget = sub.add_parser("budget", help="check an int8 .tflite against flash/RAM budgets")
    budget.add_argument("model", type=Path, help="an int8 .tflite file")
    budget.add_argument("--flash", default="1MiB", help="flash budget, e.g. 1MiB (default)")
    budget.add_argument("--ram", default="256KiB", help="RAM budget, e.g. 256KiB (default)")
    budget.set_defaults(func=cmd_budget)
