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


def _firmware_report(args: argparse.Namespace, model, name: str, X, out: Path):
    """Build and run the route's firmware in ``out``; return its report."""
    from edgecourse.deploy.firmware.verify import verify_c, verify_tflm

    host, qemu = args.run in (None, "host"), args.run in (None, "qemu")
    if args.target == "c":
        return verify_c(model, X, name, host=host, qemu=qemu, directory=out,
                        codebook=args.codebook, sparse=args.sparse)
    return verify_tflm(model, X, name, args.kernels, host=host, qemu=qemu, directory=out,
                       tree=args.tflm_tree)


def cmd_firmware(args: argparse.Namespace) -> int:
    from edgecourse.deploy.firmware import generate_c, generate_tflm, write_project
    from edgecourse.deploy.firmware.report import format_table
    from edgecourse.deploy.firmware.tflm_project import random_samples
    from edgecourse.deploy.tflite_model import load_tflite

    model = load_tflite(Path(args.model))
    name = args.name or Path(args.model).stem
    if args.samples < 1:
        raise ValueError(f"--samples must be at least 1, got {args.samples}")
    if args.sparse and args.target != "c":
        raise ValueError("--sparse is for --target c (TFLM's kernels run the zeros of a pruned "
                         "model like any other weight)")
    if args.codebook and args.target != "c":
        raise ValueError("--codebook is for --target c (TFLite has no codebook op: TFLM runs the "
                         "int8 weights as they are)")
    X = random_samples(model, args.samples)
    out = Path(args.output).resolve()
    if args.build or args.run:
        report = _firmware_report(args, model, name, X, out)
        print(format_table([report]))
        matches = [m for m in (report.host_matches, report.qemu_matches) if m == m]
        return 0 if all(m == 1.0 for m in matches) else 1
    if args.target == "tflm":
        project = generate_tflm(model, name, X=X)
        files = project.files
        detail = (f"ops {', '.join(project.ops)}; arena {project.arena_bytes} bytes "
                  f"(measured {project.measured_arena_bytes} + margin); "
                  f"{len(X)} test samples")
    else:
        files = generate_c(model, name, codebook=args.codebook, sparse=args.sparse)
        detail = f"plain C99 for ops {', '.join(model.ops)}"
        if args.codebook:
            from edgecourse.deploy.codebook import find_codebooks

            books = find_codebooks(model).values()
            detail += (f"; {len(books)} weight tensors as packed indices + int8 codebooks "
                       f"({', '.join(f'{b.bits} bits' for b in books) or 'none qualified'})")
        if args.sparse:
            sparse = sum(text.count("_sparse(&") for text in files.values())  # the calls
            detail += f"; {sparse} layers as compressed sparse rows"
    write_project(files, out)
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
    fw.add_argument("--kernels", choices=("reference", "cmsis-nn"), default="reference",
                    help="TFLM kernels to build with (cmsis-nn: Cortex-M4 only)")
    fw.add_argument("--tflm-tree", type=Path, default=None,
                    help="TFLM tree made by create_tflm_tree.py (default: $EDGECOURSE_TFLM_TREE "
                    "or $EDGECOURSE_TFLM_CMSIS_NN_TREE, else ../shared/third_party/)")
    fw.add_argument("--codebook", action="store_true",
                    help="--target c: store weight-shared layers (few distinct int8 values per "
                    "tensor, lesson 06) as packed indices plus an int8 codebook")
    fw.add_argument("--sparse", action="store_true",
                    help="--target c: store pruned layers as compressed sparse rows (nonzero "
                    "weights and their input offsets, lesson 02) run by a kernel that skips zeros")
    fw.add_argument("--samples", type=int, default=4,
                    help="seeded int8 test inputs the firmware runs and checks (default 4)")
    fw.add_argument("--build", action="store_true",
                    help="build and run the firmware on the host and the Cortex-M4 (QEMU)")
    fw.add_argument("--run", choices=("host", "qemu"), default=None,
                    help="build and run only there; qemu also counts instructions")
    fw.set_defaults(func=cmd_firmware)

    budget = sub.add_parser("budget", help="check an int8 .tflite against flash/RAM budgets")
    budget.add_argument("model", type=Path, help="an int8 .tflite file")
    budget.add_argument("--flash", default="1MiB", help="flash budget, e.g. 1MiB (default)")
    budget.add_argument("--ram", default="256KiB", help="RAM budget, e.g. 256KiB (default)")
    budget.set_defaults(func=cmd_budget)
