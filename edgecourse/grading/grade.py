"""Autograde submissions with real nbgrader and keep the class's grades in its gradebook.

Grading a class is four steps, one function each: :func:`plan` (who needs grading, and what
every task shares), :func:`run` (the tasks, on an executor: local processes or Dask), :func:`merge`
(one graded submission into the course folder, the gradebook and the manifest; only this
process does it), :func:`report` (feedback pages, the CSV, the summary).
"""

import html
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from edgecourse.grading import gradebook, verdicts
from edgecourse.grading.course import Course, check, lessons
from edgecourse.grading.executors import Executor, LocalExecutor, TaskLost
from edgecourse.grading.gradebook import (
    CellScore,
    export_csv,
    leaderboard,
    merge_scores,
    snapshot,
    submission_scores,
)
from edgecourse.grading.names import STUDENT_ID
from edgecourse.grading.sandbox import Limits, landlock_abi
from edgecourse.grading.submissions import fingerprint
from edgecourse.grading.task import (
    Assignment,
    Graded,
    Submission,
    grade_submission,
    read_folder,
    timestamp_ok,
)

__all__ = ["CellScore", "ClassReport", "StudentResult", "autograde", "cell_scores",
           "ensure_assignment", "grade_class", "load_manifest", "merge", "plan", "prepare_course",
           "report", "run", "submit"]

STATE = ".edgecourse"


# ---- One student at a time (the lesson tests and the benchmark use these) --------------------

def prepare_course(root: Path, course_dir: Path, lesson: str) -> None:
    """Create a grading course directory for ``lesson``: its source and its gradebook entry."""
    _prepare_course(Course.load(root, course_dir), lesson)


def _prepare_course(course: Course, lesson: str) -> None:
    course.course_dir.mkdir(parents=True, exist_ok=True)
    source = course.source_dir / lesson
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(course.root / "solutions" / lesson, source,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    check(course.api().generate_assignment(lesson, force=True), f"generate_assignment {lesson}")


def submit(course_dir: Path, lesson: str, student: str, notebook: Path) -> Path:
    """Place ``notebook`` as ``student``'s submission of ``lesson`` (nbgrader's layout)."""
    folder = course_dir / "submitted" / student / lesson
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{lesson}.ipynb"
    shutil.copyfile(notebook, target)
    return target


def autograde(root: Path, course_dir: Path, lesson: str, *students: str) -> list["StudentResult"]:
    """Grade these students' submissions of ``lesson`` the way ``edgecourse grade`` does.

    One after the other in this thread (one verdict server for all of them); raises if any
    could not be graded.
    """
    course = Course.load(root, course_dir)
    the_plan = plan(course, lesson, force=True)
    the_plan.students = list(students)
    results = [merge(course, lesson, graded)
               for graded in run(course, the_plan, LocalExecutor(1))]
    failed = [r for r in results if r.status == "failed"]
    if len(results) != len(students) or failed:
        raise RuntimeError(f"grading {lesson} failed for "
                           f"{[(r.student, r.notes) for r in failed] or 'some students'}")
    return results


def cell_scores(root: Path, course_dir: Path, lesson: str, student: str) -> dict[str, CellScore]:
    """Return the autograded score of every graded cell of a student's notebook."""
    return gradebook.cell_scores(Course.load(root, course_dir), lesson, student)


# ---- A whole class -----------------------------------------------------------------------------

@dataclass
class StudentResult:
    """How one student's submission of one lesson was graded."""

    student: str
    status: str  # "graded", "zero" (could not be graded as submitted), "failed", "skipped"
    score: float
    max_score: float
    notes: list[str] = field(default_factory=list)


@dataclass
class ClassReport:
    """The outcome of grading one lesson for a class."""

    lesson: str
    results: list[StudentResult]
    csv_path: Path
    feedback_dir: Path
    seconds: float
    workers: str
    isolation: str = ""

    def summary(self) -> str:
        """Return a short text summary: graded, failed to grade and why, mean score."""
        graded = [r for r in self.results if r.status in ("graded", "skipped")]
        trouble = [r for r in self.results if r.status in ("zero", "failed")]
        lines = [f"{self.lesson}: {len(self.results)} submissions in {self.seconds:.0f} s "
                 f"({self.workers})",
                 f"  graded: {len(graded)}"
                 + (f" ({sum(r.status == 'skipped' for r in graded)} unchanged, not regraded)"
                    if any(r.status == "skipped" for r in graded) else "")]
        lines.append(f"  failed to grade as submitted (scored from what could be read): "
                     f"{len(trouble)}")
        for r in trouble:
            lines.append(f"    {r.student}: {r.notes[0] if r.notes else r.status}")
        if self.results:
            mean = sum(r.score for r in self.results) / len(self.results)
            top = max(r.max_score for r in self.results)
            lines.append(f"  mean score: {mean:.2f} / {top:g}")
        lines.append(f"  kernel file isolation: {self.isolation}")
        lines += leaderboard(self.csv_path) if self.csv_path.is_file() else []
        lines.append(f"  grades CSV: {self.csv_path}")
        lines.append(f"  feedback:   {self.feedback_dir}/<student>/{self.lesson}/{self.lesson}.html")
        return "\n".join(lines)


def _atomic_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def _manifest_path(course_dir: Path) -> Path:
    return Path(course_dir) / STATE / "manifest.json"


def load_manifest(course_dir: Path) -> dict:
    """Return what earlier runs recorded: lesson -> student -> fingerprint, status, notes."""
    path = _manifest_path(course_dir)
    return json.loads(path.read_text()) if path.is_file() else {}


def ensure_assignment(course: Course, lesson: str) -> None:
    """Create the course directory and the lesson's gradebook entry unless they exist."""
    if lesson not in lessons(course.root):
        raise ValueError(f"unknown lesson {lesson!r}; lessons with a solution notebook: "
                         f"{lessons(course.root)}")
    course.check_gradebook()
    if course.release_notebook(lesson).is_file():
        with course.gradebook() as gb:
            if any(a.name == lesson for a in gb.assignments):
                return
    _prepare_course(course, lesson)


@dataclass
class Plan:
    """Who is graded this run, who is not (unchanged), and what every grading task shares."""

    lesson: str
    students: list[str]
    unchanged: dict[str, StudentResult]
    assignment: Assignment


def plan(course: Course, lesson: str, *, force: bool = False, cell_timeout: int | None = None,
         limits: Limits | None = None, student_timeout: float = 3600,
         max_output_chars: int = 100_000) -> Plan:
    """Decide which submissions need grading; snapshot what their tasks need."""
    submitted = course.course_dir / "submitted"
    if not submitted.is_dir():
        raise FileNotFoundError(f"no submitted/ folder in {course.course_dir}: run "
                                f"`edgecourse collect {lesson} DOWNLOADS --course-dir "
                                f"{course.course_dir}` first")
    ensure_assignment(course, lesson)
    students = sorted(p.parent.name for p in submitted.glob(f"*/{lesson}") if p.is_dir())
    bad = [s for s in students if not STUDENT_ID.match(s)]
    if bad:
        raise ValueError(f"student ids {bad} in {submitted} are not safe folder names "
                         "(letters, digits, . _ @ + -); rename those folders")
    state = load_manifest(course.course_dir).get(lesson, {})
    known = submission_scores(course, lesson, students)
    unchanged, todo = {}, []
    for student in students:
        record = state.get(student, {})
        graded = (course.course_dir / "autograded" / student / lesson
                  / f"{lesson}.ipynb").is_file()
        scores = known.get(student) if graded else None
        if (not force and scores is not None
                and record.get("fingerprint") == fingerprint(submitted / student / lesson)
                and record.get("status") in ("graded", "zero")):
            unchanged[student] = StudentResult(student, "skipped", *scores,
                                               record.get("notes", []))
        else:
            todo.append(student)
    with course.gradebook() as gb:
        sources = {c.name: c.source for c in gb.find_notebook(lesson, lesson).source_cells}
    scratch = course.course_dir / STATE / "scratch" / lesson
    scratch.mkdir(parents=True, exist_ok=True)
    template = snapshot(course, scratch / "gradebook-snapshot.db")
    references = verdicts.reference(course.root, lesson, scratch / "reference",
                                    limits=limits or Limits()) if todo else {}
    extra = {name: data for name, data in read_folder(course.source_dir / lesson).items()
             if not name.endswith(".ipynb") and ".ipynb_checkpoints" not in name}
    assignment = Assignment(
        repo=str(course.root), lesson=lesson,
        release=course.release_notebook(lesson).read_text(), sources=sources,
        references=references,
        template_db=template, extra_files=extra,
        cell_timeout=int(cell_timeout or course.cell_timeout), limits=limits or Limits(),
        student_timeout=student_timeout, max_output_chars=max_output_chars)
    return Plan(lesson, todo, unchanged, assignment)


def run(course: Course, plan: Plan, executor: Executor) -> Iterator[Graded]:
    """Grade the planned submissions on ``executor``; yield each as it comes back."""
    scratch = course.course_dir / STATE / "scratch" / plan.lesson
    submitted = course.course_dir / "submitted"
    submissions = (Submission(student, read_folder(submitted / student / plan.lesson),
                              str(scratch) if executor.shares_disk else None)
                   for student in plan.students)
    for submission, graded in executor.run(grade_submission, plan.assignment, submissions):
        if isinstance(graded, TaskLost):
            graded = Graded(submission.student, "failed", [
                f"the grading worker died {graded.attempts} times while grading this "
                f"submission, so it was not tried again ({graded.reason})"], None)
        yield graded


def merge(course: Course, lesson: str, graded: Graded) -> StudentResult:
    """Write one graded submission into the course folder, the gradebook and the manifest."""
    student, course_dir = graded.student, course.course_dir
    folder = course_dir / "submitted" / student / lesson
    stamp = (folder / "timestamp.txt").read_text().strip() if timestamp_ok(folder) else None
    target = course_dir / "autograded" / student / lesson
    shutil.rmtree(target, ignore_errors=True)
    if graded.scores is not None:
        target.mkdir(parents=True)
        for name, data in graded.autograded.items():
            (target / Path(name).name).write_bytes(data)
    else:
        _fallback_feedback(course_dir, lesson, student, graded.notes)
    score, top = merge_scores(course, lesson, student, graded.scores, stamp)
    log = course_dir / STATE / "logs" / lesson / f"{student}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(graded.log)
    manifest = load_manifest(course_dir)
    manifest.setdefault(lesson, {})[student] = {
        "fingerprint": fingerprint(folder), "status": graded.status, "notes": graded.notes,
        "score": score, "measured": (graded.scores or {}).get("measured", {})}
    _atomic_json(_manifest_path(course_dir), manifest)
    return StudentResult(student, graded.status, score, top, graded.notes)


def _fallback_feedback(course_dir: Path, lesson: str, student: str, notes: list[str]) -> None:
    """Write a feedback page for a submission that not even its fallback could be graded."""
    target = course_dir / "feedback" / student / lesson / f"{lesson}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    target.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{lesson}</title>"
                      f"</head><body><h1>{lesson}: feedback for {html.escape(student)}</h1>"
                      f"<p>Score: 0</p><ul>{items}</ul></body></html>")


def report(course: Course, plan: Plan, results: dict[str, StudentResult], *, started: float,
           workers: str, csv_path: Path | None = None) -> ClassReport:
    """Generate feedback for who was graded now, write the CSV, return the class report.

    ``started`` is the ``time.monotonic()`` at which grading began.
    """
    lesson = plan.lesson
    graded_now = [s for s in plan.students if results[s].status != "failed"]
    if graded_now:
        feedback = course.api().generate_feedback(lesson, force=True)
        if not feedback.get("success"):
            for student in graded_now:
                results[student].notes.append("feedback generation failed; see the log")
    shutil.rmtree(course.course_dir / STATE / "scratch" / lesson, ignore_errors=True)
    records = load_manifest(course.course_dir).get(lesson, {})
    csv_file = export_csv(course, lesson, records,
                          csv_path or course.course_dir / "grades" / f"{lesson}.csv")
    abi = landlock_abi() if plan.assignment.limits.jail else 0
    isolation = (f"Landlock ABI {abi}: kernels read only Python and write only their folder"
                 if abi else "none: kernels can read and write what this user can (see README)")
    return ClassReport(lesson, [results[s] for s in sorted(results)], csv_file,
                       course.course_dir / "feedback", time.monotonic() - started, workers,
                       isolation)


def grade_class(course: Course, lesson: str, *, executor: Executor | None = None,
                workers: int = 1, cell_timeout: int | None = None, limits: Limits | None = None,
                student_timeout: float = 3600, max_output_chars: int = 100_000,
                force: bool = False, csv_path: Path | None = None,
                progress: bool = True) -> ClassReport:
    """Autograde every submission of ``lesson`` in the course; write feedback and a CSV.

    ``executor`` runs the submissions (default: ``workers`` local worker processes).
    """
    start = time.monotonic()
    executor = executor or LocalExecutor(workers)
    the_plan = plan(course, lesson, force=force, cell_timeout=cell_timeout, limits=limits,
                    student_timeout=student_timeout, max_output_chars=max_output_chars)
    results = dict(the_plan.unchanged)
    bar = tqdm(total=len(the_plan.students), desc=f"grading {lesson}", unit="student",
               file=sys.stderr, disable=not progress or not the_plan.students)
    for graded in run(course, the_plan, executor):
        results[graded.student] = merge(course, lesson, graded)
        bar.update()
    bar.close()
    return report(course, the_plan, results, started=start, workers=executor.description,
                  csv_path=csv_path)

