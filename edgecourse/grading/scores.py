"""What a graded submission scored: nbgrader's grades, and the verdicts that replace them.

nbgrader scores each check cell in the student's kernel; :mod:`edgecourse.grading.verdicts`
decides the exercise outside it. :func:`apply_verdicts` puts the verdicts in the scratch
course's gradebook and under each check cell of the graded notebook;
:func:`read_scores` reads what the gradebook then holds.
"""


import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook

from edgecourse.grading.course import Course
from edgecourse.grading.verdicts import Verdict


def read_scores(db_url: str, lesson: str, student: str) -> dict:
    """Return the grades and comments nbgrader saved for one submission."""
    with Gradebook(db_url) as gb:
        nb = gb.find_submission_notebook(lesson, lesson, student)
        return {
            "grades": {g.name: {"auto_score": g.auto_score, "max_score": float(g.max_score),
                                "needs_manual_grade": bool(g.needs_manual_grade)}
                       for g in nb.grades},
            "comments": {c.name: c.auto_comment for c in nb.comments},
            "late_penalty": nb.late_submission_penalty,
        }


def verdict_output(verdict: Verdict) -> NotebookNode:
    """Return the output the grader adds under a check cell: the points and why any were lost."""
    lines = [f"Grader: {verdict.points:g} of {verdict.max_points:g} points for "
             f"{verdict.exercise} (hidden checks run on your answer alone, in a fresh process)."]
    lines += [f"  - {m}" for m in verdict.messages]
    return NotebookNode(output_type="stream", name="stdout", text="\n".join(lines) + "\n")


def apply_verdicts(course: Course, lesson: str, student: str, results: list[Verdict]) -> None:
    """Put the verdicts in ``course``'s gradebook and, under each check, in the graded notebook."""
    graded_nb = course.course_dir / "autograded" / student / lesson / f"{lesson}.ipynb"
    nb = nbformat.read(graded_nb, as_version=4)
    by_check = {f"test_{v.exercise}": v for v in results}
    with Gradebook(course.db_url) as gb:
        for grade in gb.find_submission_notebook(lesson, lesson, student).grades:
            verdict = by_check.get(grade.name)
            if verdict is not None:
                grade.auto_score = verdict.points
        gb.db.commit()
    for cell in nb.cells:
        grade_id = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in by_check:
            cell.outputs.append(verdict_output(by_check[grade_id]))
    nbformat.write(nb, graded_nb)
