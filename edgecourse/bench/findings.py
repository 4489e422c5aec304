"""The README's reading of the benchmark, written from the run's own numbers.

Every figure in these paragraphs is computed here from the ledger, so the prose under the
README's Results can't drift from its tables: the benchmark prints this text and the test suite
checks that the README holds it word for word.
"""

import textwrap


def _row(rows: list[dict], label: str) -> dict:
    return next(r for r in rows if r["model / route"] == label)


def _less(a: float, b: float, noun: str) -> str:
    return f"less {noun}" if a < b else f"no less {noun}"


def findings(ledger: dict) -> str:
    """Return the paragraphs that read the ledger's firmware figures (TFLM, lessons 02, 04, 06)."""
    speed = ledger["firmware_speed"]
    c, ref, cmsis = (speed["routes"][r] for r in ("generated C", "TFLM reference", "TFLM cmsis-nn"))
    rows = speed["speed"]
    macs = _row(rows, "course model, generated C")["MACs"]
    fp32 = _row(rows, "course model float32, TFLM reference (FPU)")
    dense, sparse, channels = (_row(rows, f"course CNN{label}") for label in (
        ", dense C", " 82% pruned, sparse C", " 50% channels, dense C"))
    book = ledger["codebook"]
    steps = {row["step"]: row for row in ledger["rows"]}
    deployed, shared = steps["generated C, Cortex-M4 image"], steps["codebook C, Cortex-M4 image"]
    instr = "instr/inference"
    setup = min(ref["setup instr"], cmsis["setup instr"])
    overhead = (
        f"TFLM's \"slight overhead\", measured: with reference kernels the interpreter needs "
        f"{ref[instr] / c[instr]:.1f}x the instructions of the generated C per inference and "
        f"{ref['flash B'] / c['flash B']:.1f}x its flash; with Arm's CMSIS-NN kernels it needs "
        f"{cmsis[instr] / c[instr]:.2f}x the generated C's instructions and "
        f"{cmsis['flash B'] / c['flash B']:.1f}x its flash (both use the Cortex-M4's SMLAD; the "
        f"generated C's kernels fall back to plain C99 on other targets), and both TFLM builds "
        f"spend at least {setup:,} instructions on setup (`AllocateTensors`) before the first "
        f"inference. The generated C takes {c[instr] / macs:.2f} instructions per "
        f"multiply-accumulate ({macs:,} MACs). Lesson 06's weight-shared student ({book['bits']} "
        f"bits per layer, {book['bytes']:,} bytes of indices and codebooks for "
        f"{book['weights']:,} int8 weights) saves {c['flash B'] - shared['deployed_bytes']:,} bytes of "
        f"flash in generated C at {book['instructions'] / c[instr]:.2f}x the instructions (every "
        f"weight is decoded before its SIMD multiply), {shared['accuracy']:.2f} % instead of "
        f"{deployed['accuracy']:.2f} %.")
    questions = (
        f"Lesson 04's question, measured: float32 on the Cortex-M4F's FPU takes {fp32[instr]:,} "
        f"instructions per inference in TFLM, int8 with the same reference kernels "
        f"{ref[instr] / fp32[instr]:.1f}x that, int8 with CMSIS-NN "
        f"{cmsis[instr] / fp32[instr]:.2f}x; int8 needs "
        f"{_less(max(ref['RAM B'], cmsis['RAM B']), fp32['RAM B'], 'RAM')} either way, and "
        f"{_less(ref['flash B'], fp32['flash B'], 'flash')} with the same kernels (CMSIS-NN's "
        f"kernels add {cmsis['flash B'] - ref['flash B']:,} B). Lesson 02's: the 82% pruned "
        f"course CNN run by the sparse (CSR) kernel executes {sparse['MACs'] / dense['MACs']:.0%} "
        f"of the dense model's multiply-accumulates at {sparse['instr/MAC']} instructions each "
        f"against {dense['instr/MAC']} for the SIMD kernel, so it saves "
        f"{dense['flash B'] - sparse['flash B']:,} B of flash and costs {sparse['ratio']} the "
        f"instructions; the channel-pruned CNN saves {dense['flash B'] - channels['flash B']:,} B "
        f"of flash and runs in {channels['ratio']}.")
    return "\n\n".join(textwrap.fill(p, width=100, break_on_hyphens=False)
                       for p in (overhead, questions))
