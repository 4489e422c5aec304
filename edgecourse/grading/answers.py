"""What the judge runs of a notebook: each exercise's answer source and its instructor context.

An exercise is graded from two pieces of code only: the *context* (the instructor's imports,
function and class definitions and literal constants from the solution notebook's cells before
the exercise, including the instructor's answers to the earlier exercises) and the student's
*answer* (the top-level imports, definitions and assignments of the student's cell with the
exercise's grade_id). Nothing else the student wrote runs: not the other answer cells, not cells
the student added, not a top-level demo call. So one exercise's mistake never costs another its
points, and an edited instructor cell changes nothing.
"""

import ast
import json
from pathlib import Path

from IPython.core.inputtransformer2 import TransformerManager

_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _meta(cell: dict) -> dict:
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _python(source: str) -> ast.Module:
    """Parse a cell, IPython magics turned into Python first; raise SyntaxError if it is not."""
    return ast.parse(TransformerManager().transform_cell(source))


def _is_literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _keep(node: ast.stmt, any_assignment: bool) -> bool:
    if isinstance(node, _DEFINITIONS):
        return True
    if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = all(isinstance(t, ast.Name) for t in targets)
        return names and (any_assignment or _is_literal(node.value))
    return False


def definitions(source: str, any_assignment: bool = False) -> list[str]:
    """Return the top-level statements of ``source`` that define something, as sources.

    Kept: imports, ``def``, ``class``, and assignments to plain names (only literal values unless
    ``any_assignment``). Dropped: calls, loops, prints, demos. A cell that is not Python gives [].
    """
    try:
        tree = _python(source)
    except (SyntaxError, ValueError):
        return []
    return [ast.unparse(node) for node in tree.body if _keep(node, any_assignment)]


def defined_names(source: str) -> list[str]:
    """Return the names a cell defines at top level (what an exercise's stub asks for)."""
    names = []
    for statement in definitions(source, any_assignment=True):
        node = ast.parse(statement).body[0]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets]
        elif isinstance(node, ast.AnnAssign):
            names.append(node.target.id)
    return list(dict.fromkeys(names))


def exercises(cells: list[dict]) -> list[str]:
    """Return the grade_ids of the exercise (solution, not graded) cells, in order."""
    return [_meta(c)["grade_id"] for c in cells
            if _meta(c).get("solution") and not _meta(c).get("grade") and _meta(c).get("grade_id")]


def points(cells: list[dict]) -> dict[str, float]:
    """Return exercise -> the points of its check cell ``test_<exercise>``."""
    graded = {_meta(c)["grade_id"]: float(_meta(c).get("points", 0)) for c in cells
              if _meta(c).get("grade") and _meta(c).get("grade_id")}
    return {name: graded.get(f"test_{name}", 0.0) for name in exercises(cells)}


def contexts(cells: list[dict]) -> dict[str, str]:
    """Return exercise -> the instructor context its answer runs in (source code)."""
    out, kept = {}, []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        meta = _meta(cell)
        if meta.get("solution") and not meta.get("grade") and meta.get("grade_id"):
            out[meta["grade_id"]] = "\n".join(kept)
        if not meta.get("grade"):
            kept += definitions(_source(cell))
    return out


def answers(cells: list[dict], names: list[str]) -> dict[str, str | None]:
    """Return exercise -> the student's answer source (None: no such cell, or not Python).

    The first cell marked as the exercise's solution cell counts; its definitions and top-level
    assignments are kept, everything else at top level is dropped.
    """
    found: dict[str, str | None] = {}
    for cell in cells:
        meta = _meta(cell)
        name = meta.get("grade_id")
        if cell.get("cell_type") != "code" or name not in names or name in found:
            continue
        if not meta.get("solution") or meta.get("grade"):
            continue
        found[name] = answer_source(_source(cell))
    return {name: found.get(name) for name in names}


def answer_source(source: str) -> str | None:
    """Return what the judge runs of one answer cell (None: the cell is not Python)."""
    try:
        _python(source)
    except (SyntaxError, ValueError):
        return None
    return "\n".join(definitions(source, any_assignment=True))


def read_cells(path: Path) -> list[dict]:
    """Return a notebook's cells from its JSON (raises ValueError when it cannot be read)."""
    try:
        cells = json.loads(Path(path).read_text())["cells"]
    except (OSError, KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the cells of {path}: {error}") from None
    if not isinstance(cells, list):
        raise ValueError(f"{path}: 'cells' is not a list")
    return [c for c in cells if isinstance(c, dict)]
