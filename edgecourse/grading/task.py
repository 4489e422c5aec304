"""One executor task: grade one student's submission from its files, wherever it runs.

A task carries everything it needs as values (the submission's files, the release notebook, a
gradebook snapshot), so it runs the same in a local thread or on a Dask worker on another
machine; it writes only in its own scratch folder and returns the graded notebook's files, the
scores and the worker log. The coordinating process writes the course folder and the gradebook.

Inside, each attempt is a separate ``python -m edgecourse.grading.worker`` process (nbgrader
autograde under the sandboxed kernel): the submission as prepared, then, if that cannot be
graded, its answers in a fresh copy of the assignment, then the unanswered assignment. Alongside
each attempt, this thread's verdict server (:mod:`edgecourse.grading.verdict_server`) decides
every exercise outside the kernel; its points replace nbgrader's in the attempt's gradebook.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import parse_utc

from edgecourse.grading import answers, verdicts
from edgecourse.grading.course import Course
from edgecourse.grading.sandbox import Limits
from edgecourse.grading.scores import apply_verdicts, read_scores
from edgecourse.grading.submissions import prepare, transplant, unanswered, with_notes
from edgecourse.grading.verdict_server import server_for

# The worker checks that this process is still its parent (it dies with it: see worker.py).
PARENT_ENV = "EDGECOURSE_GRADER_PID"


@dataclass(frozen=True)
class Assignment:
    """What every task of one lesson shares: the repository, the release, limits, a snapshot."""

    repo: str
    lesson: str
    release: str  # the release notebook, as JSON
    sources: dict[str, str]  # grade_id -> the instructor's check cell
    references: dict[str, str]  # exercise -> the solution's outputs on its hidden cases (JSON)
    template_db: bytes  # SQLite snapshot of the gradebook's assignment (gradebook.snapshot)
    extra_files: dict[str, bytes]  # the assignment's files besides notebooks (data and so on)
    cell_timeout: int
    limits: Limits
    student_timeout: float
    max_output_chars: int


@dataclass(frozen=True)
class Submission:
    """One student's submitted folder, as file name -> bytes."""

    student: str
    files: dict[str, bytes]
    scratch_root: str | None = None  # None: a temporary folder where the task runs


@dataclass
class Graded:
    """A task's answer: how the submission was graded and what to write back."""

    student: str
    status: str  # "graded", "zero" (graded from what could be read), "failed"
    notes: list[str]
    scores: dict | None  # the worker's grades and comments; None when nothing was graded
    autograded: dict[str, bytes] = field(default_factory=dict)  # graded notebooks, timestamp
    log: str = ""


def read_folder(folder: Path) -> dict[str, bytes]:
    """Return every file under ``folder`` as relative path -> bytes."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def write_folder(files: dict[str, bytes], folder: Path) -> None:
    """Write ``files`` (relative path -> bytes) under ``folder``, refusing paths that leave it."""
    folder = Path(folder)
    for name, data in files.items():
        target = (folder / name).resolve()
        if not target.is_relative_to(folder.resolve()):
            raise ValueError(f"file name {name!r} leaves its folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def timestamp_ok(folder: Path) -> bool:
    """Return whether ``folder`` holds a timestamp.txt nbgrader can parse."""
    stamp = Path(folder) / "timestamp.txt"
    try:
        return stamp.is_file() and parse_utc(stamp.read_text().strip()) is not None
    except (ValueError, OverflowError):
        return False


def run_worker(job: dict, timeout: float) -> dict:
    """Run one worker process; kill it and its kernels if it runs past ``timeout`` seconds."""
    scratch = Path(job["scratch"])
    (scratch / "job.json").write_text(json.dumps(job))
    env = {**os.environ, PARENT_ENV: str(os.getpid())}
    with open(scratch / "worker.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "edgecourse.grading.worker",
                                 str(scratch / "job.json")],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env=env)
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


def failure_reason(outcome: dict) -> str:
    """Return one line saying why nbgrader could not grade a notebook."""
    if outcome.get("reason"):
        return outcome["reason"]
    log = outcome.get("log", "")
    for line in reversed(log.splitlines()):
        if re.search(r"(Error|Exception)\b", line) and "Traceback" not in line:
            return "nbgrader could not grade it: " + line.strip()[:200]
    return "nbgrader could not grade it"


class _Attempts:
    """Run worker processes for one submission, each in its own scratch course."""

    def __init__(self, assignment: Assignment, student: str, work: Path, original: Path):
        self.assignment, self.student, self.work, self.original = assignment, student, work, original
        (work / "gradebook-snapshot.db").write_bytes(assignment.template_db)
        (work / "extra").mkdir()
        write_folder(assignment.extra_files, work / "extra")
        self.last: Path | None = None

    def run(self, notebook: nbformat.NotebookNode, kind: str) -> dict:
        """Grade ``notebook``: nbgrader in a worker process, the verdicts alongside it."""
        a, lesson = self.assignment, self.assignment.lesson
        scratch = self.work / kind
        target = scratch / "course" / "submitted" / self.student / lesson
        target.mkdir(parents=True)
        nbformat.write(notebook, target / f"{lesson}.ipynb")
        if timestamp_ok(self.original):
            shutil.copyfile(self.original / "timestamp.txt", target / "timestamp.txt")
        job = {"repo": a.repo, "scratch": str(scratch), "lesson": lesson,
               "student": self.student, "template_db": str(self.work / "gradebook-snapshot.db"),
               "cell_timeout": a.cell_timeout, "source_dir": str(self.work / "extra"),
               "limits": asdict(a.limits), "max_output_chars": a.max_output_chars}
        self.last = scratch
        if not a.references:  # nothing to judge against: nbgrader's in-kernel scores stand
            return run_worker(job, a.student_timeout)
        found = answers.answers(answers.read_cells(target / f"{lesson}.ipynb"), list(a.references))
        server = server_for(Path(a.repo), lesson)  # this thread's: started once, kept warm
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(verdicts.evaluate, Path(a.repo), lesson, list(found.items()),
                                  a.references, scratch / "verdicts", limits=a.limits,
                                  jail=a.limits.jail, server=server)
            outcome = run_worker(job, a.student_timeout)
            if not outcome["success"]:
                return outcome
            try:
                results = pending.result()
            except RuntimeError as error:
                return {"success": False, "log": str(error)[-20000:],
                        "reason": "the hidden checks could not be run (see the log)"}
        course = Course.load(Path(a.repo), course_dir=scratch / "course")
        apply_verdicts(course, lesson, self.student, results)
        return {**outcome, **read_scores(course.db_url, lesson, self.student),
                "measured": {v.exercise: v.measured for v in results if v.measured}}


def grade_submission(assignment: Assignment, submission: Submission) -> Graded:
    """Grade one submission (with fallbacks); return its scores and graded files."""
    if not (Path(assignment.repo) / "nbgrader_config.py").is_file():
        raise FileNotFoundError(f"the course repository {assignment.repo} is not on this machine "
                                "(every grading worker needs the same repository at the same "
                                "path, and the same Python environment)")
    lesson, student = assignment.lesson, submission.student
    base = Path(submission.scratch_root or tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{student}-", dir=base))
    try:
        original = work / "original"
        original.mkdir()
        write_folder(submission.files, original)
        release = nbformat.reads(assignment.release, as_version=4)
        attempts = _Attempts(assignment, student, work, original)
        prepared = prepare(original, lesson, release, assignment.sources)
        notes = list(prepared.notes)
        outcome = attempts.run(prepared.notebook, "submission")
        status = "graded" if prepared.kind != "unanswered" else "zero"
        if not outcome["success"] and prepared.kind != "unanswered":
            # Grade what can be read: the answers in a fresh copy, then nothing at all.
            notes.append(f"Your notebook could not be graded as submitted "
                         f"({failure_reason(outcome)}).")
            with contextlib.suppress(OSError, ValueError):
                raw = json.loads((original / f"{lesson}.ipynb").read_text())
                repaired = with_notes(transplant(release, raw["cells"]),
                                      [*notes, "Your answers were graded in a fresh copy of "
                                       "the assignment."])
                outcome = attempts.run(repaired, "repaired")
                status = "graded"
            if not outcome["success"]:
                notes.append("Every exercise scores 0.")
                outcome = attempts.run(with_notes(unanswered(release), notes), "unanswered")
                status = "zero"
        if not outcome["success"]:
            notes.append(failure_reason(outcome))
            status = "failed"
        scratch = attempts.last
        log = (scratch / "worker.log").read_text(errors="replace") \
            if (scratch / "worker.log").is_file() else ""
        graded = Graded(student, status, notes, None, log=log)
        if outcome["success"]:
            folder = scratch / "course" / "autograded" / student / lesson
            graded.scores = {k: outcome[k] for k in ("grades", "comments", "late_penalty")}
            graded.scores["measured"] = outcome.get("measured", {})
            # The graded notebooks, not files the submission wrote.
            graded.autograded = {p.name: p.read_bytes()
                                 for p in [*folder.glob("*.ipynb"), folder / "timestamp.txt"]
                                 if p.is_file()}
        return graded
    finally:
        shutil.rmtree(work, ignore_errors=True)
