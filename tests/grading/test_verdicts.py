"""Are grades decided where no student code can reach them, and do the hidden tests discriminate?

Per lesson, in one runner call each: the instructor's solution scores full points, the released
stubs score zero, every wrong answer in tests/wrong_answers loses its exercise's points. On
lesson 06: tampering from inside an answer (delegation under any name, switching the profiler
off, monkeypatches, fake objects, reading shared or instructor files, exiting, looping) earns
nothing, and the mutation score of every exercise is at least 95 %.
"""

import os

import numpy as np
import pytest
from lessons import LESSONS, LEVELS, REPO, student_path, wrong_answers

from edgecourse.grading import answers, mutants, plain, verdicts
from edgecourse.grading.sandbox import landlock_abi
from edgecourse.grading.verdict_server import VerdictServer, server_for

pytestmark = pytest.mark.slow
TAMPER_LESSON = "06_weight_sharing"


def _solutions(lesson: str) -> dict[str, str]:
    cells = verdicts.solution_cells(REPO, lesson)
    return answers.answers(cells, answers.exercises(cells))


@pytest.mark.parametrize("lesson", LESSONS)
def test_hidden_tests_grade_both_ways(lesson, tmp_path, monkeypatch):
    """Solution: full points; stubs: zero; each wrong answer: zero on its exercise.

    The answers run with the environment asking for AVX2 kernels (the round trip grades at the
    baseline level): a solution scores full marks at either.
    """
    references = verdicts.reference(REPO, lesson, tmp_path / "reference")
    for key, value in LEVELS["avx2"].items():
        monkeypatch.setenv(key, value)
    solutions = _solutions(lesson)
    stubs = answers.answers(answers.read_cells(student_path(lesson)), list(solutions))
    jobs = [(n, s, "solution") for n, s in solutions.items()]
    jobs += [(n, s, "stub") for n, s in stubs.items()]
    jobs += [(n, w, f"wrong answer {i + 1}") for n, ws in wrong_answers(lesson).items()
             for i, w in enumerate(ws)]
    results = verdicts.evaluate(REPO, lesson, [(n, answers.answer_source(s)) for n, s, _ in jobs],
                                references, tmp_path / "run")
    wrong = []
    for (name, _, kind), verdict in zip(jobs, results, strict=True):
        want = verdict.max_points if kind == "solution" else 0.0
        if verdict.points != want:
            wrong.append(f"{name} ({kind}): {verdict.points:g} points, expected {want:g} "
                         f"{verdict.messages}")
    assert not wrong, f"{lesson}:\n" + "\n".join(wrong)


def test_plain_data_refuses_objects_that_claim_equality():
    """Does an object whose == always agrees fail to become plain data?"""
    class Yes(float):
        def __eq__(self, other):
            return True

    class Arrayish:
        def __array__(self, *args, **kwargs):
            return np.zeros(3)

    for value in (Yes(1.0), Arrayish(), [1, Yes(2.0)], {"a": Arrayish()},
                  np.array([object()], dtype=object)):
        with pytest.raises(plain.NotPlain):
            plain.to_plain(value)
    assert plain.loads(plain.dumps(plain.to_plain({1: (np.int64(3), b"x")}))) == \
        plain.Mapping(((1, [3, b"x"]),))


def test_compare_is_strict_where_it_should_be():
    """Kinds, shapes, raised exceptions and exact ints are compared; floats within tolerance."""
    def roundtrip(value):
        return plain.loads(plain.dumps(plain.to_plain(value)))

    assert not plain.compare(roundtrip(np.array([1.0, 2.0])), roundtrip(np.array([1.0, 2.0 + 1e-9])))
    assert plain.compare(roundtrip(np.array([1, 2])), roundtrip(np.array([1.0, 2.0])))
    assert plain.compare(roundtrip(np.zeros((2, 1))), roundtrip(np.zeros(2)))
    assert plain.compare(roundtrip(2), roundtrip(3)) and not plain.compare(roundtrip(2),
                                                                            roundtrip(2))
    assert plain.compare(roundtrip(True), roundtrip(1))
    raised = plain.loads(plain.dumps(plain.error(ValueError("x"))))
    assert not plain.compare(plain.loads(plain.dumps(plain.error(KeyError("x")))),
                             plain.loads(plain.dumps(plain.error(LookupError()))))
    assert plain.compare(roundtrip(None), raised) == "should raise ValueError, but None"


def test_answers_keep_definitions_only():
    """Does the judge run an answer cell's definitions, never its demo calls?"""
    source = ("import numpy as np\nTHRESHOLD = 0.5\ndef f(x):\n    return x\n"
              "f(undefined)\nprint('demo')\nfor i in range(3):\n    pass\n%time f(1)\n"
              "np.allclose = None\n")
    kept = answers.definitions(source, any_assignment=True)
    assert kept == ["import numpy as np", "THRESHOLD = 0.5", "def f(x):\n    return x"]
    assert answers.defined_names(source) == ["THRESHOLD", "f"]


TAMPER = {
    # Delegation under other names: alias, getattr, exec, a helper in between.
    "alias": "from edgecourse.lab.codebooks import kmeans_1d as my_kmeans\n"
             "def kmeans_1d(values, k, max_iter=100):\n    return my_kmeans(values, k, max_iter)\n",
    "getattr": "import importlib\n_m = importlib.import_module('edgecourse.lab.' + 'codebooks')\n"
               "def kmeans_1d(values, k, max_iter=100):\n"
               "    return getattr(_m, 'kmeans' + '_1d')(values, k, max_iter)\n",
    "exec": "_ns = {}\n_x = exec('from sklearn.cluster import KMeans as K', _ns)\n"
            "def kmeans_1d(values, k, max_iter=100):\n"
            "    x = np.asarray(values, dtype=np.float64).reshape(-1)\n"
            "    m = _ns['K'](k, init=np.linspace(x.min(), x.max(), k).reshape(-1, 1), n_init=1,"
            " tol=0, max_iter=300, algorithm='lloyd').fit(x.reshape(-1, 1))\n"
            "    return m.cluster_centers_.ravel(), m.labels_.astype(np.int64)\n",
    "profiler-off": "import sys\nfrom edgecourse.lab import codebooks as _c\n"
                    "def kmeans_1d(values, k, max_iter=100):\n"
                    "    p = sys.getprofile()\n    sys.setprofile(None)\n"
                    "    try:\n        return _c.kmeans_1d(values, k, max_iter)\n"
                    "    finally:\n        sys.setprofile(p)\n",
    "profiler-kept-off": "import sys\ndef kmeans_1d(values, k, max_iter=100):\n"
                         "    sys.setprofile(None)\n    raise NotImplementedError\n",
    # Fakes and patches: a value that equals anything, comparisons patched at call time.
    "always-equal": "class _Yes(tuple):\n    def __eq__(self, other):\n        return True\n"
                    "def kmeans_1d(values, k, max_iter=100):\n    return _Yes((1, 2))\n",
    "patch-at-call": "def kmeans_1d(values, k, max_iter=100):\n"
                     "    np.allclose = lambda *a, **kw: True\n"
                     "    np.array_equal = lambda *a, **kw: True\n"
                     "    return np.zeros(k), np.zeros(np.size(values), dtype=np.int64)\n",
    # Files: another kernel's shared memory, the instructor's solutions.
    "shared-memory": "import pathlib\n_src = pathlib.Path('/dev/shm/edgecourse-answers').read_text()\n"
                     "_ok = exec(_src)\n",
    "read-solutions": f"import json, pathlib\n_nb = json.loads(pathlib.Path("
                      f"{str(REPO / 'solutions' / TAMPER_LESSON / (TAMPER_LESSON + '.ipynb'))!r})"
                      ".read_text())\n_ok = [exec(''.join(c['source'])) for c in _nb['cells'] "
                      "if c.get('metadata', {}).get('nbgrader', {}).get('grade_id') == "
                      "'kmeans_1d']\n",
    # The process itself: exit, crash, loop.
    "exit": "import os\ndef kmeans_1d(values, k, max_iter=100):\n    os._exit(0)\n",
    "loop": "def kmeans_1d(values, k, max_iter=100):\n    while True:\n        pass\n",
}


@pytest.fixture(scope="module")
def tamper_references(tmp_path_factory):
    return verdicts.reference(REPO, TAMPER_LESSON, tmp_path_factory.mktemp("reference"))


def test_tampering_inside_an_answer_earns_nothing(tamper_references, tmp_path):
    """Does every tampering answer to kmeans_1d score zero, with a reason?"""
    shared = "/dev/shm/edgecourse-answers"
    with open(shared, "w") as out:  # as if another student's kernel had left its answer here
        out.write(_solutions(TAMPER_LESSON)["kmeans_1d"])
    try:
        results = verdicts.evaluate(REPO, TAMPER_LESSON,
                                    [("kmeans_1d", s) for s in TAMPER.values()],
                                    {"kmeans_1d": tamper_references["kmeans_1d"]}, tmp_path,
                                    timeout=20)
    finally:
        os.remove(shared)
    earned = {kind: (v.points, v.messages) for kind, v in zip(TAMPER, results, strict=True)
              if v.points or not v.messages}
    if landlock_abi() < 1:
        earned.pop("shared-memory", None)
        earned.pop("read-solutions", None)
    assert not earned, f"tampering earned points or gave no reason: {earned}"
    delegated = [k for k, v in zip(TAMPER, results, strict=True)
                 if any("write it yourself" in m for m in v.messages)]
    assert {"alias", "getattr", "exec", "profiler-off"} <= set(delegated), delegated


def test_a_warm_server_forgets_each_submission(tamper_references, tmp_path):
    """Does a server's next submission see nothing an earlier one changed, and a dead one restart?

    The first submission patches numpy, the judge's helper and the hidden module at import and at
    call time; the next, on the same server, is the solution (full points) and a wrong answer
    (none), judged exactly as a cold runner judges them.
    """
    patches = ("import numpy as np, sys\n"
               "np.allclose = np.array_equal = lambda *a, **kw: True\n"
               "sys.modules['edgecourse.grading.plain'].compare = lambda *a, **kw: []\n"
               "def kmeans_1d(values, k, max_iter=100):\n"
               "    np.testing.assert_array_equal = lambda *a, **kw: None\n"
               "    return np.zeros(k), np.zeros(np.size(values), dtype=np.int64)\n")
    right = _solutions(TAMPER_LESSON)["kmeans_1d"]
    wrong = wrong_answers(TAMPER_LESSON)["kmeans_1d"][0]
    reference = {"kmeans_1d": tamper_references["kmeans_1d"]}
    server = server_for(REPO, TAMPER_LESSON)
    try:
        assert server_for(REPO, TAMPER_LESSON) is server
        first, = verdicts.evaluate(REPO, TAMPER_LESSON, [("kmeans_1d", patches)], reference,
                                   tmp_path / "a", server=server)
        warm = verdicts.evaluate(REPO, TAMPER_LESSON, [("kmeans_1d", right), ("kmeans_1d", wrong)],
                                 reference, tmp_path / "b", server=server)
    finally:
        os.kill(server._proc.pid, 9)
        server._proc.wait()
    cold = verdicts.evaluate(REPO, TAMPER_LESSON, [("kmeans_1d", right), ("kmeans_1d", wrong)],
                             reference, tmp_path / "c")
    assert first.points == 0 and first.messages
    assert [(v.points, v.messages) for v in warm] == [(v.points, v.messages) for v in cold]
    assert [v.points for v in warm] == [warm[0].max_points, 0.0]
    restarted = server_for(REPO, TAMPER_LESSON)
    assert restarted is not server and restarted.alive()
    restarted.close()


def test_a_server_that_cannot_start_says_why(tmp_path):
    server = VerdictServer(REPO, "99_no_such_lesson")
    try:
        with pytest.raises(RuntimeError, match="verdict server for 99_no_such_lesson stopped"):
            server.run(tmp_path / "spec.json", tmp_path / "out.json", tmp_path / "log", 60)
    finally:
        server.close()


def test_mutation_score_of_lesson_06():
    """Does every exercise of lesson 06 kill at least 95 % of its non-equivalent mutants?"""
    scores = mutants.score_lesson(REPO, TAMPER_LESSON)
    table = mutants.format_scores(TAMPER_LESSON, scores, show=True)
    assert all(s.mutants >= 5 for s in scores), table
    assert all(s.score is not None and s.score >= 95.0 for s in scores), table
