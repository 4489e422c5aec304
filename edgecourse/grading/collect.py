"""Import downloaded submissions into a grading course directory (nbgrader's submitted/ layout).

Accepted sources: a folder of notebooks or zip files named by student (the usual LMS download,
e.g. ``alice_01_flash_budgets.ipynb``, ``bob.zip``, ``carol (2).ipynb``), a folder of per-student
folders, or nbgrader's own ``submitted/<student>/<assignment>/`` layout. When a student submitted
more than once, the newest file wins and the others are reported.
"""

import datetime as dt
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.utils import parse_utc

from edgecourse.grading.course import Course
from edgecourse.grading.grade import ensure_assignment
from edgecourse.grading.names import DEFAULT_PATTERN, STUDENT_ID

MAX_MEMBER_BYTES = 50 * 2**20


@dataclass
class CollectReport:
    """What :func:`collect` imported, replaced and skipped."""

    imported: dict[str, str] = field(default_factory=dict)  # student -> source file
    superseded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Return a short text summary."""
        lines = [f"imported {len(self.imported)} submission(s)"]
        lines += [f"  older duplicate ignored: {s}" for s in self.superseded]
        lines += [f"  skipped: {s}" for s in self.skipped]
        return "\n".join(lines)


def _mtime(path: Path) -> float:
    if path.is_dir():
        return max((p.stat().st_mtime for p in path.rglob("*") if p.is_file()),
                   default=path.stat().st_mtime)
    return path.stat().st_mtime


def _extract_notebooks(archive: Path, target: Path) -> list[str]:
    """Copy the notebooks of a zip into ``target`` (flat, size-capped); return skipped members."""
    skipped = []
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            name = Path(info.filename).name
            if info.is_dir() or "__MACOSX" in info.filename or not name.endswith(".ipynb"):
                continue
            if info.file_size > MAX_MEMBER_BYTES or name.startswith("."):
                skipped.append(info.filename)
                continue
            # Only the base name is used, so a member like ../../x.ipynb cannot escape target.
            with zf.open(info) as src, open(target / name, "wb") as dst:
                shutil.copyfileobj(src, dst)
    return skipped


def _sources(source: Path, lesson: str, pattern: re.Pattern) -> tuple[dict, list[str]]:
    """Map student -> list of candidate paths in ``source``; return also the unmatched names."""
    candidates: dict[str, list[Path]] = {}
    unmatched = []
    nested = source / "submitted" if (source / "submitted").is_dir() else source
    for entry in sorted(nested.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and (entry / lesson).is_dir():  # nbgrader layout
            candidates.setdefault(entry.name, []).append(entry / lesson)
            continue
        if entry.is_file() and entry.suffix not in (".ipynb", ".zip"):
            unmatched.append(f"{entry.name} (not a notebook or zip)")
            continue
        match = pattern.match(entry.stem if entry.is_file() else entry.name)
        student = match.group("student") if match else None
        if not student or not STUDENT_ID.match(student):
            unmatched.append(f"{entry.name} (no student id in the name)")
            continue
        candidates.setdefault(student, []).append(entry)
    return candidates, unmatched


def collect(course: Course, source: Path, lesson: str,
            pattern: str = DEFAULT_PATTERN) -> CollectReport:
    """Import the submissions of ``lesson`` in ``source`` into the course's submitted/."""
    source, course_dir = Path(source).resolve(), course.course_dir
    if not source.is_dir():
        raise FileNotFoundError(f"submissions folder {source} does not exist")
    regex = re.compile(pattern)
    if "student" not in regex.groupindex:
        raise ValueError(f"--student-pattern {pattern!r} needs a named group (?P<student>...)")
    ensure_assignment(course, lesson)
    candidates, unmatched = _sources(source, lesson, regex)
    report = CollectReport(skipped=unmatched)
    with course.gradebook() as gb:
        for student, paths in sorted(candidates.items()):
            paths = sorted(paths, key=lambda p: (_mtime(p), p.name))
            newest = paths[-1]
            report.superseded += [f"{student}: {p.name} (newer: {newest.name})" for p in paths[:-1]]
            target = course_dir / "submitted" / student / lesson
            stamp = dt.datetime.fromtimestamp(_mtime(newest), dt.UTC)
            if (target / "timestamp.txt").is_file():
                try:
                    old = parse_utc((target / "timestamp.txt").read_text().strip())
                except ValueError:
                    old = None
                if old is not None and old >= stamp.replace(tzinfo=None):
                    report.superseded.append(f"{student}: {newest.name} (already collected a "
                                             "submission at least as new)")
                    continue
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            if newest.is_dir():
                shutil.copytree(newest, target, dirs_exist_ok=True)
            elif newest.suffix == ".zip":
                try:
                    report.skipped += [f"{student}: {m} in {newest.name}"
                                       for m in _extract_notebooks(newest, target)]
                except zipfile.BadZipFile:
                    # Keep it: grading reports "no notebook" to the student, with the file name.
                    shutil.copyfile(newest, target / newest.name)
            else:
                shutil.copyfile(newest, target / f"{lesson}.ipynb")
            if not (target / "timestamp.txt").is_file():
                (target / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
            gb.update_or_create_student(student)
            report.imported[student] = newest.name
    return report
