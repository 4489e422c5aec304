"""Is every graded exercise proven both ways through nbgrader's real autograde?

Parametrized over solutions/*, so a new lesson is picked up without touching this file.
Each grading runs in its own course directory (its own gradebook), so tests run in parallel.
"""

import nbformat
import pytest
from lessons import (
    LESSONS,
    REPO,
    cell_index,
    exercises,
    grade_meta,
    solution_path,
    student_path,
    with_answers,
    wrong_answers,
)
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from edgecourse.grading.grade import autograde, cell_scores, prepare_course, submit

pytestmark = pytest.mark.slow


def grade(tmp_path, lesson: str, notebook_path) -> dict:
    course = tmp_path / "course"
    prepare_course(REPO, course, lesson)
    submit(course, lesson, "someone", notebook_path)
    autograde(REPO, course, lesson, "someone")
    scores = cell_scores(REPO, course, lesson, "someone")
    assert scores, f"{lesson}: nbgrader recorded no graded cells"
    return scores


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
        f"{lesson}: tests/wrong_answers/{lesson}.py must hold one wrong answer per exercise {names}"
    )


@pytest.mark.parametrize("lesson", LESSONS)
def test_solution_scores_full_marks(tmp_path, lesson):
    """Does the instructor's solution, submitted as is, get every point?"""
    scores = grade(tmp_path, lesson, solution_path(lesson))
    lost = {k: (s.score, s.max_score) for k, s in scores.items() if s.score != s.max_score}
    assert not lost, f"{lesson}: the solution loses points in {lost}"
    assert sum(s.max_score for s in scores.values()) > 0


@pytest.mark.parametrize("lesson", LESSONS)
def test_untouched_student_version_scores_zero(tmp_path, lesson):
    """Does the student version, with its stubs, score zero on every autograded cell?"""
    scores = grade(tmp_path, lesson, student_path(lesson))
    earned = {k: s.score for k, s in scores.items() if s.score != 0}
    assert not earned, f"{lesson}: the unsolved notebook earns points in {earned}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_wrong_answers_score_nothing(tmp_path, lesson):
    """Does a submission with a plausible wrong answer in every exercise lose all those points?"""
    nb = with_answers(student_path(lesson), wrong_answers(lesson))
    path = tmp_path / f"{lesson}.ipynb"
    nbformat.write(nb, path)
    scores = grade(tmp_path, lesson, path)
    earned = {k: s.score for k, s in scores.items() if s.score != 0}
    assert not earned, f"{lesson}: wrong answers still earn points in {earned}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_each_wrong_answer_fails_its_check(lesson):
    """In one live kernel: does each wrong answer, alone, fail its grade cell, and the fix pass?"""
    nb = nbformat.read(solution_path(lesson), as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(solution_path(lesson).parent)}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
        for name, wrong in wrong_answers(lesson).items():
            start, stop = cell_index(nb, name), cell_index(nb, f"test_{name}")
            for source, should_fail in ((wrong, True), (nb.cells[start].source, False)):
                failed = False
                for index in range(start, stop + 1):
                    cell = nbformat.from_dict(dict(nb.cells[index]))
                    if cell.cell_type != "code":
                        continue
                    if index == start:
                        cell.source = source
                    try:
                        client.execute_cell(cell, index)
                    except CellExecutionError as error:
                        assert should_fail, f"{lesson}: restoring {name} left an error:\n{error}"
                        failed = index == stop
                assert failed == should_fail, (
                    f"{lesson}: the wrong answer to {name} passes test_{name}" if should_fail
                    else f"{lesson}: the right answer to {name} fails test_{name}"
                )
