"""Do `edgecourse collect` and `edgecourse grade` walk an instructor from downloads to a CSV?"""

import csv
import zipfile

import pytest
from lessons import LESSONS, REPO, solution_path

from edgecourse.cli import main
from edgecourse.grading.collect import collect
from edgecourse.grading.course import Course

LESSON = LESSONS[0]


def test_collect_reads_lms_names_zips_and_nbgrader_layout(tmp_path):
    """Does collect take names, zips and submitted/ folders, skipping what is not a submission?"""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    good = solution_path(LESSON).read_bytes()
    (downloads / f"alice_{LESSON}_late.ipynb").write_bytes(good)
    with zipfile.ZipFile(downloads / "bob.zip", "w") as zf:
        zf.writestr(f"__MACOSX/{LESSON}.ipynb", b"resource fork")
        zf.writestr(f"work/../../{LESSON}.ipynb", good)
    (downloads / "notes.pdf").write_bytes(b"%PDF")
    nested = tmp_path / "nbgrader" / "submitted" / "carol" / LESSON
    nested.mkdir(parents=True)
    (nested / f"{LESSON}.ipynb").write_bytes(good)
    course = tmp_path / "course"
    report = collect(Course.load(REPO, course), downloads, LESSON)
    assert sorted(report.imported) == ["alice", "bob"], report.summary()
    assert any("notes.pdf" in s for s in report.skipped), report.summary()
    # A zip member's folders are dropped: nothing lands outside the student's folder.
    assert (course / "submitted" / "bob" / LESSON / f"{LESSON}.ipynb").read_bytes() == good
    assert not (course / "submitted" / f"{LESSON}.ipynb").exists()
    report = collect(Course.load(REPO, course), tmp_path / "nbgrader", LESSON)
    assert list(report.imported) == ["carol"], report.summary()


def test_collect_rejects_a_pattern_without_student_group(tmp_path):
    """Is a --student-pattern without (?P<student>...) refused with a clear message?"""
    (tmp_path / "d").mkdir()
    with pytest.raises(ValueError, match="P<student>"):
        collect(Course.load(REPO, tmp_path / "c"), tmp_path / "d", LESSON, pattern=r"^(\w+)")


def test_grade_rejects_an_unknown_lesson(tmp_path, capsys):
    """Does `edgecourse grade` name the known lessons when given an unknown one?"""
    (tmp_path / "submitted").mkdir()
    assert main(["grade", "00_nope", "--course-dir", str(tmp_path), "--root", str(REPO)]) == 2
    assert "unknown lesson" in capsys.readouterr().err


@pytest.mark.parametrize("options, message", [
    (["--db", "mysql://root@localhost/grades"], "only SQLite and PostgreSQL"),
    (["--db", "postgresql://grader:secret@127.0.0.1:9/grades"],
     "cannot reach the gradebook database postgresql+psycopg2://grader:***@127.0.0.1:9/grades"),
    (["--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler"),
    (["--jobs", "3"], "--jobs needs --cluster"),
])
def test_grade_explains_a_bad_database_or_cluster(tmp_path, capsys, options, message):
    """Does `edgecourse grade` name what is wrong with --db/--scheduler, hiding the password?"""
    (tmp_path / "submitted").mkdir()
    code = main(["grade", LESSON, "--course-dir", str(tmp_path), "--root", str(REPO), *options])
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert "secret" not in err


@pytest.mark.slow
def test_cli_walk_from_downloads_to_csv(tmp_path, capsys):
    """Does collect then grade on the command line give the solution full marks in the CSV?"""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / f"dana_{LESSON}.ipynb").write_bytes(solution_path(LESSON).read_bytes())
    course = tmp_path / "course"
    assert main(["collect", LESSON, str(downloads), "--course-dir", str(course),
                 "--root", str(REPO)]) == 0
    assert main(["grade", LESSON, "--course-dir", str(course), "--root", str(REPO),
                 "--quiet", "--csv", str(tmp_path / "grades.csv")]) == 0
    out = capsys.readouterr().out
    assert "graded: 1" in out and "mean score" in out, out
    with open(tmp_path / "grades.csv") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["student"] == "dana" and float(row["total"]) == float(row["max_score"]) > 0, row
    assert (course / "feedback" / "dana" / LESSON / f"{LESSON}.html").is_file()
