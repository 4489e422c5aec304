"""Autograde submissions with real nbgrader and read the scores back from its gradebook."""

import shutil
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook

from edgecourse.nbgrader_course import api, check, load_config


@dataclass(frozen=True)
class CellScore:
    """One autograded cell of one student's notebook."""

    grade_id: str
    score: float
    max_score: float


def prepare_course(root: Path, course_dir: Path, lesson: str) -> None:
    """Create a grading course directory for ``lesson``: its source and its gradebook entry."""
    course_dir.mkdir(parents=True, exist_ok=True)
    source = course_dir / "solutions" / lesson
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(root / "solutions" / lesson, source,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    nbapi = api(load_config(root, course_dir=course_dir))
    check(nbapi.generate_assignment(lesson, force=True), f"generate_assignment {lesson}")


def submit(course_dir: Path, lesson: str, student: str, notebook: Path) -> Path:
    """Place ``notebook`` as ``student``'s submission of ``lesson`` (nbgrader's layout)."""
    folder = course_dir / "submitted" / student / lesson
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{lesson}.ipynb"
    shutil.copyfile(notebook, target)
    return target


def autograde(root: Path, course_dir: Path, lesson: str, student: str) -> None:
    """Autograde one student's submission of ``lesson`` through nbgrader."""
    nbapi = api(load_config(root, course_dir=course_dir))
    check(nbapi.autograde(lesson, student, force=True, create=True), f"autograde {lesson} {student}")


def cell_scores(root: Path, course_dir: Path, lesson: str, student: str) -> dict[str, CellScore]:
    """Return the autograded score of every graded cell of a student's notebook."""
    config = load_config(root, course_dir=course_dir)
    with Gradebook(config.CourseDirectory.db_url) as gb:
        nb = gb.find_submission_notebook(lesson, lesson, student)
        return {
            g.name: CellScore(g.name, float(g.score), float(g.max_score))
            for g in nb.grades
            if g.auto_score is not None or g.max_score > 0
        }
