"""What the tests know about the lessons: where they are, their exercises, their wrong answers."""

import html
import importlib.util
import os
from pathlib import Path

import nbformat

from edgecourse.grading.course import lessons

REPO = Path(__file__).resolve().parents[1]
LESSONS = lessons(REPO)
IN_CI = bool(os.environ.get("CI"))
# CPU dispatch levels the tests compare (what PyTorch, oneDNN and MKL read): the baseline any
# x86-64 machine runs, and AVX2 (a student's laptop; a server would pick AVX-512 by itself).
LEVELS = {
    "baseline": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41",
                 "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "MKL_CBWR": "SSE4_2"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
             "MKL_ENABLE_INSTRUCTIONS": "AVX2", "MKL_CBWR": "AVX2"},
}


def solution_path(lesson: str) -> Path:
    return REPO / "solutions" / lesson / f"{lesson}.ipynb"


def student_path(lesson: str) -> Path:
    return REPO / "notebooks" / lesson / f"{lesson}.ipynb"


def grade_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def exercises(nb) -> list[str]:
    """Return the grade_ids of the solution cells (the exercises), in notebook order."""
    return [grade_meta(c)["grade_id"] for c in nb.cells
            if grade_meta(c).get("solution") and not grade_meta(c).get("grade")]


def cell_index(nb, grade_id: str) -> int:
    matches = [i for i, c in enumerate(nb.cells) if grade_meta(c).get("grade_id") == grade_id]
    assert len(matches) == 1, f"expected one cell with grade_id {grade_id!r}, found {len(matches)}"
    return matches[0]


def wrong_answers(lesson: str) -> dict[str, list[str]]:
    """Load ``tests/wrong_answers/<lesson>.py``: WRONG maps grade_id -> wrong source(s)."""
    path = REPO / "tests" / "wrong_answers" / f"{lesson}.py"
    assert path.is_file(), f"{lesson} has no wrong answers file at {path}"
    spec = importlib.util.spec_from_file_location(f"wrong_{lesson}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name: [wrong] if isinstance(wrong, str) else list(wrong)
            for name, wrong in module.WRONG.items()}


def with_answers(nb_path: Path, answers: dict[str, str]):
    """Return the notebook at ``nb_path`` with the given exercise cells' sources replaced."""
    nb = nbformat.read(nb_path, as_version=4)
    for grade_id, source in answers.items():
        nb.cells[cell_index(nb, grade_id)].source = source
    return nb


def hidden_test_lines(lesson: str, page: str, submitted: str = "") -> list[str]:
    """Return the code lines of hidden_tests/<lesson>.py found in ``page`` (a feedback page).

    Case names (string literals) and lines that the released notebook or the student's own
    ``submitted`` notebook (its JSON) show anyway do not count.
    """
    text = html.unescape(page)
    released = student_path(lesson).read_text() + html.unescape(submitted)
    lines = (REPO / "hidden_tests" / f"{lesson}.py").read_text().splitlines()
    code = [line.strip() for line in lines if len(line.strip()) >= 20
            and not {'"', "'", "#"} & set(line) and line.strip() not in released]
    return [line for line in code if line in text] + (
        ["### BEGIN HIDDEN TESTS"] if "BEGIN HIDDEN TESTS" in text else [])


def solution_constants(lesson: str, grade_id: str) -> dict:
    """Return the names a solution cell of literal constants defines (a grading reference)."""
    nb = nbformat.read(solution_path(lesson), as_version=4)
    names: dict = {}
    exec(nb.cells[cell_index(nb, grade_id)].source, names)  # literal constants only
    return names
