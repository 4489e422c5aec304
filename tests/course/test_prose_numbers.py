"""Does the prose-number check flag a number the lesson no longer prints, and only that?"""

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from prose_numbers import README_NUMBER, _printed, _unbacked, unproven_numbers


def _lesson(prose: str, printed: str) -> nbformat.NotebookNode:
    code = new_code_cell("print(result)")
    code.outputs = [new_output("stream", name="stdout", text=printed)]
    return new_notebook(cells=[new_markdown_cell(prose), code])


def test_a_drifted_number_is_flagged_and_a_printed_one_is_not():
    assert unproven_numbers("x", _lesson("The student reaches 97.78 %.", "accuracy 97.50"))
    assert not unproven_numbers("x", _lesson("The student reaches 97.78 %.", "accuracy 97.78"))
    assert not unproven_numbers("x", _lesson("It has 25,408 MACs.", "macs 25408"))


def test_units_approximations_and_formulas_are_not_flagged():
    assert not unproven_numbers("x", _lesson("The weights take 14.6 KB.", "14632 bytes"))
    assert not unproven_numbers("x", _lesson("A loss of about 0.12 per step.", "nothing"))
    assert not unproven_numbers("x", _lesson("Rounding: $0.74 \\cdot 255 = 188.7$.", "nothing"))
    assert unproven_numbers("x", _lesson("The weights take 14.9 KB.", "14632 bytes"))


def test_a_readme_row_counts_percentages_thousands_and_points():
    row = "| `x` | prune to 82% sparsity within 1 point, a 3.7k-parameter student, +6 points |"
    assert [m.group(1) for m in README_NUMBER.finditer(row)] == ["82", "1", "3.7", "6"]
    text, values = _printed(_lesson("", "sparsity 0.82, params 3658, gain 5.9, 1"))
    assert not _unbacked(row, README_NUMBER, {}, text, values)
    text, values = _printed(_lesson("", "sparsity 0.75, params 3658, gain 5.9, 1"))
    flagged = _unbacked(row, README_NUMBER, {}, text, values)
    assert len(flagged) == 1 and "82% sparsity" in flagged[0], flagged
