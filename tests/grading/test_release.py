"""Is notebooks/ exactly what nbgrader makes from solutions/, with nothing of the answers left?"""

import json
import re

import nbformat
import pytest
from lessons import LESSONS, REPO, grade_meta, solution_path, student_path

from edgecourse.grading.release import release


def test_every_lesson_has_a_student_version():
    """Does every solution notebook have its generated student notebook, and nothing extra?"""
    released = sorted(p.name for p in (REPO / "notebooks").iterdir() if p.is_dir())
    assert released == LESSONS, f"notebooks/ holds {released}, solutions/ holds {LESSONS}: run make release"


def test_committed_notebooks_equal_a_fresh_release(tmp_path):
    """Would `make release` change any committed student notebook?"""
    release(REPO, out_root=tmp_path)
    for lesson in LESSONS:
        fresh = json.loads((tmp_path / "notebooks" / lesson / f"{lesson}.ipynb").read_text())
        committed = json.loads(student_path(lesson).read_text())
        assert committed == fresh, f"notebooks/{lesson} is stale: run make release"


@pytest.mark.parametrize("lesson", LESSONS)
def test_student_version_hides_solutions_and_hidden_tests(lesson):
    """Does the student notebook carry no solution code, no hidden test and no marker?"""
    text = student_path(lesson).read_text()
    for marker in ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN"):
        assert marker not in text, f"notebooks/{lesson} contains {marker!r}"
    solution = nbformat.read(solution_path(lesson), as_version=4)
    student = nbformat.read(student_path(lesson), as_version=4)
    student_code = "\n".join(c.source for c in student.cells)
    hidden = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)
    for cell in solution.cells:
        for _, block in hidden.findall(cell.source):
            for line in block.splitlines():
                line = line.strip()
                if len(line) > 25 and not line.startswith("#"):
                    assert line not in student_code, f"notebooks/{lesson} leaks: {line!r}"
    stubs = [c for c in student.cells if grade_meta(c).get("solution")]
    assert stubs and all("raise NotImplementedError" in c.source for c in stubs if c.cell_type == "code")


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
def test_notebooks_are_committed_without_outputs(folder):
    """Are the committed notebooks free of outputs and execution counts?"""
    for path in sorted((REPO / folder).glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        dirty = [i for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and (c.outputs or c.execution_count)]
        assert not dirty, f"{path.relative_to(REPO)} has outputs in cells {dirty}: clear them"
