"""Autograde one student in a private scratch course through nbgrader, under a sandboxed kernel.

Each grading task (:func:`edgecourse.grading.task.grade_submission`, in a local thread or on a
Dask worker) starts one of these per attempt as a separate process
(``python -m edgecourse.grading.worker JOB.json``). It grades against a snapshot of the
gradebook in its own folder and writes ``result.json``; only the coordinating process writes the
real gradebook, so workers can run side by side.
"""

import copy
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from nbclient.exceptions import DeadKernelError
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    Execute,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)
from nbgrader.preprocessors.base import NbGraderPreprocessor
from traitlets import Integer

from edgecourse.cache import cache_root
from edgecourse.grading.course import Course, api
from edgecourse.grading.sandbox import (
    PIDFILE_ENV,
    Limits,
    die_with_parent,
    python_read_paths,
    write_kernelspec,
)
from edgecourse.grading.scores import read_scores
from edgecourse.grading.task import PARENT_ENV
from edgecourse.third_party import KERNELS, tree_location

KERNEL_NAME = "edgecourse-sandbox"
KERNEL_DIED = "KernelDied"


def _error(ename: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=message,
                        traceback=[f"{ename}: {message}"])


class SandboxedExecute(Execute):
    """nbgrader's Execute, but a kernel that dies fails only its cell: restart, replay, go on."""

    max_kernel_deaths = Integer(3, help="kernel deaths after which the rest is not run").tag(
        config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._deaths = 0
        self._replayable: list[int] = []
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and self._deaths >= self.max_kernel_deaths:
            cell.outputs = [_error(KERNEL_DIED, f"not run: the kernel died {self._deaths} times "
                                   "earlier in this notebook, so grading stopped here")]
            return cell, self.resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._deaths += 1
            cell.outputs.append(_error(KERNEL_DIED, (
                "the kernel died while running this cell (for example os._exit, sys.exit in a "
                "thread, a crash in C code, or a resource limit). The grader restarted it, re-ran "
                "the cells before this one, and scored this cell as failed.")))
            self._restart_and_replay()
            return cell, self.resources
        if cell.cell_type == "code" and not any(o.output_type == "error" for o in cell.outputs):
            self._replayable.append(index)
        return cell, resources

    def _restart_and_replay(self) -> None:
        # A fresh kernel has lost the state of the cells before: run the ones that worked again.
        self._cleanup_kernel()
        self.km = self.create_kernel_manager()
        self.start_new_kernel()
        self.start_new_kernel_client()
        try:
            for index in self._replayable:
                self.execute_cell(copy.deepcopy(self.nb.cells[index]), index,
                                  store_history=False)
        except DeadKernelError:
            self._deaths = self.max_kernel_deaths
            self._cleanup_kernel()
            self.km = self.create_kernel_manager()
            self.start_new_kernel()
            self.start_new_kernel_client()


class LimitOutputSize(NbGraderPreprocessor):
    """Truncate each cell's text output to ``max_bytes`` (LimitOutput counts lines only)."""

    max_bytes = Integer(100_000, help="characters of text output kept per cell").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        budget = self.max_bytes
        for output in cell.outputs:
            if output.output_type == "stream":
                text = output.text
                if len(text) > budget:
                    output.text = text[:budget] + (
                        f"\n... output truncated by the grader: {len(text):,} characters ...\n")
                budget = max(budget - len(text), 0)
            for mime, value in list(output.get("data", {}).items()):
                if isinstance(value, str) and len(value) > self.max_bytes:
                    output.data[mime] = value[: self.max_bytes] + "\n... truncated by the grader"
        return cell, resources


def firmware_read_paths() -> list[Path]:
    """Return what a kernel reads to build the lessons' TFLM firmware: the TFLM source trees
    found, and the TFLM library cache (read-only: a kernel cannot plant a library for the next
    student, and the rest of the cache, hidden-test references included, stays out of reach)."""
    trees = [tree_location(kernels).resolve() for kernels in KERNELS]
    return [*[tree for tree in trees if tree.is_dir()], cache_root() / "tflm"]


def autograde_preprocessors() -> list:
    """Return nbgrader's autograde preprocessors with the sandboxed executor and output cap."""
    return [SandboxedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
            LimitOutputSize, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]


def run_job(job: dict) -> dict:
    """Grade the submission placed in ``job["scratch"]``; return nbgrader's outcome and scores."""
    scratch = Path(job["scratch"])
    lesson, student = job["lesson"], job["student"]
    course = scratch / "course"
    config = Course.load(Path(job["repo"]), course_dir=course).config()
    # Only the assignment's extra files: the solution notebook never enters the scratch course.
    source = course / config.CourseDirectory.source_directory / lesson
    source.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(job["template_db"], course / "gradebook.db")
    if job.get("source_dir"):
        shutil.copytree(job["source_dir"], source, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    home, runtime, jupyter = scratch / "home", scratch / "runtime", scratch / "jupyter"
    for folder in (home, runtime, jupyter):
        folder.mkdir(parents=True, exist_ok=True)
    workdir = course / "autograded" / student / lesson
    limits = Limits(**job["limits"])
    write_kernelspec(jupyter, KERNEL_NAME, limits, workdir, home,
                     python_read_paths() + firmware_read_paths(),
                     {"EDGECOURSE_CACHE": str(cache_root())})
    os.environ["JUPYTER_PATH"] = str(jupyter)
    os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime)
    # jupyter_client may put the connection file in a temp file: keep it where the jail reads.
    os.environ["TMPDIR"] = str(runtime)
    tempfile.tempdir = str(runtime)
    os.environ[PIDFILE_ENV] = str(scratch / "kernel.pids")

    config.Execute.kernel_name = KERNEL_NAME
    config.Execute.timeout = int(job["cell_timeout"])
    config.Execute.startup_timeout = 120
    # Output may trail the reply by seconds on a loaded machine; nbgrader's 4 s fails the notebook.
    config.Execute.iopub_timeout = 60
    config.LimitOutputSize.max_bytes = int(job["max_output_chars"])
    config.Autograde.autograde_preprocessors = autograde_preprocessors()
    result = api(config, log_level=logging.INFO).autograde(lesson, student, force=True,
                                                           create=True)
    outcome = {"success": bool(result.get("success")),
               "log": ((result.get("error") or "") + "\n" + (result.get("log") or ""))[-20000:]}
    if outcome["success"]:
        outcome.update(read_scores(config.CourseDirectory.db_url, lesson, student))
    return outcome


def main(argv: list[str] | None = None) -> int:
    """Run the job described by the JSON file given as the only argument."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m edgecourse.grading.worker JOB.json", file=sys.stderr)
        return 2
    # A Dask worker killed mid-task takes its attempt with it (its kernels follow: ipykernel
    # exits when its parent does), so a retried task does not race an orphan.
    if os.environ.get(PARENT_ENV):
        die_with_parent(int(os.environ[PARENT_ENV]))
    job = json.loads(Path(args[0]).read_text())
    outcome = run_job(job)
    Path(job["scratch"], "result.json").write_text(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main())
