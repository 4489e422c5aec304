"""Numbers a lesson's prose states must come from what the lesson prints (issue: same numbers).

A markdown number that looks measured (a decimal, or an integer with thousands separators) must
appear in the executed notebook's code or outputs, exactly or as that number rounded in another
unit (KB, M, ...); numbers the prose marks as approximate ("about 0.12") and the few in
``DERIVED`` (derived by the prose itself, with the reason) are exempt.
"""

import re
from pathlib import Path

import nbformat

MEASURED = re.compile(r"(?<![\w.,$])(\d{1,3}(?:,\d{3})+|\d+\.\d+)(?![\d,]*\w)")
# In the README's row of a lesson also: 82%, 3.7k, +6 points.
README_NUMBER = re.compile(r"(?<![\w.,$])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:k\b|%| points?\b|"
                           r"(?![\d,]*\w))")
README = Path(__file__).resolve().parents[1] / "README.md"
ANY = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")
SCALES = (1, 1e3, 1e6, 1e9, 1024, 1024**2, 0.01)  # as printed, k, M, G, KiB, MiB, percent
DERIVED = {
    "01_flash_budgets": {"0.05": "the tolerance the prose grants the lecture's rounded figures"},
    "02_pruning": {"87.5": "the bitmask / CSR break-even, 1 - 1/8, derived in the prose"},
    "04_quantization": {"2.21": "the TensorFlow version whose reference kernel is described"},
    "06_weight_sharing": {"6.5940": "MIT's course number"},
    "07_capstone": {"0.0": "a default argument in a signature",
                    "1.5": "the plan check's stated lower bound (instructions per MAC)",
                    "60,000": "the plan check's stated fixed allowance (instructions)"},
}


def _printed(nb) -> tuple[str, list[float]]:
    texts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        texts.append(cell.source)
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts += [v for v in output.get("data", {}).values() if isinstance(v, str)]
    text = "\n".join(texts)
    values = []
    for match in ANY.finditer(text):
        try:
            values.append(float(match.group().replace(",", "")))
        except ValueError:
            continue
    return text, values


def _unbacked(prose: str, pattern: re.Pattern, exempt: dict, text: str,
              values: list[float]) -> list[str]:
    """Return each number ``pattern`` finds in ``prose`` that nothing printed backs."""
    plain = text.replace(",", "")
    found = []
    for match in pattern.finditer(prose):
        number = match.group(1)
        before = prose[max(0, match.start() - 12):match.start()].lower()
        if number in exempt or "about" in before or "~" in before:
            continue
        if number in text or number.replace(",", "") in plain:
            continue
        digits = len(number.split(".")[1]) if "." in number else 0
        target = float(number.replace(",", ""))
        if any(round(v / s, digits) == target for v in values for s in SCALES):
            continue
        found.append(repr(prose[max(0, match.start() - 40):match.end() + 15]))
    return found


def unproven_numbers(lesson: str, nb: nbformat.NotebookNode) -> list[str]:
    """Return each prose number of an executed notebook that nothing it printed backs."""
    text, values = _printed(nb)
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            prose = re.sub(r"\$[^$]*\$", " ", cell.source)  # formulas derive, they do not report
            found += [f"cell {index}: {where}" for where in
                      _unbacked(prose, MEASURED, DERIVED.get(lesson, {}), text, values)]
    return found


def readme_row(lesson: str) -> str:
    """Return the README's line for ``lesson`` in its table of lessons."""
    rows = [line for line in README.read_text().splitlines() if line.startswith(f"| `{lesson}`")]
    assert len(rows) == 1, f"README.md should have one row for {lesson} in its lessons table"
    return rows[0]


def unproven_readme_numbers(lesson: str, nb: nbformat.NotebookNode) -> list[str]:
    """Return each number of the README's row for ``lesson`` that the executed lesson doesn't back.

    The row's measured-looking numbers and its percentages, thousands ("3.7k") and points.
    """
    text, values = _printed(nb)
    for cell in nb.cells:  # the row may repeat what the lesson's prose derives
        if cell.cell_type == "markdown":
            text += "\n" + cell.source
    return _unbacked(readme_row(lesson), README_NUMBER, DERIVED.get(lesson, {}), text, values)
