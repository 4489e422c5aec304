"""Mutation testing of the hidden tests: does every plausible slip in a solution lose points?

Each mutant is the instructor's solution with one small change a student could make (an operator,
a comparison's edge, an off-by-one constant, rounding the other way, a dropped ``abs``/clamp or
term, swapped arguments, a dropped copy so the caller's argument changes, an answer hard-coded from
the first call). It is graded like a submission (:mod:`edgecourse.grading.verdicts`) on the
grading cases; run on many more random inputs too, it is *equivalent* when it matches the
solution everywhere. Score = killed / non-equivalent.

``edgecourse mutants LESSON`` prints the table (``python -m edgecourse.grading.mutants``).
"""

import ast
import copy
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from edgecourse.grading import answers as notebook
from edgecourse.grading import verdicts

_SWAP_OPS = {ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.Div, ast.FloorDiv],
             ast.Div: [ast.Mult, ast.FloorDiv], ast.FloorDiv: [ast.Div], ast.Mod: [ast.FloorDiv],
             ast.LShift: [ast.RShift], ast.RShift: [ast.LShift], ast.BitOr: [ast.BitXor],
             ast.BitAnd: [ast.BitOr], ast.Pow: [ast.Mult], ast.MatMult: [ast.Mult]}
_SWAP_CMP = {ast.Lt: [ast.LtE], ast.LtE: [ast.Lt], ast.Gt: [ast.GtE], ast.GtE: [ast.Gt],
             ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq], ast.In: [ast.NotIn], ast.Is: [ast.IsNot]}
_ROUNDING = ("round", "floor", "ceil", "trunc", "rint", "around")
_DROPPABLE = ("abs", "absolute", "clip", "clamp", "minimum", "maximum", "min", "max", "fabs")
_COPIES = ("copy", "clone", "deepcopy")


@dataclass(frozen=True)
class Mutant:
    """One changed solution: what changed (for the report) and the source."""

    what: str
    source: str


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(
        func, ast.Name) else ""


def _sites(tree: ast.AST) -> Iterator[tuple[ast.AST, str, object]]:
    """Yield (node, kind, replacement) for every mutation of ``tree``'s function bodies."""
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp | ast.AugAssign):
            for new in _SWAP_OPS.get(type(node.op), []):
                yield node, "op", new
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
                yield node, "drop right", None
                if isinstance(node.op, ast.Add):
                    yield node, "drop left", None
        elif isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                for new in _SWAP_CMP.get(type(op), []):
                    yield node, "cmp", (i, new)
        elif isinstance(node, ast.Constant) and type(node.value) is int:
            yield node, "const", node.value + 1
            yield node, "const", node.value - 1
        elif isinstance(node, ast.Constant) and type(node.value) is float and node.value:
            yield node, "const", node.value * 2
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
            yield node, "drop unary", None
        elif isinstance(node, ast.BoolOp):
            yield node, "boolop", ast.Or if isinstance(node.op, ast.And) else ast.And
        elif isinstance(node, ast.Call):
            name = _name(node.func)
            if name in _ROUNDING:
                for other in _ROUNDING[:4]:
                    if other != name:
                        yield node, "rounding", other
            if name in _DROPPABLE and node.args:
                yield node, "drop call", None
            if name in _COPIES and (node.args or isinstance(node.func, ast.Attribute)):
                yield node, "drop copy", None
            if len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args[:2]):
                yield node, "swap args", None


def _apply(node: ast.AST, kind: str, new) -> ast.AST:
    """Return the replacement for ``node`` (a mutated copy)."""
    node = copy.deepcopy(node)
    if kind == "op":
        node.op = new()
    elif kind == "drop right":
        return node.left
    elif kind == "drop left":
        return node.right
    elif kind == "cmp":
        node.ops[new[0]] = new[1]()
    elif kind == "const":
        node.value = new
    elif kind == "drop unary":
        return node.operand
    elif kind == "boolop":
        node.op = new()
    elif kind == "rounding":
        if isinstance(node.func, ast.Attribute):
            node.func.attr = new
        else:
            node.func = ast.parse(f"__import__('math').{new}" if new != "round" else "round",
                                  mode="eval").body
    elif kind == "drop call":
        return node.args[0]
    elif kind == "drop copy":
        return node.args[0] if node.args and not isinstance(node.func, ast.Attribute) \
            else node.func.value
    elif kind == "swap args":
        node.args[0], node.args[1] = node.args[1], node.args[0]
    return node


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, replacement: ast.AST):
        self.target, self.replacement = target, replacement

    def visit(self, node):
        if node is self.target:
            return self.replacement
        return super().visit(node)


def _hard_coded(tree: ast.Module) -> Iterator[Mutant]:
    """Mutants whose function returns, for every call, what it returned the first time."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            name = node.name
            source = ast.unparse(tree).replace(f"def {name}(", f"def _solution_{name}(", 1)
            source += (f"\n_first_{name} = []\ndef {name}(*args, **kwargs):\n"
                       f"    if not _first_{name}:\n"
                       f"        _first_{name}.append(_solution_{name}(*args, **kwargs))\n"
                       f"    return _first_{name}[0]\n")
            yield Mutant(f"{name} returns its first answer for every input", source)


_C_SWAPS = {"<<": ">>", ">>": "<<", "<=": "<", ">=": ">", "<": "<=", ">": ">=", "==": "!=",
            "!=": "==", "&&": "||", "||": "&&", "+": "-", "-": "+", "*": "/", "/": "*"}
_C_TOKEN = re.compile(r"<<|>>|<=|>=|==|!=|&&|\|\||(?<![-+<>=!&|*/])[-+*/<>](?![-+<>=&|*/])"
                      r"|\b\d+\b")


def _code_text(text: str) -> list[tuple[str, str]]:
    """Mutants of C source text after its first brace: operators swapped, integers plus one."""
    offset = text.find("{") + 1  # the function bodies, not the declarations' pointers
    body = text[offset:]
    out = []
    for match in _C_TOKEN.finditer(body):
        token, start = match.group(), offset + match.start()
        if token.isdigit():
            new = str(int(token) + 1)
        else:
            new = _C_SWAPS[token]
        line = text.count("\n", 0, start) + 1
        out.append((f"C line {line}: {token} -> {new}",
                    text[:start] + new + text[start + len(token):]))
    return out


def _value_mutants(value) -> list[tuple[str, object]]:
    """Mutants of a literal answer: C text changed, list items swapped or dropped, per key."""
    if isinstance(value, str):
        return _code_text(value) if ";" in value and "{" in value else []
    if isinstance(value, list | tuple):
        out = [(f"items {i} and {i + 1} swapped", type(value)(
            [*value[:i], value[i + 1], value[i], *value[i + 2:]])) for i in range(len(value) - 1)
            if value[i] != value[i + 1]]
        return out + ([("last item dropped", type(value)(value[:-1]))] if value else [])
    if isinstance(value, dict):
        return [(f"[{key!r}] {what}", {**value, key: new}) for key in value
                for what, new in _value_mutants(value[key])]
    return []


def _literal_mutants(tree: ast.Module) -> Iterator[Mutant]:
    """Mutants of answers that are constants (C source in a string, a ranking, ...)."""
    for index, node in enumerate(tree.body):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            continue
        try:
            value = ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError):
            continue
        for what, new in _value_mutants(value):
            mutated = copy.deepcopy(tree)
            mutated.body[index] = ast.parse(f"{node.targets[0].id} = {new!r}").body[0]
            yield Mutant(f"{node.targets[0].id}: {what}", ast.unparse(mutated))


def mutants(source: str) -> list[Mutant]:
    """Return every single-change mutant of the functions in ``source`` (not equal to it)."""
    tree = ast.parse(source)
    original = ast.unparse(tree)
    out, seen = [], {original}
    nodes = list(ast.walk(tree))
    bodies = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    for body in bodies:
        for node, kind, new in list(_sites(body)):
            # Mutate a copy: find the same node in it by its position in the walk.
            mutated = copy.deepcopy(tree)
            target = list(ast.walk(mutated))[nodes.index(node)]
            try:
                mutated = _Replace(target, _apply(target, kind, new)).visit(mutated)
            except (AttributeError, IndexError, TypeError):
                continue
            text = ast.unparse(ast.fix_missing_locations(mutated))
            if text in seen:
                continue
            seen.add(text)
            line = getattr(node, "lineno", 0)
            label = new.__name__ if isinstance(new, type) else new
            out.append(Mutant(f"line {line}: {kind}" + (f" -> {label}" if label is not None
                                                         else ""), text))
    out += list(_hard_coded(tree))
    out += [m for m in _literal_mutants(tree) if m.source not in seen]
    return out


@dataclass
class Score:
    """An exercise's mutation score."""

    exercise: str
    mutants: int
    equivalent: int
    killed: int
    survivors: list[str]

    @property
    def score(self) -> float | None:
        """Killed / non-equivalent in percent (None: no non-equivalent mutant to judge by)."""
        live = self.mutants - self.equivalent
        return 100.0 * self.killed / live if live else None


def _sample(items: list, limit: int | None) -> list:
    if limit is None or len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def score_lesson(repo: Path, lesson: str, *, exercises: list[str] | None = None,
                 limit: int | None = None, workdir: Path | None = None,
                 timeout: float = 30.0) -> list[Score]:
    """Mutate every exercise's solution of ``lesson``; return each exercise's score."""
    work = Path(workdir or tempfile.mkdtemp(prefix=f"mutants-{lesson}-"))
    cells = verdicts.solution_cells(repo, lesson)
    names = [n for n in notebook.exercises(cells) if not exercises or n in exercises]
    solutions = notebook.answers(cells, names)
    graded = verdicts.case_names(verdicts.reference(repo, lesson, work / "reference"))
    thorough = verdicts.reference(repo, lesson, work / "thorough", thorough=True)
    jobs, labels = [], []
    for name in names:
        for mutant in _sample(mutants(solutions[name]), limit):
            jobs.append((name, mutant.source))
            labels.append(mutant.what)
    results = verdicts.evaluate(repo, lesson, jobs, thorough, work / "mutants",
                                graded_cases=graded, thorough=True, timeout=timeout)
    scores = {name: Score(name, 0, 0, 0, []) for name in names}
    for (name, _), label, verdict in zip(jobs, labels, results, strict=True):
        score = scores[name]
        score.mutants += 1
        if verdict.points < verdict.max_points:
            score.killed += 1
        elif verdict.equivalent:
            score.equivalent += 1
        else:
            score.survivors.append(label)
    return list(scores.values())


def format_scores(lesson: str, scores: list[Score], show: bool = False) -> str:
    """Return the per-exercise table (and the surviving mutants when ``show``)."""
    lines = [f"{lesson}", f"  {'exercise':<26} {'mutants':>7} {'equiv.':>6} {'killed':>6} "
             f"{'survived':>8} {'score':>7}"]
    for s in scores:
        score = f"{s.score:>6.1f}%" if s.score is not None else "    n/a"
        lines.append(f"  {s.exercise:<26} {s.mutants:>7} {s.equivalent:>6} {s.killed:>6} "
                     f"{len(s.survivors):>8} {score}")
        if show:
            lines += [f"      survived: {what}" for what in s.survivors]
    return "\n".join(lines)


def run(lessons: list[str], *, exercises: list[str] | None = None, limit: int | None = None,
        show: bool = False, min_score: float = 95.0) -> int:
    """Print the table of each lesson (all by default); 1 if an exercise is below min_score."""
    from edgecourse.grading.course import lessons as all_lessons
    from edgecourse.grading.course import repo_root

    repo = repo_root()
    worst = 100.0
    for lesson in lessons or all_lessons(repo):
        scores = score_lesson(repo, lesson, exercises=exercises, limit=limit)
        print(format_scores(lesson, scores, show), flush=True)
        worst = min([worst, *(s.score for s in scores if s.score is not None)])
    return 0 if worst >= min_score else 1


if __name__ == "__main__":
    from edgecourse.cli import main

    sys.exit(main(["mutants", *sys.argv[1:]]))
