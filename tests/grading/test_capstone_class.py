"""Lesson 07 graded as a class on the command line: the device decides, the CSV is the leaderboard.

Four students hand in the capstone: the reference solution, a narrow plain model (fits the
device, misses the accuracy), a distilled model pruned too little (misses the flash) and one
trained on the visible test frames only (100 % on them, far less on the held-out ones). Each is
graded by ``edgecourse grade`` exactly as a class would be: the firmware rebuilt from the model
in the judge, run under QEMU on the held-out frames, scored by ``device_budget.RULE``.
"""

import csv
import re

import nbformat
import pytest
from lessons import REPO, solution_path, with_answers

from edgecourse.cli import main
from edgecourse.deploy import device_budget
from edgecourse.deploy.device_budget import Measured

pytestmark = pytest.mark.slow
LESSON = "07_capstone"
_HEAD = '''
SPARSE = False
CODEBOOK = False


def build_submission() -> bytes:
    task = load_sensor_task()
'''
WEAK = {
    "narrow": _HEAD + '''
    set_seed(0)
    net = SensorCNN(1.0, 2)
    fit(net, task.train, epochs=20, seed=0)
    return to_tflite(net, task.train.X[:200])
''',
    "wide": _HEAD + '''
    kd = distillation_loss_fn(recipes.capstone_baseline(), T=4.0, alpha=0.9)
    set_seed(0)
    net = SensorCNN(2.0, 2)
    fit(net, task.train, epochs=30, seed=0, loss_fn=kd)
    net.cnn = prune_channels(net.cnn, 0.2)
    fit(net, task.train, epochs=10, seed=0, loss_fn=kd)
    return to_tflite(net, task.train.X[:200])
''',
    "overfit": _HEAD + '''
    set_seed(0)
    net = SensorCNN(2.0, 2)
    fit(net, task.test, epochs=60, seed=0)
    net.cnn = prune_channels(net.cnn, 0.25)
    fit(net, task.test, epochs=20, seed=0)
    return to_tflite(net, task.train.X[:200])
''',
}


def _measured(row: dict) -> Measured:
    return Measured(int(row["capstone flash_bytes"]), int(row["capstone ram_bytes"]),
                    int(row["capstone instructions"]), float(row["capstone accuracy"]), 0, 1.0)


def test_the_device_grades_the_class_and_the_csv_ranks_it(tmp_path, capsys):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / f"ref_{LESSON}.ipynb").write_bytes(solution_path(LESSON).read_bytes())
    for student, answer in WEAK.items():
        nbformat.write(with_answers(solution_path(LESSON), {"capstone": answer}),
                       downloads / f"{student}_{LESSON}.ipynb")
    course = tmp_path / "course"
    assert main(["collect", LESSON, str(downloads), "--course-dir", str(course),
                 "--root", str(REPO)]) == 0
    assert main(["grade", LESSON, "--course-dir", str(course), "--root", str(REPO),
                 "--quiet", "--csv", str(tmp_path / "grades.csv")]) == 0
    summary = capsys.readouterr().out
    print(summary)
    with open(tmp_path / "grades.csv") as fh:
        rows = {row["student"]: row for row in csv.DictReader(fh)}
    assert set(rows) == {"ref", *WEAK}
    for student, row in rows.items():
        # the points are the rule's, applied to the numbers the CSV shows beside them
        assert float(row["capstone"]) == device_budget.points(_measured(row)), (student, row)
    missed = {s: device_budget.misses(_measured(r)) for s, r in rows.items()}
    assert float(rows["ref"]["total"]) == float(rows["ref"]["max_score"]), rows["ref"]
    assert missed == {"ref": [], "narrow": ["accuracy"], "wide": ["flash"],
                      "overfit": ["accuracy"]}, missed
    for student in WEAK:
        assert float(rows[student]["capstone"]) < device_budget.MAX_POINTS, rows[student]
    # over-fitted: every accuracy point lost, though its own visible frames score 100 %
    assert float(rows["overfit"]["capstone"]) <= 3 * device_budget.LIMIT_POINTS
    assert float(rows["overfit"]["capstone accuracy"]) < device_budget.ACCURACY_FLOOR
    board = summary[summary.index("leaderboard"):].splitlines()
    assert board[1].split()[1] == "ref", board
    assert _readme_table() == {s: [r["capstone"], r["capstone flash_bytes"], r["capstone ram_bytes"],
                                   r["capstone instructions"], r["capstone accuracy"]]
                               for s, r in rows.items()}, "README: update 'The capstone on the device'"
    # the feedback shows the measured table
    page = (course / "feedback" / "wide" / LESSON / f"{LESSON}.html").read_text()
    assert "held-out frames" in page and "MISSED" in page


def _readme_table() -> dict[str, list[str]]:
    """Return README's capstone table: student -> points, flash, RAM, instructions, accuracy."""
    text = (REPO / "README.md").read_text()
    block = text[text.index("### The capstone on the device"):].split("```")[1]
    table = {}
    for line in block.strip().splitlines()[1:]:
        numbers = re.findall(r"(?<=\s)[\d,.]+(?=\s)", f" {line} ")[-5:]
        table[line.split()[0]] = [f"{float(n.replace(',', '')):g}" for n in numbers]
    return table
