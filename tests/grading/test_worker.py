"""Does one worker process grade one submission in its scratch course, whatever the kernel does?

A one-exercise assignment (conftest.tiny_solution) keeps each worker run to a few seconds.
"""

import json
import shutil
import subprocess
import sys
from dataclasses import asdict

import nbformat
import pytest
from conftest import TINY, tiny_answer, tiny_solution
from lessons import REPO

from edgecourse.grading.course import Course, check
from edgecourse.grading.gradebook import snapshot
from edgecourse.grading.sandbox import Limits, landlock_abi
from edgecourse.grading.task import run_worker
from edgecourse.grading.worker import LimitOutputSize

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def template_db(tmp_path_factory):
    """Generate the tiny assignment in a course; return a gradebook snapshot of it."""
    course = Course.load(REPO, tmp_path_factory.mktemp("tiny") / "course")
    source = course.source_dir / TINY
    source.mkdir(parents=True)
    nbformat.write(tiny_solution(), source / f"{TINY}.ipynb")
    check(course.api().generate_assignment(TINY, force=True), "generate_assignment")
    return snapshot(course, course.course_dir / "snapshot.db")


def grade(tmp_path, template_db, nb, student="ann", **limits) -> tuple[dict, dict]:
    """Run one worker on ``nb``; return its outcome and the autograded notebook."""
    scratch = tmp_path / student
    submitted = scratch / "course" / "submitted" / student / TINY
    submitted.mkdir(parents=True)
    nbformat.write(nb, submitted / f"{TINY}.ipynb")
    (tmp_path / "template.db").write_bytes(template_db)
    job = {"repo": str(REPO), "scratch": str(scratch), "lesson": TINY, "student": student,
           "template_db": str(tmp_path / "template.db"), "cell_timeout": 30,
           "source_dir": None, "limits": asdict(Limits(**limits)), "max_output_chars": 1000}
    outcome = run_worker(job, timeout=300)
    graded = scratch / "course" / "autograded" / student / TINY / f"{TINY}.ipynb"
    return outcome, (json.loads(graded.read_text()) if graded.is_file() else {})


def _outputs(nb: dict) -> str:
    return json.dumps([c.get("outputs", []) for c in nb["cells"]])


def test_right_and_wrong_answers_score_one_and_zero(tmp_path, template_db):
    """Does the worker report 1 point for a right square and 0 for a wrong one?"""
    right, _ = grade(tmp_path, template_db, tiny_answer("return x * x"), "right")
    wrong, graded = grade(tmp_path, template_db, tiny_answer("return x + x"), "wrong")
    assert right["success"] and wrong["success"], (right["log"], wrong["log"])
    assert right["grades"]["test_square"]["auto_score"] == 1
    assert wrong["grades"]["test_square"]["auto_score"] == 0
    assert "AssertionError" in _outputs(graded)


def test_a_dying_kernel_fails_only_its_cell(tmp_path, template_db):
    """When a cell kills the kernel, is it restarted, the cells before replayed, the check run?"""
    nb = tiny_answer("return x * x")
    nb.cells.insert(3, nbformat.v4.new_code_cell("import os\nos._exit(1)"))
    outcome, graded = grade(tmp_path, template_db, nb)
    assert outcome["success"], outcome["log"]
    assert "KernelDied" in _outputs(graded)
    assert outcome["grades"]["test_square"]["auto_score"] == 1, "the replay lost square()"


@pytest.mark.skipif(landlock_abi() < 1, reason="Landlock unavailable on this kernel")
def test_the_kernel_cannot_write_the_gradebook_it_grades_into(tmp_path, template_db):
    """Is the scratch gradebook out of the kernel's reach, so a student cannot set a score?"""
    nb = tiny_answer("return x + x")
    nb.cells.insert(3, nbformat.v4.new_code_cell(
        "try:\n    open('../../../gradebook.db', 'r+b').write(b'0')\n    print('WROTE')\n"
        "except PermissionError:\n    print('REFUSED')"))
    outcome, graded = grade(tmp_path, template_db, nb)
    assert outcome["success"], outcome["log"]
    assert "REFUSED" in _outputs(graded) and "WROTE" not in _outputs(graded)
    assert outcome["grades"]["test_square"]["auto_score"] == 0


def test_output_is_cut_to_the_limit():
    """Does LimitOutputSize cut a long stream to max_bytes and say how long it was?"""
    cell = nbformat.v4.new_code_cell("print('x' * 5000)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 5000)]
    cut, _ = LimitOutputSize(max_bytes=100).preprocess_cell(cell, {}, 0)
    assert cut.outputs[0].text.startswith("x" * 100) and "5,000 characters" in cut.outputs[0].text
    assert len(cut.outputs[0].text) < 200


def test_worker_without_a_job_is_a_usage_error():
    """Does `python -m edgecourse.grading.worker` with no job file exit 2 with its usage?"""
    done = subprocess.run([sys.executable, "-m", "edgecourse.grading.worker"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "usage" in done.stderr


def test_no_result_means_the_worker_failed(tmp_path):
    """When the worker dies before writing result.json, is that reported with its exit code?"""
    scratch = tmp_path / "s"
    scratch.mkdir()
    outcome = run_worker({"scratch": str(scratch), "repo": "/nonexistent"}, timeout=60)
    assert not outcome["success"] and "exit code 1" in outcome["reason"], outcome
    shutil.rmtree(scratch)
