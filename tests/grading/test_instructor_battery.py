"""Does one class run survive every kind of bad submission, and grade everyone else exactly?

One class per lesson: good and partial submissions plus one student per bad case, collected
from an LMS-style download folder and graded by ``grade_class`` with two workers, short cell
timeouts and a low memory limit. Each case (a :class:`Case`) carries the files it hands in, the
score it earns and the words its feedback must contain. Runs on lesson 01 by default;
EDGECOURSE_BATTERY_LESSONS=all (or a comma list) runs it on other lessons through the same code.
"""

import copy
import csv
import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from lessons import (
    LESSONS,
    REPO,
    cell_index,
    exercises,
    grade_meta,
    hidden_test_lines,
    solution_path,
    student_path,
)

from edgecourse.grading import answers, verdicts
from edgecourse.grading.collect import CollectReport, collect
from edgecourse.grading.course import Course
from edgecourse.grading.executors import local_cluster
from edgecourse.grading.grade import ClassReport, grade_class, load_manifest
from edgecourse.grading.sandbox import Limits, landlock_abi

pytestmark = [pytest.mark.slow, pytest.mark.battery]

_CHOICE = os.environ.get("EDGECOURSE_BATTERY_LESSONS", "")
BATTERY_LESSONS = (LESSONS if _CHOICE == "all" else
                   [x for x in LESSONS if x in _CHOICE.split(",")] if _CHOICE else
                   [x for x in LESSONS if x.startswith("01_")])
CELL_TIMEOUT = int(os.environ.get("EDGECOURSE_BATTERY_CELL_TIMEOUT", "60"))
# EDGECOURSE_BATTERY_EXECUTOR=dask grades the class on a 2-process Dask LocalCluster instead.
EXECUTOR = os.environ.get("EDGECOURSE_BATTERY_EXECUTOR", "local")
# Far above what a lesson needs (torch alone reserves ~3.5 GB of address space), far below the
# allocation the memory case makes; the allocation is calloc'd, so it never touches real RAM.
MEMORY_MB = 8192
HOG_BYTES = 12 * 2**30
JAIL = landlock_abi() > 0

CHEAT = """
import json, pathlib
for _path in {paths!r}:
    try:
        _nb = json.loads(pathlib.Path(_path).read_text())
    except OSError:
        continue
    for _cell in _nb["cells"]:
        if _cell.get("metadata", {{}}).get("nbgrader", {{}}).get("grade_id") == {grade_id!r}:
            exec("".join(_cell["source"]), globals())
    break
else:
    raise NotImplementedError("could not read the instructor's solutions")
"""


def _code(source: str):
    return nbformat.v4.new_code_cell(source)


def _before_test(nb, first: str, source: str):
    nb = copy.deepcopy(nb)
    nb.cells.insert(cell_index(nb, f"test_{first}"), _code(source))
    return nb


def _tests(nb, edit):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if grade_meta(cell).get("grade"):
            edit(cell)
    return nb


def _retype(cell):
    cell.cell_type = "markdown"
    cell.pop("outputs", None)
    cell.pop("execution_count", None)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _digest(folder: Path, skip: Path | None = None) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file() and (skip is None or skip not in p.parents)}


@dataclass
class Case:
    """One student of the battery: the files they hand in, the score earned, the feedback words.

    ``files`` maps a download file name to its bytes and modification time (None: now).
    """

    student: str
    files: dict[str, tuple[bytes, float | None]]
    score: float
    words: list[str] = field(default_factory=list)

    @classmethod
    def notebook(cls, student: str, lesson: str, nb, score: float, words=()) -> "Case":
        """A case that hands in one notebook named like an LMS download."""
        return cls(student, {f"{student}_{lesson}.ipynb": (nbformat.writes(nb).encode(), None)},
                   score, list(words))

    def write(self, downloads: Path) -> None:
        """Write this student's files into the download folder."""
        for name, (data, mtime) in self.files.items():
            (downloads / name).write_bytes(data)
            if mtime is not None:
                os.utime(downloads / name, (mtime, mtime))


@dataclass
class Lesson:
    """What the cases are built from: solution, stubs, the first exercise, its points."""

    name: str
    solution: nbformat.NotebookNode
    stubs: nbformat.NotebookNode
    first: str
    full: float
    some: float  # the points of the first exercise alone

    @classmethod
    def load(cls, lesson: str) -> "Lesson":
        solution = nbformat.read(solution_path(lesson), as_version=4)
        names = exercises(solution)
        points = {n: float(grade_meta(solution.cells[cell_index(solution, f"test_{n}")])
                           ["points"]) for n in names}
        return cls(lesson, solution, nbformat.read(student_path(lesson), as_version=4),
                   names[0], sum(points.values()), points[names[0]])

    def partial(self):
        """Return the stubs with the first exercise answered (earns ``some``)."""
        nb = copy.deepcopy(self.stubs)
        nb.cells[cell_index(nb, self.first)].source = \
            self.solution.cells[cell_index(self.solution, self.first)].source
        return nb


def good_and_tampered_cases(lesson: Lesson) -> list[Case]:
    """Right, partial and empty answers, and checks deleted, edited or retyped."""
    partial, name = lesson.partial(), lesson.name
    deleted = copy.deepcopy(partial)
    del deleted.cells[cell_index(deleted, f"test_{lesson.first}")]
    return [
        Case.notebook("good", name, lesson.solution, lesson.full),
        Case.notebook("partial", name, partial, lesson.some),
        Case.notebook("stubs", name, lesson.stubs, 0.0, ["notimplementederror"]),
        Case.notebook("assert-true", name,
                      _tests(partial, lambda c: setattr(c, "source", "assert True")),
                      lesson.some, ["was edited"]),
        Case.notebook("pass-test", name, _tests(partial, lambda c: setattr(c, "source", "pass")),
                      lesson.some, ["was edited"]),
        Case.notebook("deleted-test", name, deleted, lesson.some, ["was deleted"]),
        Case.notebook("cell-type", name, _tests(partial, _retype), lesson.some,
                      ["changed to a markdown cell"]),
    ]


ALWAYS_EQUAL = """
class _Yes(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return False
    def __gt__(self, other): return False
    def __le__(self, other): return True
    def __ge__(self, other): return True
    def __bool__(self): return True
    def __array__(self, *args, **kwargs):
        import numpy
        return numpy.array(True)
    def __getattr__(self, name): return self
    def __call__(self, *args, **kwargs): return self
    def __iter__(self): return iter([self, self])
    def __len__(self): return 2
    def __getitem__(self, key): return self
    def __hash__(self): return 0
"""

HOOKS = """
import ast, sys
class _AssertsPass(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
get_ipython().ast_transformers.append(_AssertsPass())
def _display(value):
    print(3.0)
sys.displayhook = _display
get_ipython().input_transformers_post.append(
    lambda lines: ["try:\\n"] + ["    " + line for line in lines] + ["\\nexcept BaseException:\\n    pass\\n"])
"""

PATCHES = """
import math, numpy, torch
import edgecourse.lab.checks as _checks
numpy.allclose = lambda *a, **k: True
numpy.array_equal = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
numpy.isclose = lambda a, b, *x, **k: numpy.ones(numpy.broadcast(a, b).shape, bool)
torch.equal = lambda *a, **k: True
torch.allclose = lambda *a, **k: True
math.isclose = lambda *a, **k: True
_checks.check_close = lambda *a, **k: None
"""


def _unsolved(lesson: Lesson) -> list[str]:
    return [n for n in exercises(lesson.solution) if n != lesson.first]


def _answer_all(nb, lesson: Lesson, make) -> nbformat.NotebookNode:
    """Return ``nb`` with every unsolved exercise's cell replaced by make(stub names)."""
    nb = copy.deepcopy(nb)
    for name in _unsolved(lesson):
        cell = nb.cells[cell_index(nb, name)]
        cell.source = make(name, answers.defined_names(cell.source))
    return nb


def _defines(names: list[str], value: str) -> str:
    return "\n".join(f"{n} = {value}" for n in names)


def _delegate(lesson: Lesson):
    forbidden = getattr(verdicts.hidden_module(REPO, lesson.name), "FORBIDDEN", {})

    def make(name, names):
        targets = forbidden.get(name)
        if not targets:
            return "raise NotImplementedError()"
        module, _, qualname = targets[0].partition(":")
        # Through importlib, getattr and exec: no literal name of the library function.
        return (f"import importlib\n_lib = importlib.import_module({module!r})\n"
                f"exec('_impl = _lib.' + {qualname!r})\n"
                + _defines(names, "lambda *args, **kwargs: _impl(*args, **kwargs)"))
    return make


def tamper_cases(lesson: Lesson, shm: Path) -> list[Case]:
    """Submissions that try to earn points without solving: each earns only the solved one."""
    partial, name = lesson.partial(), lesson.name
    fakes = _answer_all(partial, lesson, lambda n, names: ALWAYS_EQUAL + _defines(
        names, "_Yes() if not callable(_Yes()) else (lambda *args, **kwargs: _Yes())"))
    instructor = copy.deepcopy(partial)
    for cell in instructor.cells:
        if cell.cell_type == "code" and not grade_meta(cell):
            cell.source += "\n" + PATCHES
    metadata = copy.deepcopy(partial)
    for cell in metadata.cells:
        meta = grade_meta(cell)
        if meta.get("grade"):
            meta["points"] = 100
        if meta.get("solution") and meta.get("grade_id") in _unsolved(lesson):
            meta["grade_id"] = "renamed_" + meta["grade_id"]
    solved = "\n".join(lesson.solution.cells[cell_index(lesson.solution, n)].source
                        for n in _unsolved(lesson))
    writer = _before_test(lesson.solution, lesson.first, (
        f"import pathlib\npathlib.Path({str(shm)!r}).write_text({solved!r})"))
    reader = _answer_all(partial, lesson, lambda n, names: (
        "import pathlib\n_src = pathlib.Path(" + repr(str(shm)) + ").read_text()\n"
        "_ran = exec(_src)"))
    cases = [
        Case.notebook("hooks", name, _before_test(_answer_all(partial, lesson, lambda n, names:
                      _defines(names, "lambda *args, **kwargs: None")), lesson.first, HOOKS),
                      lesson.some, ["0 of"]),
        Case.notebook("always-equal", name, fakes, lesson.some, ["not plain data"]),
        Case.notebook("monkeypatch", name, _before_test(_answer_all(
            partial, lesson, lambda n, names: PATCHES + _defines(
                names, "lambda *args, **kwargs: None")), lesson.first, PATCHES), lesson.some),
        Case.notebook("edited-instructor", name, instructor, lesson.some),
        Case.notebook("delegates", name, _answer_all(partial, lesson, _delegate(lesson)),
                      lesson.some),
        Case.notebook("json-metadata", name, metadata, lesson.some),
        Case.notebook("alternative", name, _alternative(lesson), lesson.full),
    ]
    if JAIL:
        cases += [Case.notebook("shm-writer", name, writer, lesson.full),
                  Case.notebook("shm-reader", name, reader, lesson.some)]
    return cases


def _alternative(lesson: Lesson) -> nbformat.NotebookNode:
    """Right answers written differently: a helper, a demo that fails, a warning, a progress bar."""
    nb = copy.deepcopy(lesson.solution)
    for name in exercises(nb):
        cell = nb.cells[cell_index(nb, name)]
        cell.source = ("import warnings\nfrom tqdm.auto import tqdm\n" + cell.source +
                       "\nwarnings.warn('a warning from my cell')\n"
                       "for _ in tqdm(range(3)):\n    pass\n"
                       "print(undefined_demo_variable)  # a demo that fails at top level\n")
    return nb


def misbehaving_kernel_cases(lesson: Lesson) -> list[Case]:
    """Cells that loop, sleep, exit, crash, flood the output or over-allocate."""
    bad = {
        "loop": ("while True:\n    pass", "timeout"),
        "sleep": ("import time\ntime.sleep(100_000)", "timeout"),
        "sys-exit": ("import sys\nsys.exit(3)", "systemexit"),
        "os-exit": ("import os\nos._exit(1)", "kerneldied"),
        "segfault": ("import ctypes\nctypes.string_at(0)", "kerneldied"),
        "output": ("for _ in range(100):\n    print('x' * 10**6)", "output truncated"),
        "memory": (f"hog = bytearray({HOG_BYTES})", "memoryerror"),
    }
    return [Case.notebook(student, lesson.name,
                          _before_test(lesson.partial(), lesson.first, source), lesson.some,
                          [word])
            for student, (source, word) in bad.items()]


def isolation_cases(lesson: Lesson, course: Path, sentinel: Path) -> list[Case]:
    """Writes outside the kernel's folder and reads of the solutions (need Landlock)."""
    if not JAIL:
        return []
    writes = lesson.partial()
    for source in (f"open({str(sentinel)!r}, 'w').write('pwned')",
                   f"open({str(course / 'gradebook.db')!r}, 'wb').write(b'x')",
                   f"import shutil\nshutil.rmtree({str(course / 'submitted')!r})"):
        writes = _before_test(writes, lesson.first, source)
    cheat = copy.deepcopy(lesson.stubs)
    paths = [str(solution_path(lesson.name)),
             str(course / "solutions" / lesson.name / f"{lesson.name}.ipynb")]
    for name in exercises(lesson.solution):
        cheat.cells[cell_index(cheat, name)].source = CHEAT.format(paths=paths, grade_id=name)
    return [Case.notebook("writes-outside", lesson.name, writes, lesson.some,
                          ["permissionerror"]),
            Case.notebook("reads-solutions", lesson.name, cheat, 0.0,
                          ["could not read the instructor"])]


def broken_file_cases(lesson: Lesson) -> list[Case]:
    """Files that are not the notebook: cut short, empty, renamed in a zip, missing, twice."""
    good, name = nbformat.writes(lesson.solution).encode(), lesson.name
    partial = nbformat.writes(lesson.partial()).encode()
    return [
        Case("corrupt", {f"corrupt_{name}.ipynb": (good[: len(good) // 2], None)}, 0.0,
             ["could not be read"]),
        Case("empty", {f"empty_{name}.ipynb": (b"", None)}, 0.0, ["could not be read", "empty"]),
        Case("renamed", {"renamed.zip": (_zip({"homework/my notebook (1).ipynb": good}), None)},
             lesson.full, ["was named"]),
        Case("missing", {"missing.zip": (_zip({"answers.txt": b"I did it all on paper."}),
                                         None)}, 0.0, ["no notebook"]),
        # The same student twice: the full-marks file is older, the partial one newer and kept.
        Case("twice", {f"twice_{name}.ipynb": (good, 1_700_000_000),
                       f"twice_{name} (2).ipynb": (partial, 1_700_000_600)}, lesson.some),
    ]


@dataclass
class GradedClass:
    """A battery class after collect and grade: what the checks look at."""

    lesson: str
    course: Course
    cases: dict[str, Case]
    collected: CollectReport
    report: ClassReport
    outside_before: dict[str, str]  # sha256 of files outside the course folder, before grading
    outside_after: dict[str, str]


def grade_battery(lesson: str, base: Path) -> GradedClass:
    """Collect and grade the battery class of ``lesson`` under ``base``."""
    downloads, course_dir = base / "downloads", base / "course"
    downloads.mkdir()
    sentinel = base / "outside" / "sentinel.txt"
    sentinel.parent.mkdir()
    sentinel.write_text("untouched")
    source = Lesson.load(lesson)
    shm = Path("/dev/shm") / f"edgecourse-battery-{os.getpid()}"
    cases = [*good_and_tampered_cases(source), *tamper_cases(source, shm),
             *misbehaving_kernel_cases(source),
             *isolation_cases(source, course_dir, sentinel), *broken_file_cases(source)]
    for case in cases:
        case.write(downloads)
    course = Course.load(REPO, course_dir)
    collected = collect(course, downloads, lesson)

    def outside() -> dict[str, str]:
        return {**_digest(base, skip=course_dir), **_digest(REPO / "solutions" / lesson),
                **_digest(REPO / "notebooks" / lesson)}

    before = outside()
    executor = local_cluster(2) if EXECUTOR == "dask" else None
    try:
        report = grade_class(course, lesson, executor=executor, workers=2,
                             cell_timeout=CELL_TIMEOUT,
                             limits=Limits(memory_mb=MEMORY_MB, cpu_seconds=600),
                             student_timeout=900, progress=False)
    finally:
        if executor is not None:
            executor.close()
    return GradedClass(lesson, course, {c.student: c for c in cases}, collected, report,
                       before, outside())


def check_every_student_gets_the_score_earned(graded: GradedClass):
    """Does each student, bad submission or not, get exactly the points the work earns?"""
    got = {r.student: r.score for r in graded.report.results}
    assert sorted(got) == sorted(graded.cases), f"{graded.lesson}: graded {sorted(got)}"
    wrong = {s: (got[s], c.score) for s, c in graded.cases.items() if got[s] != c.score}
    assert not wrong, (f"{graded.lesson}: (got, expected) scores differ: {wrong}\n"
                       f"{graded.report.summary()}")
    assert not [r for r in graded.report.results if r.status == "failed"], \
        graded.report.summary()


def check_feedback_explains_what_happened(graded: GradedClass):
    """Does every student get an HTML feedback page that says what went wrong?"""
    lesson = graded.lesson
    for student, case in graded.cases.items():
        page = graded.course.course_dir / "feedback" / student / lesson / f"{lesson}.html"
        assert page.is_file(), f"{student} has no feedback page"
        text = page.read_text(errors="replace").lower()
        missing = [w for w in case.words if w not in text]
        assert not missing, f"{student}'s feedback does not mention {missing}"


def check_gradebook_and_csv_are_consistent(graded: GradedClass):
    """Does the gradebook hold one submission per student, scores within bounds, same as CSV?"""
    with graded.course.gradebook() as gb:
        assignment = gb.find_assignment(graded.lesson)
        students = sorted(s.student.id for s in assignment.submissions)
        assert students == sorted(graded.cases), f"submissions in the gradebook: {students}"
        for sub in assignment.submissions:
            for grade in sub.notebooks[0].grades:
                assert 0 <= grade.score <= grade.max_score, (sub.student.id, grade.name)
    with open(graded.report.csv_path) as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["student"] for r in rows) == sorted(graded.cases), "one CSV row per student"
    for row in rows:
        parts = [float(v) for k, v in row.items()
                 if k not in ("student", "assignment", "total", "max_score", "status", "notes")]
        assert abs(sum(parts) - float(row["total"])) < 1e-9, row
        assert float(row["total"]) == graded.cases[row["student"]].score, row


def check_nothing_outside_the_grading_folder_changed(graded: GradedClass):
    """Are files outside the course folder (and the instructor's lesson) untouched?"""
    before, after = graded.outside_before, graded.outside_after
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"grading changed files outside the course folder: {changed}"


def check_duplicate_submission_keeps_the_newest(graded: GradedClass):
    """Did collect keep the newer of two files from one student, and say so?"""
    collected = graded.collected
    assert collected.imported["twice"].endswith("(2).ipynb"), collected.imported["twice"]
    assert any(s.startswith("twice:") for s in collected.superseded), collected.summary()


def check_regrading_is_a_no_op(graded: GradedClass):
    """Does a second run reuse every grade, change no score and rewrite the same CSV?"""
    before = graded.report.csv_path.read_text()
    again = grade_class(graded.course, graded.lesson, workers=2, cell_timeout=CELL_TIMEOUT,
                        limits=Limits(memory_mb=MEMORY_MB), progress=False)
    assert {r.status for r in again.results} == {"skipped"}, again.summary()
    assert again.csv_path.read_text() == before
    assert load_manifest(graded.course.course_dir)[graded.lesson].keys() == \
        {r.student for r in graded.report.results}


def check_output_is_truncated_in_the_graded_notebook(graded: GradedClass):
    """Is the 100 MB of printed output cut down before it reaches the autograded notebook?"""
    lesson = graded.lesson
    path = graded.course.course_dir / "autograded" / "output" / lesson / f"{lesson}.ipynb"
    assert path.stat().st_size < 5 * 2**20, f"autograded notebook is {path.stat().st_size} bytes"
    assert json.loads(path.read_text())["cells"], "the autograded notebook is empty"


def check_feedback_hides_the_hidden_tests(graded: GradedClass):
    """Does any feedback page show a hidden test's code (or a hidden-test block)?"""
    course = graded.course.course_dir
    for page in (course / "feedback").glob(f"*/{graded.lesson}/*.html"):
        student = page.parent.parent.name
        mine = course / "submitted" / student / graded.lesson / f"{graded.lesson}.ipynb"
        leaks = hidden_test_lines(graded.lesson, page.read_text(errors="replace"),
                                  mine.read_text(errors="replace") if mine.is_file() else "")
        assert not leaks, f"{page.parent.parent.name}'s feedback shows {leaks[:3]}"


CHECKS = [
    check_feedback_hides_the_hidden_tests,
    check_every_student_gets_the_score_earned,
    check_feedback_explains_what_happened,
    check_gradebook_and_csv_are_consistent,
    check_nothing_outside_the_grading_folder_changed,
    check_duplicate_submission_keeps_the_newest,
    check_regrading_is_a_no_op,
    check_output_is_truncated_in_the_graded_notebook,
]


@pytest.mark.parametrize("lesson", BATTERY_LESSONS)
def test_bad_submission_battery(lesson, tmp_path):
    """Does one class run with every bad case grade everyone right, safely, and explain why?

    One test (not one per check) so the class is graded once even when pytest-xdist spreads
    tests over workers; every check runs and all failures are reported together.
    """
    graded = grade_battery(lesson, tmp_path)
    failures = []
    for check in CHECKS:
        try:
            check(graded)
        except AssertionError as error:
            failures.append(f"{check.__name__}: {error}")
    assert not failures, "\n\n".join(failures)


@pytest.mark.skipif(JAIL, reason="Landlock is available: the isolation cases ran in the battery")
def test_isolation_cases_need_landlock():
    """Without Landlock the write-outside and read-solutions cases cannot be defended: say so."""
    pytest.skip("Landlock unavailable on this kernel: run the grader in a container or as a "
                "separate user (README); the write-outside and read-solutions cases were left out")
