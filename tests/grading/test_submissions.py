"""Does the grader read every kind of submission, and tell the student what it changed?"""

import copy

import nbformat
import pytest
from conftest import TINY, tiny_release

from edgecourse.grading.submissions import (
    MAX_NOTEBOOK_BYTES,
    fingerprint,
    prepare,
    transplant,
    unanswered,
    with_notes,
)


def _submit(folder, nb, name=f"{TINY}.ipynb"):
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_fingerprint_ignores_the_timestamp_but_not_the_answers(tmp_path):
    """Does a new timestamp keep the fingerprint, while a changed answer changes it?"""
    folder = _submit(tmp_path / "s", tiny_release())
    before = fingerprint(folder)
    (folder / "timestamp.txt").write_text("2026-01-01 00:00:00 UTC")
    assert fingerprint(folder) == before
    (folder / "extra.txt").write_text("x")
    assert fingerprint(folder) != before


def _prepare(nb, tmp_path):
    return prepare(_submit(tmp_path / "s", nb), TINY, tiny_release(), {})


def test_a_clean_notebook_is_graded_as_is(tmp_path):
    """Is an untouched student notebook passed on without notes?"""
    prepared = _prepare(tiny_release(), tmp_path)
    assert prepared.kind == "ok" and prepared.notes == []


def _delete(cell, nb):
    nb.cells.remove(cell)


def _edit(cell, nb):
    cell.source = "assert True"


def _retype(cell, nb):
    cell.cell_type = "markdown"
    del cell["outputs"], cell["execution_count"]


@pytest.mark.parametrize("edit, words", [(_delete, "was deleted"), (_edit, "was edited"),
                                         (_retype, "changed to a markdown cell")])
def test_tampered_checks_are_named(edit, words, tmp_path):
    """Does a deleted, edited or retyped check get a note saying the grader restored it?"""
    nb = tiny_release()
    edit(_cell(nb, "test_square"), nb)
    prepared = _prepare(nb, tmp_path)
    assert prepared.kind == "ok"
    assert any(words in note for note in prepared.notes), prepared.notes
    assert prepared.notebook.cells[0].source.startswith("## Grader notes")


@pytest.mark.parametrize("content, words", [
    (b"", "the file is empty"),
    (b'{"cells": ', "could not be read as a notebook"),
    (b'["not", "a", "notebook"]', "not a notebook"),
    (b"\xff\xfe", "could not be read"),
])
def test_unreadable_files_score_zero_with_a_reason(content, words, tmp_path):
    """Does a file that is not a notebook become the unanswered assignment, with why?"""
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / f"{TINY}.ipynb").write_bytes(content)
    prepared = prepare(folder, TINY, tiny_release(), {})
    assert prepared.kind == "unanswered"
    assert any(words in note for note in prepared.notes), prepared.notes


def test_a_renamed_notebook_is_found_and_named(tmp_path):
    """Is the only notebook in the folder graded, with a note about its name?"""
    folder = _submit(tmp_path / "s", tiny_release(), name="My Homework (1).ipynb")
    prepared = prepare(folder, TINY, tiny_release(), {})
    assert prepared.kind == "ok"
    assert "was named `My Homework (1).ipynb`" in prepared.notes[0]


def test_no_notebook_or_several_score_zero(tmp_path):
    """Does a folder with none, or two, notebooks say what it found?"""
    empty = tmp_path / "none"
    empty.mkdir()
    (empty / "answers.txt").write_text("on paper")
    assert "no notebook" in prepare(empty, TINY, tiny_release(), {}).notes[0]
    two = _submit(_submit(tmp_path / "two", tiny_release(), "a.ipynb"), tiny_release(), "b.ipynb")
    prepared = prepare(two, TINY, tiny_release(), {})
    assert prepared.kind == "unanswered" and "several notebooks" in prepared.notes[0]


def test_oversized_notebook_is_not_read(tmp_path, monkeypatch):
    """Is a notebook over the size cap refused before it is parsed?"""
    folder = _submit(tmp_path / "s", tiny_release())
    monkeypatch.setattr("edgecourse.grading.submissions.MAX_NOTEBOOK_BYTES", 100)
    prepared = prepare(folder, TINY, tiny_release(), {})
    assert prepared.kind == "unanswered" and "over the" in prepared.notes[0]
    assert MAX_NOTEBOOK_BYTES == 50 * 2**20


def test_broken_markup_moves_the_answers_into_a_fresh_copy(tmp_path):
    """Does a duplicated graded cell send the student's answer into a fresh release copy?"""
    nb = tiny_release()
    _cell(nb, "square").source = "def square(x):\n    return x * x"
    twice = copy.deepcopy(nb.cells[-1])  # the check twice: nbgrader would refuse this notebook
    twice.id = "twice"
    nb.cells.append(twice)
    prepared = _prepare(nb, tmp_path)
    assert prepared.kind == "repaired" and "structure is broken" in prepared.notes[0]
    assert _cell(prepared.notebook, "square").source == "def square(x):\n    return x * x"
    assert len(prepared.notebook.cells) == len(tiny_release().cells) + 1  # plus the notes


def test_transplant_takes_answers_by_grade_id_only():
    """Are only exercise cells copied, by grade_id, and checks left as the instructor's?"""
    cells = [{"cell_type": "code", "source": ["def square(x):\n", "    return x ** 2"],
              "metadata": {"nbgrader": {"solution": True, "grade": False,
                                        "grade_id": "square"}}},
             {"cell_type": "code", "source": "assert True",
              "metadata": {"nbgrader": {"grade": True, "grade_id": "test_square"}}}]
    nb = transplant(tiny_release(), cells)
    assert _cell(nb, "square").source == "def square(x):\n    return x ** 2"
    assert _cell(nb, "test_square").source == _cell(tiny_release(), "test_square").source


def test_unanswered_keeps_only_exercises_and_checks():
    """Does the unanswered notebook drop ungraded code, keeping stubs, checks and prose?"""
    nb = unanswered(tiny_release())
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.metadata["nbgrader"]["grade_id"] for c in code] == ["square", "test_square"]
    assert any(c.cell_type == "markdown" for c in nb.cells)


def test_with_notes_puts_one_markdown_cell_first_and_copies():
    """Is a notes cell added at the top of a copy, and nothing added without notes?"""
    nb = tiny_release()
    noted = with_notes(nb, ["one", "two"])
    assert noted.cells[0].cell_type == "markdown" and "- one\n- two" in noted.cells[0].source
    assert len(nb.cells) == len(noted.cells) - 1
    assert with_notes(nb, []) is nb
