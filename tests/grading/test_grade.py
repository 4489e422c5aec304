"""Does the class grader turn what its executor hands back into grades, even a lost task?

The executor here is a stand-in that runs nothing, so these tests cost one nbgrader
generate_assignment, not a kernel.
"""

import csv

import pytest
from lessons import LESSONS, REPO, solution_path

from edgecourse.grading.course import Course
from edgecourse.grading.executors import TaskLost
from edgecourse.grading.grade import grade_class, plan, submit

LESSON = LESSONS[0]


class LosesEverything:
    """An executor whose workers die on every task."""

    description = "stand-in"
    shares_disk = True

    def __init__(self):
        self.seen = []

    def run(self, fn, shared, items):
        for item in items:
            self.seen.append(item.student)
            yield item, TaskLost(3, "Attempted to run task on 3 different workers")

    def close(self):
        pass


@pytest.fixture
def course(tmp_path):
    """A course with two submissions of lesson 01."""
    for student in ("ann", "bob"):
        submit(tmp_path, LESSON, student, solution_path(LESSON))
    return Course.load(REPO, tmp_path)


def test_a_lost_task_is_reported_failed_and_tried_again_next_run(course):
    """Is a submission whose workers all died marked failed (CSV, feedback), then replanned?"""
    executor = LosesEverything()
    report = grade_class(course, LESSON, executor=executor, progress=False)
    assert sorted(executor.seen) == ["ann", "bob"]
    assert {r.status for r in report.results} == {"failed"}, report.summary()
    assert "died 3 times" in report.summary()
    with open(report.csv_path) as fh:
        rows = {row["student"]: row for row in csv.DictReader(fh)}
    assert rows["ann"]["status"] == "failed" and rows["ann"]["total"] == "0", rows["ann"]
    page = course.course_dir / "feedback" / "ann" / LESSON / f"{LESSON}.html"
    assert "died 3 times" in page.read_text()
    again = plan(course, LESSON)
    assert again.students == ["ann", "bob"] and again.unchanged == {}


def test_plan_shares_one_snapshot_and_the_release(course):
    """Does the plan carry the gradebook snapshot and the release notebook every task needs?"""
    shared = plan(course, LESSON).assignment
    assert shared.template_db.startswith(b"SQLite format 3")
    assert shared.lesson == LESSON and '"nbgrader"' in shared.release
    assert shared.cell_timeout == course.cell_timeout
    assert any(name.startswith("test_") for name in shared.sources), "no instructor checks"
