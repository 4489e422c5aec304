"""Plot and table helpers the lessons share: sizes against a budget, per-layer bars (lesson 01)."""

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

BUDGET_COLOR = "tab:red"


def _check_lengths(labels: Sequence[str], values: Sequence[float], what: str) -> None:
    if len(labels) != len(values):
        raise ValueError(f"{what}: {len(labels)} labels but {len(values)} values")
    if len(labels) == 0:
        raise ValueError(f"{what}: nothing to plot")


def human_bytes(nbytes: float) -> str:
    """Format a byte count with binary prefixes (B, KiB, MiB, GiB)."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB"):
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def size_chart(
    names: Sequence[str],
    sizes: Mapping[str, Sequence[float]],
    budget_bytes: float,
    budget_label: str = "flash",
    ax: Axes | None = None,
    title: str = "",
) -> Axes:
    """Draw grouped horizontal bars of byte sizes on a log axis, with the budget as a line.

    ``sizes`` maps a series label (e.g. 'fp32', 'int8') to one size per name.
    """
    if not sizes:
        raise ValueError("sizes is empty: give at least one series, e.g. {'int8': [...]}")
    for label, values in sizes.items():
        _check_lengths(names, values, f"size_chart series {label!r}")
        if min(values) <= 0:
            raise ValueError(f"size_chart series {label!r}: sizes must be > 0 on a log axis")
    if not budget_bytes > 0:
        raise ValueError(f"budget_bytes must be > 0, got {budget_bytes}")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.3 * len(names) * max(2, len(sizes)) / 2 + 1.2))
    height = 0.8 / len(sizes)
    rows = np.arange(len(names))
    for i, (label, values) in enumerate(sizes.items()):
        ax.barh(rows + (i - (len(sizes) - 1) / 2) * height, values, height=height, label=label)
    ax.axvline(budget_bytes, color=BUDGET_COLOR, linestyle="--",
               label=f"{budget_label} ({human_bytes(budget_bytes)})")
    ax.set_xscale("log")
    ax.set_yticks(rows, names)
    ax.invert_yaxis()  # first name on top, as in a table
    ax.set_xlabel("bytes (log scale)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return ax


def layer_bars(
    labels: Sequence[str],
    values: Sequence[float],
    budget: float | None = None,
    budget_label: str = "SRAM",
    ax: Axes | None = None,
    title: str = "",
) -> Axes:
    """Draw one bar per layer (e.g. activation bytes), with an optional budget line."""
    _check_lengths(labels, values, "layer_bars")
    if ax is None:
        _, ax = plt.subplots(figsize=(min(12.0, max(6.0, 0.15 * len(labels))), 3.5))
    colors = ["tab:blue" if budget is None or v <= budget else "tab:orange" for v in values]
    ax.bar(np.arange(len(values)), values, color=colors)
    if budget is not None:
        ax.axhline(budget, color=BUDGET_COLOR, linestyle="--",
                   label=f"{budget_label} ({human_bytes(budget)})")
        ax.legend(loc="upper right")
    # Many layers: label every k-th bar so the names stay readable.
    step = max(1, len(labels) // 30)
    ticks = np.arange(0, len(labels), step)
    ax.set_xticks(ticks, [labels[i] for i in ticks], rotation=90, fontsize=7)
    ax.set_ylabel("bytes")
    ax.set_title(title)
    return ax


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return a Markdown table (show it with ``IPython.display.Markdown``)."""
    for i, row in enumerate(rows):
        if len(row) != len(headers):
            raise ValueError(f"row {i} has {len(row)} cells, headers have {len(headers)}")
    lines = ["| " + " | ".join(map(str, headers)) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)
