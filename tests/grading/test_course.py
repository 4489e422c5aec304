"""Does the course config pick the right gradebook, and explain a wrong one?"""

import pytest
from lessons import REPO

from edgecourse.grading.course import Course, db_url, repo_root, safe_url


def test_default_gradebook_is_sqlite_in_the_course_folder(tmp_path):
    """Without --db or a course config, is the gradebook COURSE_DIR/gradebook.db?"""
    course = Course.load(REPO, tmp_path)
    assert course.db_url == f"sqlite:///{tmp_path.resolve() / 'gradebook.db'}"
    assert course.root == REPO and course.course_dir == tmp_path.resolve()
    assert course.release_notebook("01_x") == tmp_path.resolve() / "notebooks/01_x/01_x.ipynb"


def test_course_config_db_url_is_used_and_db_option_wins(tmp_path):
    """Does COURSE_DIR/nbgrader_config.py's db_url apply, and --db override it?"""
    (tmp_path / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.db_url = "postgresql://g@h:5432/course"\n'
        "c.Execute.timeout = 7\n")
    course = Course.load(REPO, tmp_path)
    assert course.db_url == "postgresql+psycopg2://g@h:5432/course"
    assert course.cell_timeout == 7, "the course folder's config was not merged"
    assert Course.load(REPO, tmp_path, db=tmp_path / "x.db").db_url.endswith("/x.db")


def test_config_copies_are_independent(tmp_path):
    """Can a caller change its config copy without changing the course's?"""
    course = Course.load(REPO, tmp_path)
    config = course.config()
    config.Execute.timeout = 1
    assert course.cell_timeout == course.config().Execute.timeout != 1


@pytest.mark.parametrize("bad, message", [
    ("mysql://u@h/db", "only SQLite and PostgreSQL"),
    ("postgresql://u@h:notaport/db", "is not a database URL"),
])
def test_bad_database_urls_are_refused(bad, message):
    """Is a URL for another database, or a malformed one, refused with the expected forms?"""
    with pytest.raises(ValueError, match=message) as error:
        db_url(bad)
    assert "postgresql://USER:PASSWORD@HOST:5432/DATABASE" in str(error.value)


def test_passwords_stay_out_of_messages():
    """Is the password masked when a URL is shown?"""
    assert safe_url("postgresql://grader:s3cret@db/x") == "postgresql://grader:***@db/x"


def test_unreachable_server_is_reported_with_what_to_check(tmp_path):
    """Does a PostgreSQL URL nobody answers give a RuntimeError naming the server?"""
    course = Course.load(REPO, tmp_path, db="postgresql://g:pw@127.0.0.1:9/grades")
    with pytest.raises(RuntimeError, match=r"cannot reach .*127.0.0.1:9/grades.*running"):
        course.check_gradebook()


def test_repo_root_is_found_from_a_subfolder():
    """Is the repository found from inside it?"""
    assert repo_root(REPO / "tests" / "grading") == REPO
