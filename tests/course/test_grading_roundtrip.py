"""Is every graded exercise proven both ways through the real grading path (nbgrader + verdicts)?

Parametrized over solutions/*, so a new lesson is picked up without touching this file. Each
lesson grades its three submissions (solution, untouched, wrong answers) in its own course
directory (its own gradebook) with one verdict server, so lessons run in parallel.
"""

import nbformat
import pytest
from lessons import (
    LESSONS,
    LEVELS,
    REPO,
    cell_index,
    exercises,
    grade_meta,
    hidden_test_lines,
    solution_path,
    student_path,
    with_answers,
    wrong_answers,
)

from edgecourse.grading.course import Course, check
from edgecourse.grading.grade import autograde, cell_scores, prepare_course, submit
from edgecourse.grading.verdicts import hidden_module

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("lesson", LESSONS)
def test_exercise_layout(lesson):
    """Does every exercise have exactly one graded test cell after it, and a wrong answer?"""
    nb = nbformat.read(solution_path(lesson), as_version=4)
    names = exercises(nb)
    assert len(names) >= 5, f"{lesson} has {len(names)} graded exercises; at least five expected"
    graded = [grade_meta(c)["grade_id"] for c in nb.cells if grade_meta(c).get("grade")]
    assert sorted(graded) == sorted(f"test_{n}" for n in names), (
        f"{lesson}: graded cells {graded} do not pair one-to-one with exercises {names}"
    )
    for name in names:
        assert cell_index(nb, name) < cell_index(nb, f"test_{name}"), f"test_{name} comes before {name}"
        assert "### BEGIN SOLUTION" in nb.cells[cell_index(nb, name)].source, f"{name} has no solution block"
    assert set(wrong_answers(lesson)) == set(names), (
        f"{lesson}: tests/wrong_answers/{lesson}.py must hold wrong answers for exercises {names}"
    )
    hidden = hidden_module(REPO, lesson)
    missing = [n for n in names if not callable(getattr(hidden, f"probe_{n}", None))]
    assert not missing, f"hidden_tests/{lesson}.py has no probe for {missing}"
    leaked = [grade_meta(c)["grade_id"] for c in nb.cells
              if grade_meta(c).get("grade") and "HIDDEN TESTS" in c.source]
    assert not leaked, f"{lesson}: hidden tests belong in hidden_tests/{lesson}.py, not in {leaked}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_grading_proves_every_exercise_both_ways(tmp_path, lesson, monkeypatch):
    """Through `edgecourse grade`'s path, in one course: does the instructor's solution get every
    point, the untouched student version none, and a notebook with a plausible wrong answer in
    every exercise none, with feedback that says why and holds no hidden test? Graded with the
    environment asking for the baseline CPU kernels (test_verdicts grades at AVX2)."""
    for key, value in LEVELS["baseline"].items():
        monkeypatch.setenv(key, value)
    wrong = tmp_path / f"{lesson}.ipynb"
    nbformat.write(with_answers(student_path(lesson),
                                {n: w[0] for n, w in wrong_answers(lesson).items()}), wrong)
    course_dir = tmp_path / "course"
    prepare_course(REPO, course_dir, lesson)
    notebooks = {"solution": solution_path(lesson), "untouched": student_path(lesson),
                 "wrong": wrong}
    for student, path in notebooks.items():
        submit(course_dir, lesson, student, path)
    _warm_tflm_cache(lesson)
    autograde(REPO, course_dir, lesson, *notebooks)
    scores = {student: cell_scores(REPO, course_dir, lesson, student) for student in notebooks}
    assert scores["solution"], f"{lesson}: nbgrader recorded no graded cells"
    lost = {k: (s.score, s.max_score) for k, s in scores["solution"].items()
            if s.score != s.max_score}
    assert not lost, f"{lesson}: the solution loses points in {lost}"
    graded = nbformat.read(course_dir / "autograded" / "solution" / lesson / f"{lesson}.ipynb",
                           as_version=4)
    errors = [(i, o.ename, o.evalue[:300]) for i, cell in enumerate(graded.cells)
              for o in cell.get("outputs", []) if o.output_type == "error"]
    assert not errors, f"{lesson}: the solution's graded notebook shows errors {errors}"
    assert sum(s.max_score for s in scores["solution"].values()) > 0
    for student in ("untouched", "wrong"):
        earned = {k: s.score for k, s in scores[student].items() if s.score != 0}
        assert not earned, f"{lesson}: the {student} notebook earns points in {earned}"
    # The feedback a student gets back says why, and holds no hidden test.
    course = Course.load(REPO, course_dir)
    check(course.api().generate_feedback(lesson, "wrong", force=True), "generate_feedback")
    page = (course_dir / "feedback" / "wrong" / lesson / f"{lesson}.html").read_text()
    leaks = hidden_test_lines(lesson, page, wrong.read_text())
    assert not leaks, f"{lesson}: the feedback shows hidden test code: {leaks[:3]}"
    assert page.count("Grader: 0 of") == len(scores["wrong"]), "each check explains its verdict"


def _warm_tflm_cache(lesson: str) -> None:
    """Build the TFLM libraries a lesson's firmware cells link (seconds when cached), as running
    the lesson once does: a grading kernel reads the library cache but may not write it."""
    nb = nbformat.read(solution_path(lesson), as_version=4)
    if not any("verify_tflm" in cell.source for cell in nb.cells):
        return
    from firmware_models import course_images, course_model

    from edgecourse.deploy.firmware import verify_tflm
    from edgecourse.deploy.firmware.tflm_tree import available_trees
    from edgecourse.deploy.runtimes import model_input

    X = model_input(course_model(), course_images(1))
    for kernels in available_trees():
        verify_tflm(course_model(), X, "warm", kernels, host=False, count=False)
