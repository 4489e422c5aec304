"""Autograde submissions with real nbgrader and read the scores back from its gradebook."""

import contextlib
import csv
import dataclasses
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.utils import parse_utc
from sqlalchemy.exc import SAWarning
from tqdm.auto import tqdm

from edgecourse.grading.course import api, check, lessons, load_config
from edgecourse.grading.names import STUDENT_ID
from edgecourse.grading.sandbox import Limits, landlock_abi
from edgecourse.grading.submissions import fingerprint, prepare, transplant, unanswered, with_notes


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


# ---- Grading a whole class --------------------------------------------------------------------
# Each submission is graded by its own worker process (edgecourse.grading.worker) in a scratch
# course with a snapshot of the gradebook; this process is the only one that writes the real
# gradebook, so workers can run side by side and a crashed worker cannot corrupt it.

STATE = ".edgecourse"


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
    workers: int
    isolation: str = ""

    def summary(self) -> str:
        """Return a short text summary: graded, failed to grade and why, mean score."""
        graded = [r for r in self.results if r.status in ("graded", "skipped")]
        trouble = [r for r in self.results if r.status in ("zero", "failed")]
        lines = [f"{self.lesson}: {len(self.results)} submissions in {self.seconds:.0f} s "
                 f"({self.workers} worker{'s' * (self.workers > 1)})",
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
        lines.append(f"  grades CSV: {self.csv_path}")
        lines.append(f"  feedback:   {self.feedback_dir}/<student>/{self.lesson}/{self.lesson}.html")
        return "\n".join(lines)


def _atomic_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def _manifest_path(course_dir: Path) -> Path:
    return course_dir / STATE / "manifest.json"


def load_manifest(course_dir: Path) -> dict:
    """Return what earlier runs recorded: lesson -> student -> fingerprint, status, notes."""
    path = _manifest_path(course_dir)
    return json.loads(path.read_text()) if path.is_file() else {}


def ensure_assignment(root: Path, course_dir: Path, lesson: str) -> None:
    """Create the course directory and the lesson's gradebook entry unless they exist."""
    if lesson not in lessons(root):
        raise ValueError(f"unknown lesson {lesson!r}; lessons with a solution notebook: "
                         f"{lessons(root)}")
    config = load_config(root, course_dir=course_dir)
    release_nb = course_dir / config.CourseDirectory.release_directory / lesson / f"{lesson}.ipynb"
    if (course_dir / "gradebook.db").is_file() and release_nb.is_file():
        with Gradebook(config.CourseDirectory.db_url) as gb:
            if any(a.name == lesson for a in gb.assignments):
                return
    prepare_course(root, course_dir, lesson)


def _timestamp_ok(folder: Path) -> bool:
    stamp = folder / "timestamp.txt"
    try:
        return stamp.is_file() and parse_utc(stamp.read_text().strip()) is not None
    except (ValueError, OverflowError):
        return False


def _run_worker(job: dict, timeout: float) -> dict:
    """Run one worker process; kill it and its kernels if it runs past ``timeout`` seconds."""
    scratch = Path(job["scratch"])
    (scratch / "job.json").write_text(json.dumps(job))
    with open(scratch / "worker.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "edgecourse.grading.worker", str(scratch / "job.json")],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pids = scratch / "kernel.pids"
            for pid in (pids.read_text().split() if pids.is_file() else []):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(pid), signal.SIGKILL)
            return {"success": False, "log": "", "reason":
                    f"grading this notebook took longer than {timeout:.0f} s and was stopped"}
    result = scratch / "result.json"
    if not result.is_file():
        tail = (scratch / "worker.log").read_text(errors="replace")[-2000:]
        return {"success": False, "log": tail, "reason": f"the grader process failed (exit code "
                f"{proc.returncode})"}
    return json.loads(result.read_text())


def _failure_reason(outcome: dict) -> str:
    if outcome.get("reason"):
        return outcome["reason"]
    log = outcome.get("log", "")
    for line in reversed(log.splitlines()):
        if re.search(r"(Error|Exception)\b", line) and "Traceback" not in line:
            return "nbgrader could not grade it: " + line.strip()[:200]
    return "nbgrader could not grade it"


def _merge(db_url: str, lesson: str, student: str, scores: dict | None,
           timestamp: str | None) -> tuple[float, float]:
    """Write one student's autograde scores into the gradebook (the single writer)."""
    with warnings.catch_warnings(), Gradebook(db_url) as gb:
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


def _copy_autograded(scratch_course: Path, course_dir: Path, lesson: str, student: str) -> None:
    """Copy the graded notebooks (not files the submission wrote) into the course."""
    source = scratch_course / "autograded" / student / lesson
    target = course_dir / "autograded" / student / lesson
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for path in [*source.glob("*.ipynb"), source / "timestamp.txt"]:
        if path.is_file():
            shutil.copyfile(path, target / path.name)


def _exercise_columns(release: "nbformat.NotebookNode") -> list[str]:
    return [c.metadata["nbgrader"]["grade_id"] for c in release.cells
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")]


def export_csv(root: Path, course_dir: Path, lesson: str, path: Path | None = None) -> Path:
    """Write one row per student of the gradebook for ``lesson``: points per exercise, total."""
    config = load_config(root, course_dir=course_dir)
    release = nbformat.read(course_dir / config.CourseDirectory.release_directory / lesson
                            / f"{lesson}.ipynb", as_version=4)
    columns = _exercise_columns(release)
    state = load_manifest(course_dir).get(lesson, {})
    path = Path(path or course_dir / "grades" / f"{lesson}.csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    with Gradebook(config.CourseDirectory.db_url) as gb, open(path, "w", newline="") as out:
        max_total = sum(float(gb.find_graded_cell(c, lesson, lesson).max_score) for c in columns)
        writer = csv.writer(out)
        writer.writerow(["student", "assignment", *[c.removeprefix("test_") for c in columns],
                         "total", "max_score", "status", "notes"])
        for student in sorted(s.id for s in gb.students):
            try:
                nb = gb.find_submission_notebook(lesson, lesson, student)
            except MissingEntry:
                writer.writerow([student, lesson, *[0] * len(columns), 0, max_total,
                                 "no submission", ""])
                continue
            by_name = {g.name: float(g.score) for g in nb.grades}
            record = state.get(student, {})
            writer.writerow([student, lesson, *[f"{by_name.get(c, 0.0):g}" for c in columns],
                             f"{float(nb.score):g}", f"{max_total:g}",
                             record.get("status", "graded"), " | ".join(record.get("notes", []))])
    return path


def _fallback_feedback(course_dir: Path, lesson: str, student: str, notes: list[str]) -> None:
    """Write a feedback page for a submission that not even its fallback could be graded."""
    target = course_dir / "feedback" / student / lesson / f"{lesson}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    target.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{lesson}</title>"
                      f"</head><body><h1>{lesson}: feedback for {html.escape(student)}</h1>"
                      f"<p>Score: 0</p><ul>{items}</ul></body></html>")


def grade_class(root: Path, course_dir: Path, lesson: str, *, workers: int = 1,
                cell_timeout: int | None = None, limits: Limits | None = None,
                student_timeout: float = 3600, max_output_chars: int = 100_000,
                force: bool = False, csv_path: Path | None = None,
                progress: bool = True) -> ClassReport:
    """Autograde every submission of ``lesson`` in ``course_dir``; write feedback and a CSV."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    start = time.monotonic()
    course_dir = Path(course_dir).resolve()
    submitted = course_dir / "submitted"
    if not submitted.is_dir():
        raise FileNotFoundError(f"no submitted/ folder in {course_dir}: run "
                                f"`edgecourse collect {lesson} DOWNLOADS --course-dir "
                                f"{course_dir}` first")
    ensure_assignment(root, course_dir, lesson)
    config = load_config(root, course_dir=course_dir)
    db_url = config.CourseDirectory.db_url
    limits = limits or Limits()
    cell_timeout = int(cell_timeout or config.Execute.timeout)
    release = nbformat.read(course_dir / config.CourseDirectory.release_directory / lesson
                            / f"{lesson}.ipynb", as_version=4)
    state_dir = course_dir / STATE
    work = state_dir / "scratch" / lesson
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    template = work / "gradebook-snapshot.db"
    shutil.copyfile(course_dir / "gradebook.db", template)
    manifest = load_manifest(course_dir)
    state = manifest.setdefault(lesson, {})

    students = sorted(p.parent.name for p in submitted.glob(f"*/{lesson}") if p.is_dir())
    bad = [s for s in students if not STUDENT_ID.match(s)]
    if bad:
        raise ValueError(f"student ids {bad} in {submitted} are not safe folder names "
                         "(letters, digits, . _ @ + -); rename those folders")
    results: dict[str, StudentResult] = {}
    jobs = []
    with Gradebook(db_url) as gb:
        sources = {c.name: c.source for c in gb.find_notebook(lesson, lesson).source_cells}
        for student in students:
            folder = submitted / student / lesson
            record = state.get(student, {})
            graded = (course_dir / "autograded" / student / lesson / f"{lesson}.ipynb").is_file()
            try:
                nb_score = gb.find_submission_notebook(lesson, lesson, student)
                score, top = float(nb_score.score), float(nb_score.max_score)
            except MissingEntry:
                graded = False
            if (not force and graded and record.get("fingerprint") == fingerprint(folder)
                    and record.get("status") in ("graded", "zero")):
                results[student] = StudentResult(student, "skipped", score, top,
                                                 record.get("notes", []))
                continue
            jobs.append(student)

    def launch(student: str, notebook: "nbformat.NotebookNode", kind: str) -> dict:
        scratch = work / student / kind
        if scratch.exists():
            shutil.rmtree(scratch)
        target = scratch / "course" / "submitted" / student / lesson
        target.mkdir(parents=True)
        nbformat.write(notebook, target / f"{lesson}.ipynb")
        original = submitted / student / lesson
        if _timestamp_ok(original):
            shutil.copyfile(original / "timestamp.txt", target / "timestamp.txt")
        job = {"repo": str(root), "scratch": str(scratch), "lesson": lesson, "student": student,
               "template_db": str(template), "cell_timeout": cell_timeout,
               "source_dir": str(course_dir / config.CourseDirectory.source_directory / lesson),
               "limits": dataclasses.asdict(limits), "max_output_chars": max_output_chars}
        outcome = _run_worker(job, student_timeout)
        outcome["scratch"] = str(scratch)
        return outcome

    def grade_one(student: str) -> tuple[str, dict, list[str], str]:
        prepared = prepare(submitted / student / lesson, lesson, release, sources)
        notes = list(prepared.notes)
        outcome = launch(student, prepared.notebook, "submission")
        status = "graded" if prepared.kind != "unanswered" else "zero"
        if not outcome["success"] and prepared.kind != "unanswered":
            # Grade what can be read: the answers in a fresh copy, then nothing at all.
            reason = _failure_reason(outcome)
            notes.append(f"Your notebook could not be graded as submitted ({reason}).")
            with contextlib.suppress(OSError, ValueError):
                raw = json.loads((submitted / student / lesson / f"{lesson}.ipynb").read_text())
                repaired = with_notes(transplant(release, raw["cells"]),
                                      [*notes, "Your answers were graded in a fresh copy of "
                                       "the assignment."])
                outcome = launch(student, repaired, "repaired")
                status = "graded"
            if not outcome["success"]:
                notes.append("Every exercise scores 0.")
                outcome = launch(student, with_notes(unanswered(release), notes), "unanswered")
                status = "zero"
        if not outcome["success"]:
            notes.append(_failure_reason(outcome))
            status = "failed"
        return student, outcome, notes, status

    bar = tqdm(total=len(jobs), desc=f"grading {lesson}", unit="student", file=sys.stderr,
               disable=not progress or not jobs)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in as_completed([pool.submit(grade_one, s) for s in jobs]):
            student, outcome, notes, status = future.result()
            # Only this thread writes the gradebook, the course folders and the manifest.
            folder = submitted / student / lesson
            stamp = (folder / "timestamp.txt").read_text().strip() if _timestamp_ok(folder) \
                else None
            if outcome["success"]:
                _copy_autograded(Path(outcome["scratch"]) / "course", course_dir, lesson,
                                 student)
            else:
                shutil.rmtree(course_dir / "autograded" / student / lesson, ignore_errors=True)
                _fallback_feedback(course_dir, lesson, student, notes)
            score, top = _merge(db_url, lesson, student,
                                outcome if outcome["success"] else None, stamp)
            log_dir = state_dir / "logs" / lesson
            log_dir.mkdir(parents=True, exist_ok=True)
            worker_log = Path(outcome["scratch"]) / "worker.log"
            if worker_log.is_file():
                shutil.copyfile(worker_log, log_dir / f"{student}.log")
            state[student] = {"fingerprint": fingerprint(folder), "status": status,
                              "notes": notes, "score": score}
            _atomic_json(_manifest_path(course_dir), manifest)
            results[student] = StudentResult(student, status, score, top, notes)
            shutil.rmtree(work / student, ignore_errors=True)
            bar.update()
    bar.close()

    graded_now = [s for s in jobs if results[s].status != "failed"]
    if graded_now:
        feedback = api(config).generate_feedback(lesson, force=True)
        if not feedback.get("success"):
            for student in graded_now:
                results[student].notes.append("feedback generation failed; see the log")
    shutil.rmtree(work, ignore_errors=True)
    csv_file = export_csv(root, course_dir, lesson, csv_path)
    ordered = [results[s] for s in sorted(results)]
    abi = landlock_abi() if limits.jail else 0
    isolation = (f"Landlock ABI {abi}: kernels read only Python and write only their folder"
                 if abi else "none: kernels can read and write what this user can (see README)")
    return ClassReport(lesson, ordered, csv_file, course_dir / "feedback",
                       time.monotonic() - start, workers, isolation)
