"""Look at a submission before nbgrader does: find the notebook, read it, note what was changed.

nbgrader stops on a file it cannot parse and gives no feedback. Here every submission becomes a
notebook nbgrader can grade, with a "Grader notes" cell at the top that tells the student what
happened: an unreadable or missing notebook becomes the unanswered release notebook (scored 0,
fast: only the exercises and their checks are kept); a notebook whose nbgrader markup is broken
gets its answers moved into a fresh copy of the release notebook. nbgrader itself restores
edited and deleted test cells; the notes say so.
"""

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

MAX_NOTEBOOK_BYTES = 50 * 2**20


@dataclass
class Prepared:
    """A submission made gradable: the notebook to grade, what the grader did, and why."""

    notebook: NotebookNode
    kind: str  # "ok", "repaired", "unanswered"
    notes: list[str] = field(default_factory=list)


def _meta(cell) -> dict:
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def fingerprint(folder: Path) -> str:
    """Return a sha256 over the names and bytes of every file in a submission folder."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        if path.name == "timestamp.txt":
            continue
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def with_notes(nb: NotebookNode, notes: list[str]) -> NotebookNode:
    """Return ``nb`` with a "Grader notes" markdown cell first, listing ``notes``."""
    if not notes:
        return nb
    nb = copy.deepcopy(nb)
    text = "## Grader notes\n\n" + "\n".join(f"- {note}" for note in notes)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(text))
    return nb


def unanswered(release: NotebookNode) -> NotebookNode:
    """Return the release notebook cut to its exercise stubs and graded checks (scores zero)."""
    nb = copy.deepcopy(release)
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or _meta(c).get("grade_id")]
    return nb


def transplant(release: NotebookNode, cells: list) -> NotebookNode:
    """Return the release notebook with each exercise's source taken from ``cells`` by grade_id."""
    answers = {}
    for cell in cells:
        meta = _meta(cell)
        if meta.get("solution") and not meta.get("grade") and meta.get("grade_id") not in answers:
            source = cell.get("source", "")
            answers[meta["grade_id"]] = "".join(source) if isinstance(source, list) else source
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        grade_id = _meta(cell).get("grade_id")
        if grade_id in answers and _meta(cell).get("solution"):
            cell.source = answers[grade_id]
    return nb


def _find_notebook(folder: Path, lesson: str) -> tuple[Path | None, list[str]]:
    expected = folder / f"{lesson}.ipynb"
    if expected.is_file():
        return expected, []
    others = sorted(p for p in folder.rglob("*.ipynb")
                    if ".ipynb_checkpoints" not in p.parts and p.is_file())
    if len(others) == 1:
        name = others[0].relative_to(folder)
        return others[0], [f"Your notebook was named `{name}`, not `{lesson}.ipynb`; "
                           "it was graded as that notebook."]
    found = ", ".join(f"`{p.relative_to(folder)}`" for p in sorted(folder.rglob("*"))
                      if p.is_file() and p.name != "timestamp.txt") or "nothing"
    why = "several notebooks" if others else "no notebook"
    return None, [f"The grader found {why} instead of `{lesson}.ipynb` (found: {found}). "
                  "Every exercise scores 0. Submit exactly one notebook named "
                  f"`{lesson}.ipynb`."]


def _tampering(nb: NotebookNode, release: NotebookNode, sources: dict[str, str]) -> list[str]:
    """Describe the graded checks a student deleted, edited or retyped (nbgrader restores them)."""
    submitted = {}
    for cell in nb.cells:
        grade_id = _meta(cell).get("grade_id")
        if grade_id and grade_id not in submitted:
            submitted[grade_id] = cell
    notes = []
    for cell in release.cells:
        meta = _meta(cell)
        if not meta.get("grade"):
            continue
        grade_id = meta["grade_id"]
        mine = submitted.get(grade_id)
        if mine is None:
            notes.append(f"The check `{grade_id}` was deleted or lost its nbgrader markup; the "
                         "grader put the instructor's check back and scored it.")
        elif mine.cell_type != cell.cell_type:
            notes.append(f"The check `{grade_id}` was changed to a {mine.cell_type} cell; the "
                         "grader turned it back into a code cell and ran the instructor's check.")
        elif mine.source.strip() not in (cell.source.strip(), sources.get(grade_id, "").strip()):
            notes.append(f"The check `{grade_id}` was edited; the grader ran the instructor's "
                         "version instead.")
    return notes


def prepare(folder: Path, lesson: str, release: NotebookNode,
            sources: dict[str, str] | None = None) -> Prepared:
    """Return the notebook to grade for the submission in ``folder``, with notes for the student.

    ``sources`` maps grade_id to the instructor's check with its hidden tests (the gradebook's).
    """
    path, notes = _find_notebook(Path(folder), lesson)
    if path is None:
        return Prepared(with_notes(unanswered(release), notes), "unanswered", notes)
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        notes.append(f"`{path.name}` is {path.stat().st_size / 2**20:.0f} MB, over the "
                     f"{MAX_NOTEBOOK_BYTES // 2**20} MB the grader reads; every exercise scores 0.")
        return Prepared(with_notes(unanswered(release), notes), "unanswered", notes)
    raw = path.read_bytes()
    try:
        if not raw.strip():
            raise ValueError("the file is empty")
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
            raise ValueError("it is JSON but not a notebook (no list of cells)")
    except (ValueError, UnicodeDecodeError) as error:
        notes.append(f"`{path.name}` could not be read as a notebook ({error}). Every exercise "
                     "scores 0. Re-download it from JupyterLab (File > Download) and submit "
                     "that file.")
        return Prepared(with_notes(unanswered(release), notes), "unanswered", notes)
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
        ids = [_meta(c).get("grade_id") for c in nb.cells if _meta(c).get("grade_id")]
        if len(ids) != len(set(ids)):
            raise ValueError("a graded cell was duplicated")
    except Exception as error:  # noqa: BLE001  (nbformat raises many kinds)
        notes.append(f"The notebook's structure is broken ({type(error).__name__}: "
                     f"{str(error)[:200]}). Your answers were copied into a fresh copy of the "
                     "assignment and graded there; cells you added yourself were not kept.")
        return Prepared(with_notes(transplant(release, data["cells"]), notes), "repaired", notes)
    notes += _tampering(nb, release, sources or {})
    return Prepared(with_notes(nb, notes), "ok", notes)
