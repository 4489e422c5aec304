"""Grade each exercise where the student's code cannot reach the verdict.

For every exercise of a submission this process forks one child. The child runs the exercise's
instructor context, then jails itself (Landlock: reads the Python installation, writes only its
own empty folder; memory and CPU limits), switches off the library functions that implement the
exercise, runs the student's answer source, and calls the student's code on the exercise's hidden
cases (``hidden_tests/<lesson>.py`` in the course repository, see its README). It writes what
came back as plain data (:mod:`edgecourse.grading.plain`) and exits. Only after every child has
exited does this process read the reference outputs (the instructor's solution run the same way)
and compare: no hook, monkeypatch, fake object or file a student's code made exists here.

Run ``python -m edgecourse.grading.verdicts SPEC.json``; :func:`evaluate` and :func:`reference`
write the spec and run it.
"""

import ast
import contextlib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgecourse.cache import cache_root
from edgecourse.grading import answers as notebook
from edgecourse.grading import plain
from edgecourse.grading.sandbox import (
    SYSTEM_READ,
    Limits,
    apply_limits,
    landlock_abi,
    python_read_paths,
    restrict_filesystem,
)

HIDDEN_DIR = "hidden_tests"
IMPORTS = "_imports.py"  # the contexts' import lines, run once before the children fork
DEFAULT_TIMEOUT = 120.0


@dataclass
class Verdict:
    """One exercise's grade: points, why points were lost, and whether it matched everywhere."""

    exercise: str
    points: float
    max_points: float
    messages: list[str] = field(default_factory=list)
    equivalent: bool = False  # every case, thorough ones included, equals the reference
    measured: dict = field(default_factory=dict)  # numbers a scored exercise measured (the CSV's)


def hidden_module(repo: Path, lesson: str):
    """Import ``hidden_tests/<lesson>.py`` from the course repository."""
    path = Path(repo) / HIDDEN_DIR / f"{lesson}.py"
    if not path.is_file():
        raise FileNotFoundError(f"{lesson} has no hidden tests at {path}; every graded lesson "
                                f"needs one (see {HIDDEN_DIR}/README.md)")
    spec = importlib.util.spec_from_file_location(f"hidden_{lesson}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def solution_cells(repo: Path, lesson: str) -> list[dict]:
    """Return the cells of the instructor's solution notebook of ``lesson``."""
    return notebook.read_cells(Path(repo) / "solutions" / lesson / f"{lesson}.ipynb")


# ---- The child: runs the student's code, jailed, and writes plain data ------------------------

def _resolve(target: str):
    module_name, _, qualname = target.partition(":")
    try:
        obj = importlib.import_module(module_name)
    except ImportError:
        return None
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return obj


def _functions(obj) -> list:
    """Return the Python functions of a function or class (builtins have none)."""
    members = vars(obj).values() if isinstance(obj, type) else [obj]
    members = [getattr(m, "__func__", m) for m in members]  # staticmethod, classmethod
    return [v for v in members if hasattr(v, "__code__")]


class Tripwire:
    """Report (to a pipe the judge reads) and refuse every call into the forbidden functions."""

    def __init__(self, targets: list[str], fd: int):
        self.fd, self.codes, self.builtins, self._keep = fd, {}, {}, []
        for target in targets:
            obj = _resolve(target)
            if hasattr(obj, "cache_clear") and hasattr(obj, "__wrapped__"):
                # functools.lru_cache: a cached answer runs no code the profiler could see, so
                # empty the cache and watch the function it wraps.
                obj.cache_clear()
                obj = obj.__wrapped__
            for fn in _functions(obj):
                if not fn.__code__.co_freevars:
                    # Reports even with the profiler switched off, then refuses.
                    fn.__code__ = _refusal(target, fd).replace(co_name=fn.__code__.co_name)
                self.codes[fn.__code__] = target
            if obj is not None and not _functions(obj) and callable(obj):
                self.builtins[id(obj)] = target
                self._keep.append(obj)

    def report(self, target: str) -> None:
        try:
            os.write(self.fd, (target + "\n").encode())
        except OSError:
            pass

    def __call__(self, frame, event, arg):
        if event == "call":
            target = self.codes.get(frame.f_code)
            if target:
                self.report(target)
        elif event == "c_call":
            target = self.builtins.get(id(arg))
            if target:
                self.report(target)

    def install(self) -> None:
        if self.codes or self.builtins:
            sys.setprofile(self)
            threading.setprofile(self)

    def still_installed(self) -> bool:
        return not (self.codes or self.builtins) or sys.getprofile() is self


def _refusal(target: str, fd: int):
    """Return the code of a function that reports ``target`` to ``fd`` and raises."""
    # It runs with the library module's globals: only builtins and constants in it.
    source = (f"def refuse(*args, **kwargs):\n"
              f"    try:\n        __import__('os').write({fd}, {(target + chr(10)).encode()!r})\n"
              f"    except OSError:\n        pass\n"
              f"    raise RuntimeError({('edgecourse grader: ' + target + ' implements the exercise being graded')!r})\n")
    namespace: dict = {}
    exec(source, namespace)  # noqa: S102 - our own constant source
    return namespace["refuse"].__code__


def _run_statements(source: str, ns: dict, filename: str) -> None:
    """Run each top-level statement; one that fails is skipped (its names stay undefined)."""
    for node in ast.parse(source).body:
        code = compile(ast.Module([node], []), filename, "exec")
        try:
            exec(code, ns)  # noqa: S102 - a context or an answer, in the child
        except Exception:  # noqa: BLE001 - a failing statement costs only what it defines
            pass


def _child(job: dict, spec: dict, hidden, fd: int, folder: Path) -> None:
    exercise = job["exercise"]
    os.chdir(folder)
    context = Path(spec["contexts"], f"{exercise}.py").read_text()
    answer = job["answer"]
    ns: dict = {"__name__": "__main__"}
    _run_statements(context, ns, f"<context of {exercise}>")
    setup = getattr(hidden, f"setup_{exercise}", None)
    if setup:
        setup(ns)
    probe = getattr(hidden, f"probe_{exercise}")
    tripwire = Tripwire(list(getattr(hidden, "FORBIDDEN", {}).get(exercise, ())), fd)
    if spec["jail"]:
        read = [*map(Path, SYSTEM_READ), *python_read_paths()]
        restrict_filesystem(read, [folder, Path("/dev/null")])
    limits = Limits(**spec["limits"])
    apply_limits(limits)
    os.environ.update({"HOME": str(folder), "TMPDIR": str(folder), "MPLCONFIGDIR": str(folder)})
    tempfile.tempdir = str(folder)  # the runner may have looked it up before the fork
    tripwire.install()
    cases = []
    if answer is not None:
        _run_statements(answer, ns, "<your answer>")
        try:
            for name, thunk in probe(ns, spec["thorough"]):
                try:
                    value = plain.to_plain(thunk())
                except plain.NotPlain as error:
                    value = {"__notplain__": str(error)}
                except BaseException as error:  # noqa: BLE001 - any failure is the answer's
                    value = plain.error(error)
                cases.append([str(name), value])
        except BaseException as error:  # noqa: BLE001
            cases.append(["__probe__", plain.error(error)])
    status = "ok" if tripwire.still_installed() else "profiler removed"
    sys.setprofile(None)
    Path(folder, "result.json").write_text(plain.dumps({"status": status, "cases": cases}))


def _fork(job: dict, spec: dict, hidden, folder: Path) -> tuple[int, int]:
    folder.mkdir(parents=True, exist_ok=True)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        code = 0
        try:
            os.setpgid(0, 0)
            _child(job, spec, hidden, write_fd, folder)
        except BaseException:  # noqa: BLE001 - say why in the folder (for instructors), exit
            code = 3
            with contextlib.suppress(OSError):
                Path(folder, "crash.txt").write_text(traceback.format_exc()[-5000:])
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def _wait(pid: int, read_fd: int, timeout: float) -> tuple[str, list[str]]:
    """Wait for a child; return ("exited"|"timeout"|"killed", forbidden targets it called)."""
    reported, deadline, state = b"", time.monotonic() + timeout, "exited"
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        ready, _, _ = select.select([read_fd], [], [], 0.05)
        if ready:
            reported += os.read(read_fd, 65536)
        if done:
            if os.WIFSIGNALED(status):
                state = "killed"
            break
        if time.monotonic() > deadline:
            for target in (-pid, pid):
                try:
                    os.kill(target, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            os.waitpid(pid, 0)
            state = "timeout"
            break
    while select.select([read_fd], [], [], 0)[0]:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        reported += chunk
    os.close(read_fd)
    return state, sorted(set(reported.decode(errors="replace").split()))


def run_spec(spec: dict) -> list[dict]:
    """Run every job of ``spec`` in its own child; return each child's raw outcome."""
    # Import what every context imports once, here, so each child starts warm. Only import
    # lines: this process must never hold an answer (a child could read its memory).
    exec(Path(spec["contexts"], IMPORTS).read_text(), {"__name__": "__imports__"})  # noqa: S102
    hidden = hidden_module(Path(spec["repo"]), spec["lesson"])
    timeouts = getattr(hidden, "TIMEOUT", {})
    work = Path(spec["workdir"])
    outcomes = []
    for index, job in enumerate(spec["jobs"]):
        folder = work / f"job{index:04d}"
        shutil.rmtree(folder, ignore_errors=True)  # never a result left by an earlier run
        started = time.monotonic()
        pid, fd = _fork(job, spec, hidden, folder)
        state, delegated = _wait(pid, fd, float(timeouts.get(job["exercise"], spec["timeout"])))
        result = folder / "result.json"
        crash = folder / "crash.txt"
        outcomes.append({"state": state, "delegated": delegated,
                         "result": result.read_text() if result.is_file() else None,
                         "crash": crash.read_text() if crash.is_file() else "",
                         "seconds": round(time.monotonic() - started, 2)})
    return outcomes


# ---- The judge: after every child has exited --------------------------------------------------

def _cases(raw: str | None) -> tuple[str, list]:
    record = plain.loads(raw)
    if not isinstance(record, dict) or not isinstance(record.get("cases"), list):
        raise ValueError("not a result record")
    return str(record.get("status")), [(str(n), v) for n, v in record.get("cases", [])]


def judge(exercise: str, max_points: float, outcome: dict, reference: list, graded: set[str],
          hidden) -> Verdict:
    """Compare one child's outcome with the reference cases; return the exercise's verdict."""
    verdict = Verdict(exercise, 0.0, max_points)
    if outcome["delegated"]:
        why = getattr(hidden, "FORBIDDEN_WHY", {}).get(
            exercise, "which implements this exercise: write it yourself")
        verdict.messages.append(
            f"{exercise} calls {', '.join(outcome['delegated'])}, {why} (no points)")
        return verdict
    if outcome["state"] == "timeout":
        verdict.messages.append(f"{exercise} did not finish in the time the grader allows")
        return verdict
    if outcome["result"] is None:
        verdict.messages.append(f"grading {exercise} ended without a result (the answer crashed "
                                "the process, ran out of memory, or exited)")
        return verdict
    try:
        status, cases = _cases(outcome["result"])
    except (ValueError, TypeError, RecursionError) as error:
        verdict.messages.append(f"{exercise}: the grader could not read its result ({error})")
        return verdict
    if status != "ok":
        verdict.messages.append(f"{exercise}: the grader's delegation check was switched off "
                                "while it ran (no points)")
        return verdict
    got = dict(cases)
    if "__probe__" in got:
        verdict.messages.append(f"{exercise}: grading stopped early: your code "
                                f"{plain.compare(got['__probe__'], None)}")
    scorer = getattr(hidden, f"score_{exercise}", None)
    if scorer is not None and "__probe__" not in got:
        return _scored(verdict, scorer, got)
    custom = getattr(hidden, f"judge_{exercise}", None)
    tolerance = getattr(hidden, "TOLERANCE", {}).get(exercise, {})
    failed, everywhere = [], True
    for name, want in reference:
        if name not in got:
            why = "was not reached"
        elif isinstance(got[name], dict) and "__notplain__" in got[name]:
            why = f"returns {str(got[name]['__notplain__'])[:200]}, not plain data"
        else:
            why = custom(name, got[name], want) if custom else plain.compare(
                got[name], want, **tolerance)
        if why:
            everywhere = False
            if name in graded:
                failed.append(f"{name}: {why}")
    verdict.equivalent = everywhere  # a delegating outcome returned above
    if failed:
        verdict.messages += [f"{exercise}, case {m}" for m in failed[:3]]
        if len(failed) > 3:
            verdict.messages.append(f"... and {len(failed) - 3} more cases")
    elif "__probe__" not in got:
        verdict.points = max_points
    return verdict


class GraderError(Exception):
    """The grader cannot measure any answer here (a tool is missing): no verdict, not a zero."""


def _scored(verdict: Verdict, scorer, got: dict) -> Verdict:
    """Let the hidden module's ``score_<exercise>(cases)`` measure the answer and set points.

    It returns (fraction of the points, lines for the feedback, measured numbers); it runs here,
    in the judge, on plain data only. A :class:`GraderError` stops the judge: the submission is
    reported failed (graded again on the next run), never scored 0 for the grader's fault.
    """
    try:
        fraction, lines, measured = scorer(got)
    except GraderError:
        raise
    except Exception as error:  # noqa: BLE001 - the answer's data made the measurement fail
        verdict.messages.append(f"{verdict.exercise}: {error}"[:2000])
        return verdict
    fraction = min(max(float(fraction), 0.0), 1.0)
    verdict.points = round(verdict.max_points * fraction, 2)
    verdict.messages += [str(line) for line in lines]
    verdict.measured = {str(k): v for k, v in measured.items()}
    verdict.equivalent = fraction == 1.0
    return verdict


# ---- Driving it from the grader and the tests ------------------------------------------------

def write_contexts(repo: Path, lesson: str, folder: Path) -> Path:
    """Write each exercise's instructor context to ``folder/<exercise>.py``; return folder."""
    folder.mkdir(parents=True, exist_ok=True)
    imports = []
    for exercise, source in notebook.contexts(solution_cells(repo, lesson)).items():
        (folder / f"{exercise}.py").write_text(source)
        imports += [s for s in source.splitlines() if s.startswith(("import ", "from "))]
    (folder / IMPORTS).write_text("\n".join(dict.fromkeys(imports)))
    return folder


def _spawn(spec: dict, workdir: Path, server=None) -> list[dict]:
    """Run ``spec`` in a fresh runner process, or in one forked by ``server`` (verdict_server)."""
    path = workdir / "spec.json"
    path.write_text(json.dumps(spec))
    out, log = workdir / "outcomes.json", workdir / "runner.log"
    out.unlink(missing_ok=True)
    if server is None:
        with open(log, "w") as stderr:
            code = subprocess.run([sys.executable, "-m", "edgecourse.grading.verdicts", str(path),
                                   str(out)], stdout=subprocess.DEVNULL, stderr=stderr).returncode
    else:
        # A safety net only: the runner stops each child at its own time limit.
        code = server.run(path, out, log, 60 + len(spec["jobs"]) * max(spec["timeout"], 600))
    if code != 0 or not out.is_file():
        raise RuntimeError(f"the verdict runner failed (exit {code}):\n"
                           f"{log.read_text(errors='replace')[-3000:]}")
    return json.loads(out.read_text())


def _spec(repo: Path, lesson: str, jobs: list[dict], workdir: Path, *, thorough: bool,
          limits: Limits, jail: bool, timeout: float) -> dict:
    contexts = write_contexts(repo, lesson, workdir / "contexts")
    return {"repo": str(repo), "lesson": lesson, "jobs": jobs, "workdir": str(workdir / "runs"),
            "contexts": str(contexts), "thorough": thorough, "limits": asdict(limits),
            "jail": jail and landlock_abi() > 0, "timeout": timeout}


def _reference_key(repo: Path, lesson: str, thorough: bool) -> str:
    """Return a digest of everything a reference run depends on (code, versions).

    Not the CPU dispatch settings of the environment: ``edgecourse.lab.backend`` pins them in
    every process that computes (and tests prove the environment cannot move a number).
    """
    digest = hashlib.sha256(f"{lesson}\0{thorough}\0{sys.version}\0".encode())
    for name in ("numpy", "torch", "tensorflow", "scikit-learn", "ai-edge-litert"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            digest.update(f"{name}={importlib.metadata.version(name)}\0".encode())
    package = Path(__file__).resolve().parents[1]
    files = [Path(repo) / "solutions" / lesson / f"{lesson}.ipynb",
             Path(repo) / HIDDEN_DIR / f"{lesson}.py",
             *sorted(p for p in package.rglob("*") if p.is_file() and p.suffix in
                     (".py", ".c", ".h", ".cc", ".j2", ".ld", ".json"))]
    for path in files:
        digest.update(str(path.name).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def reference(repo: Path, lesson: str, workdir: Path, *, thorough: bool = False,
              limits: Limits | None = None, timeout: float = DEFAULT_TIMEOUT) -> dict:
    """Run the instructor's solution through every probe; return exercise -> plain cases JSON.

    The result is cached under ``cache_root()/references`` by a digest of the solution, the hidden
    tests, the package's code and the library versions.
    """
    cached = cache_root() / "references" / f"{_reference_key(repo, lesson, thorough)}.json"
    if cached.is_file():
        with contextlib.suppress(ValueError):
            return json.loads(cached.read_text())
    out = _run_reference(repo, lesson, workdir, thorough=thorough, limits=limits,
                         timeout=timeout)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(out))
    os.replace(partial, cached)
    return out


def _run_reference(repo: Path, lesson: str, workdir: Path, *, thorough: bool,
                   limits: Limits | None, timeout: float) -> dict:
    cells = solution_cells(repo, lesson)
    names = notebook.exercises(cells)
    solutions = notebook.answers(cells, names)
    jobs = [{"exercise": name, "answer": solutions[name]} for name in names]
    workdir.mkdir(parents=True, exist_ok=True)
    outcomes = _spawn(_spec(repo, lesson, jobs, workdir, thorough=thorough,
                            limits=limits or Limits(), jail=True, timeout=timeout), workdir)
    out = {}
    for name, outcome in zip(names, outcomes, strict=True):
        problem = outcome["delegated"] or outcome["state"] != "exited" or not outcome["result"]
        status, cases = _cases(outcome["result"]) if not problem else ("", [])
        errors = [n for n, v in cases if n == "__probe__"]
        if problem or status != "ok" or errors:
            raise RuntimeError(f"{lesson}: the instructor's solution of {name} does not run "
                               f"through its hidden tests ({outcome['state']}, delegated "
                               f"{outcome['delegated']}, status {status!r}, probe errors {errors})"
                               f"\n{outcome.get('crash', '')}")
        out[name] = outcome["result"]
    return out


def evaluate(repo: Path, lesson: str, answers: list[tuple[str, str | None]], references: dict,
             workdir: Path, *, graded_cases: dict | None = None, thorough: bool = False,
             limits: Limits | None = None, jail: bool = True,
             timeout: float = DEFAULT_TIMEOUT, server=None) -> list[Verdict]:
    """Grade ``answers`` ((exercise, source) pairs) against ``references`` (from reference()).

    ``graded_cases`` (exercise -> case names) limits which cases cost points; the others only
    decide ``Verdict.equivalent`` (mutation testing runs thorough references). ``server`` (a
    :class:`~edgecourse.grading.verdict_server.VerdictServer` of this lesson) forks the runner
    from a process that has done the lesson's imports already.
    """
    repo = Path(repo)
    workdir.mkdir(parents=True, exist_ok=True)
    jobs = [{"exercise": name, "answer": source} for name, source in answers]
    spec = _spec(repo, lesson, jobs, workdir, thorough=thorough, limits=limits or Limits(),
                 jail=jail, timeout=timeout)
    # The runner judges once its children have exited; only then does it read these.
    (workdir / "references.json").write_text(json.dumps(references))
    spec["judge"] = {"references": str(workdir / "references.json"),
                     "points": notebook.points(solution_cells(repo, lesson)),
                     "graded_cases": graded_cases}
    return [Verdict(**v) for v in _spawn(spec, workdir, server)]


def judge_all(spec: dict, outcomes: list[dict], hidden) -> list[dict]:
    """Judge every outcome against the references named in ``spec["judge"]``."""
    references = json.loads(Path(spec["judge"]["references"]).read_text())
    points, graded_cases = spec["judge"]["points"], spec["judge"]["graded_cases"]
    verdicts = []
    for job, outcome in zip(spec["jobs"], outcomes, strict=True):
        name = job["exercise"]
        _, want = _cases(references[name])
        graded = set(graded_cases[name]) if graded_cases else {n for n, _ in want}
        verdicts.append(asdict(judge(name, float(points[name]), outcome, want, graded, hidden)))
    return verdicts


def case_names(references: dict) -> dict[str, list[str]]:
    """Return exercise -> the names of its reference cases."""
    return {name: [n for n, _ in _cases(raw)[1]] for name, raw in references.items()}


def main(argv: list[str] | None = None) -> int:
    """Run the jobs in SPEC.json; write their raw outcomes (or, to judge, verdicts) to OUT.json."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m edgecourse.grading.verdicts SPEC.json OUT.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(args[0]).read_text())
    outcomes = run_spec(spec)
    if spec.get("judge"):
        outcomes = judge_all(spec, outcomes, hidden_module(Path(spec["repo"]), spec["lesson"]))
    Path(args[1]).write_text(json.dumps(outcomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
