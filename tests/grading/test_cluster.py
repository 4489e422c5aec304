"""Does a class graded on a Dask cluster, into PostgreSQL, come out exactly as the local path's?

Two students of lesson 01 (the quickest): one full solution, and one who answers the first
exercise and then tries to break out of the sandbox (write outside its folder, delete the
submissions, kill its parent and grandparent). Graded locally into SQLite once, then through a
2-process ``distributed.LocalCluster`` into PostgreSQL, and through one whose worker is killed.
"""

import os
import re
import signal
import threading
import time
from pathlib import Path

import nbformat
import pytest
from lessons import LESSONS, REPO, cell_index, exercises, grade_meta, solution_path, student_path

from edgecourse.grading.collect import collect
from edgecourse.grading.course import Course
from edgecourse.grading.executors import local_cluster
from edgecourse.grading.grade import grade_class, load_manifest
from edgecourse.grading.gradebook import export_csv, merge_scores
from edgecourse.grading.sandbox import Limits, landlock_abi

pytestmark = pytest.mark.slow

LESSON = LESSONS[0]
CELL_TIMEOUT = 120
ABI = landlock_abi()
# Kill the grader process and the one above it (a Dask worker, or this test): refused with
# Landlock's signal scope (ABI 6+). Without it the attempt would succeed, so it is left out.
KILL_PARENTS = """
import os, signal
grandparent = int(open(f"/proc/{os.getppid()}/stat").read().rsplit(")", 1)[1].split()[1])
for pid in (os.getppid(), grandparent):
    try:
        os.kill(pid, signal.SIGKILL)
    except PermissionError as error:
        print("PermissionError", error)
"""


def _tamper(sentinel: Path, downloads: Path):
    """Return lesson 01's stubs with the first exercise answered, then escape attempts."""
    solution = nbformat.read(solution_path(LESSON), as_version=4)
    nb = nbformat.read(student_path(LESSON), as_version=4)
    first = exercises(solution)[0]
    nb.cells[cell_index(nb, first)].source = solution.cells[cell_index(solution, first)].source
    at = cell_index(nb, f"test_{first}")
    escapes = [f"open({str(sentinel)!r}, 'w').write('pwned')",
               f"import shutil\nshutil.rmtree({str(downloads)!r})"] if ABI >= 1 else []
    for source in [*escapes, *([KILL_PARENTS] if ABI >= 6 else [])]:
        nb.cells.insert(at, nbformat.v4.new_code_cell(source))
    points = float(grade_meta(solution.cells[cell_index(solution, f"test_{first}")])["points"])
    return nb, points


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    """Write the two-student download folder once; return it and the sentinel file."""
    base = tmp_path_factory.mktemp("cluster-class")
    folder = base / "downloads"
    folder.mkdir()
    sentinel = base / "outside" / "sentinel.txt"
    sentinel.parent.mkdir()
    sentinel.write_text("untouched")
    (folder / f"good_{LESSON}.ipynb").write_bytes(solution_path(LESSON).read_bytes())
    nb, points = _tamper(sentinel, folder)
    nbformat.write(nb, folder / f"tamper_{LESSON}.ipynb")
    return folder, sentinel, points


def _grade(course_dir: Path, downloads: Path, executor, db: str | None = None):
    course = Course.load(REPO, course_dir, db)
    collect(course, downloads, LESSON)
    return grade_class(course, LESSON, executor=executor, workers=2, cell_timeout=CELL_TIMEOUT,
                       limits=Limits(cpu_seconds=600), progress=False)


def _feedback(course_dir: Path) -> dict[str, str]:
    # nbgrader prints when the feedback was made; nothing else may differ.
    stamp = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?( ?[A-Z]{3,4}|[+-]\d\d:?\d\d)?")
    return {str(p.relative_to(course_dir)): stamp.sub("<time>", p.read_text())
            for p in sorted((course_dir / "feedback").rglob("*.html"))}


@pytest.fixture(scope="module")
def local_class(downloads, tmp_path_factory):
    """Grade the class through the local executor into SQLite (the reference)."""
    course_dir = tmp_path_factory.mktemp("local") / "course"
    report = _grade(course_dir, downloads[0], None)
    return course_dir, report


def test_local_path_scores_and_contains_the_escape(local_class, downloads):
    """Does the reference run give the earned scores, with every escape attempt refused?"""
    _, report = local_class
    _, sentinel, points = downloads
    scores = {r.student: r.score for r in report.results}
    assert scores["tamper"] == points and scores["good"] == report.results[0].max_score, \
        report.summary()
    assert sentinel.read_text() == "untouched"


@pytest.fixture(scope="module")
def dask_postgres_class(downloads, postgres_db, tmp_path_factory):
    """Grade the class on a 2-process LocalCluster into PostgreSQL."""
    course_dir = tmp_path_factory.mktemp("dask-pg") / "course"
    executor = local_cluster(2)
    try:
        report = _grade(course_dir, downloads[0], executor, db=postgres_db)
    finally:
        executor.close()
    return course_dir, report


def test_dask_into_postgres_equals_local_into_sqlite(local_class, dask_postgres_class,
                                                     downloads):
    """Does a 2-process LocalCluster into PostgreSQL give the same CSV and feedback as local?"""
    local_dir, local_report = local_class
    course_dir, report = dask_postgres_class
    assert report.workers.startswith("Dask LocalCluster of 2"), report.workers
    assert report.csv_path.read_bytes() == local_report.csv_path.read_bytes(), (
        report.csv_path.read_text(), local_report.csv_path.read_text())
    assert _feedback(course_dir) == _feedback(local_dir)
    assert not (course_dir / "gradebook.db").exists(), "grades went to SQLite"
    assert downloads[1].read_text() == "untouched"
    page = (course_dir / "feedback" / "tamper" / LESSON / f"{LESSON}.html").read_text()
    refused = page.count("PermissionError")
    assert refused >= (4 if ABI >= 6 else 2 if ABI else 0), f"{refused} refusals: {page[:2000]}"


def _kill_first_busy_worker(executor, killed: list) -> None:
    """Kill (SIGKILL) the first Dask worker seen grading, a few seconds into its task."""
    pids = executor.client.run(os.getpid)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        busy = [address for address, keys in executor.client.processing().items() if keys]
        if busy:
            time.sleep(5)
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.append(busy[0])
            return
        time.sleep(0.2)


def test_a_worker_killed_mid_submission_loses_nothing(local_class, downloads, tmp_path):
    """When a worker dies while grading, is its submission graded elsewhere, same CSV?"""
    _, local_report = local_class
    executor = local_cluster(2)
    killed: list = []
    killer = threading.Thread(target=_kill_first_busy_worker, args=(executor, killed))
    killer.start()
    try:
        report = _grade(tmp_path / "course", downloads[0], executor)
    finally:
        killer.join()
        executor.close()
    assert killed, "no worker was seen grading, so none was killed"
    assert {r.status for r in report.results} == {"graded"}, report.summary()
    assert report.csv_path.read_bytes() == local_report.csv_path.read_bytes()


def _set_manual_score_and_merge_again(course: Course, points: float) -> bytes:
    """Give `tamper` a manual score, merge its autograde again as a re-run would; the CSV."""
    first = f"test_{exercises(nbformat.read(solution_path(LESSON), as_version=4))[0]}"
    with course.gradebook() as gb:
        nb = gb.find_submission_notebook(LESSON, LESSON, "tamper")
        scores = {"grades": {g.name: {"auto_score": g.auto_score} for g in nb.grades}}
        next(g for g in nb.grades if g.name == first).manual_score = points
        gb.db.commit()
    merge_scores(course, LESSON, "tamper", scores, None)
    records = load_manifest(course.course_dir)[LESSON]
    return export_csv(course, LESSON, records, course.course_dir / "manual.csv").read_bytes()


def test_manual_grades_survive_a_regrade_in_both_gradebooks(local_class, dask_postgres_class,
                                                            postgres_db):
    """Does a manual score outlive a re-run's merge, the same in SQLite and PostgreSQL?"""
    sqlite_csv = _set_manual_score_and_merge_again(Course.load(REPO, local_class[0]), 0.5)
    postgres_csv = _set_manual_score_and_merge_again(
        Course.load(REPO, dask_postgres_class[0], postgres_db), 0.5)
    assert sqlite_csv == postgres_csv
    row = next(line for line in sqlite_csv.decode().splitlines() if line.startswith("tamper,"))
    assert ",0.5," in row, f"the manual score did not replace the autograde: {row}"
