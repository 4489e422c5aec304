"""Read and write the gradebook (SQLite or PostgreSQL): worker snapshots, scores, the grades CSV.

Only the coordinating process calls :func:`merge_scores`: workers grade against a private SQLite
snapshot, so any number of them can run, on any machine, while one process writes the grades.
"""

import csv
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Base, MissingEntry
from sqlalchemy import MetaData, Table, create_engine
from sqlalchemy.exc import SAWarning

from edgecourse.grading.course import Course

# What a worker's autograde needs: the assignments and their cells, not anyone's submissions.
SNAPSHOT_TABLES = ("course", "assignment", "notebook", "base_cell", "source_cell", "grade_cells",
                   "solution_cells", "task_cells")


@dataclass(frozen=True)
class CellScore:
    """One autograded cell of one student's notebook."""

    grade_id: str
    score: float
    max_score: float


def snapshot(course: Course, path: Path) -> bytes:
    """Copy the gradebook's assignments and cells into a new SQLite file; return its bytes."""
    path = Path(path)
    path.unlink(missing_ok=True)
    source, target = create_engine(course.db_url), create_engine(f"sqlite:///{path}")
    try:
        # nbgrader's schema version too, so opening the snapshot runs no alembic.
        version = Table("alembic_version", MetaData(), autoload_with=source)
        Base.metadata.create_all(target)
        version.create(target)
        with source.connect() as read, target.begin() as write:
            for table in [*Base.metadata.sorted_tables, version]:
                if table.name in (*SNAPSHOT_TABLES, "alembic_version"):
                    rows = [dict(row._mapping) for row in read.execute(table.select())]
                    if rows:
                        write.execute(table.insert(), rows)
    finally:
        source.dispose()
        target.dispose()
    return path.read_bytes()


def merge_scores(course: Course, lesson: str, student: str, scores: dict | None,
                 timestamp: str | None) -> tuple[float, float]:
    """Write one student's autograde scores into the gradebook; return (score, max score)."""
    with warnings.catch_warnings(), course.gradebook() as gb:
        # nbgrader's add_submission trips SQLAlchemy autoflush warnings that mean nothing here.
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(student)
        kwargs = {"timestamp": timestamp} if timestamp else {}
        gb.update_or_create_submission(lesson, student, **kwargs)
        nb = gb.find_submission_notebook(lesson, lesson, student)
        grades = (scores or {}).get("grades", {})
        comments = (scores or {}).get("comments", {})
        for grade in nb.grades:
            # A cell the worker did not report (or no scores at all) earns nothing.
            grade.auto_score = grades[grade.name]["auto_score"] if grade.name in grades else 0.0
            # Like nbgrader: an instructor's manual score is kept and flagged for review.
            grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        for comment in nb.comments:
            comment.auto_comment = comments.get(comment.name)
        nb.late_submission_penalty = (scores or {}).get("late_penalty")
        gb.db.commit()
        return float(nb.score), float(nb.max_score)


def submission_scores(course: Course, lesson: str,
                      students: list[str]) -> dict[str, tuple[float, float]]:
    """Return (score, max score) of each student's submission that the gradebook holds."""
    scores = {}
    with course.gradebook() as gb:
        for student in students:
            try:
                nb = gb.find_submission_notebook(lesson, lesson, student)
            except MissingEntry:
                continue
            scores[student] = (float(nb.score), float(nb.max_score))
    return scores


def cell_scores(course: Course, lesson: str, student: str) -> dict[str, CellScore]:
    """Return the autograded score of every graded cell of a student's notebook."""
    with course.gradebook() as gb:
        nb = gb.find_submission_notebook(lesson, lesson, student)
        return {
            g.name: CellScore(g.name, float(g.score), float(g.max_score))
            for g in nb.grades
            if g.auto_score is not None or g.max_score > 0
        }


def exercise_columns(release: nbformat.NotebookNode) -> list[str]:
    """Return the grade ids of the graded cells of a release notebook, in order."""
    return [c.metadata["nbgrader"]["grade_id"] for c in release.cells
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")]


def measured_columns(records: dict) -> list[tuple[str, str]]:
    """Return the (exercise, quantity) pairs any record measured (lesson 07's device numbers)."""
    pairs = [(exercise, key) for _, record in sorted(records.items())
             for exercise, numbers in (record.get("measured") or {}).items() for key in numbers]
    return list(dict.fromkeys(pairs))  # in the order the scorer reports them


def export_csv(course: Course, lesson: str, records: dict, path: Path) -> Path:
    """Write one row per student: points per exercise, total, status and notes from ``records``.

    An exercise graded by measurement adds its numbers as columns ("<exercise> <quantity>")
    beside the points: the class's leaderboard.
    """
    release = nbformat.read(course.release_notebook(lesson), as_version=4)
    columns = exercise_columns(release)
    measured = measured_columns(records)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with course.gradebook() as gb, open(path, "w", newline="") as out:
        max_total = sum(float(gb.find_graded_cell(c, lesson, lesson).max_score) for c in columns)
        writer = csv.writer(out)
        writer.writerow(["student", "assignment", *[c.removeprefix("test_") for c in columns],
                         "total", "max_score", *[f"{e} {k}" for e, k in measured], "status",
                         "notes"])
        for student in sorted(s.id for s in gb.students):
            try:
                nb = gb.find_submission_notebook(lesson, lesson, student)
            except MissingEntry:
                writer.writerow([student, lesson, *[0] * len(columns), 0, max_total,
                                 *[""] * len(measured), "no submission", ""])
                continue
            by_name = {g.name: float(g.score) for g in nb.grades}
            record = records.get(student, {})
            numbers = record.get("measured") or {}
            writer.writerow([student, lesson, *[f"{by_name.get(c, 0.0):g}" for c in columns],
                             f"{float(nb.score):g}", f"{max_total:g}",
                             *[numbers.get(e, {}).get(k, "") for e, k in measured],
                             record.get("status", "graded"), " | ".join(record.get("notes", []))])
    return path


def leaderboard(csv_path: Path, limit: int = 10) -> list[str]:
    """Return the grades CSV's leaderboard lines for an exercise graded by measurement.

    Its measured columns are those :func:`export_csv` writes between the points and the status.
    Ranked by total points, then by fewest instructions; empty when nothing was measured.
    """
    with open(csv_path, newline="") as fh:
        reader = csv.DictReader(fh)
        rows = [r for r in reader if r["status"] != "no submission"]
    header = reader.fieldnames or []
    fields = header[header.index("max_score") + 1:header.index("status")] if header else []
    if not fields or not rows:
        return []
    speed = next((f for f in fields if f.endswith(" instructions")), None)

    def key(row):
        instructions = row.get(speed) or ""
        return (-float(row["total"]), float(instructions) if instructions else float("inf"),
                row["student"])
    lines = ["  leaderboard (points, then fewest instructions): " + ", ".join(fields)]
    for rank, row in enumerate(sorted(rows, key=key)[:limit], 1):
        numbers = "  ".join(f"{row[f] or '-':>9}" for f in fields)
        points = f"{float(row['total']):g}/{float(row['max_score']):g}"
        lines.append(f"    {rank:2d}. {row['student']:<16} {points:>9}  {numbers}")
    return lines
