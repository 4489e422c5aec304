"""Can a student do the course in JupyterLab? Driven end to end in a real headless Chromium.

`jupyter lab` runs as `make lab` runs it, from a temporary copy of the repository (nothing is
written into it), and Debian's Chromium works through lesson 01 like a student: Run All stops at
the first exercise's NotImplementedError; the student types the answer and passes its check, types
the other answers, presses nbgrader's Validate button and reads its verdict, and sees every plot
drawn. A second test finds nbgrader's extensions in JupyterLab's UI. Screenshots (and the server's
log) go to tests/artifacts/browser/; with EDGECOURSE_UPDATE_SCREENSHOT=1 the lesson's screenshot
is also copied to docs/screenshot-lesson01.png, the one the README shows.
"""

import os
import re
import shutil
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from browser_helpers import CHROMIUM, CHROMIUM_ARGS, INSTALL_HINT, copy_course, jupyter_lab
from lessons import IN_CI, REPO, cell_index, exercises, solution_path, student_path

# One worker runs the whole module (`make test` uses --dist loadgroup): one server, one browser.
pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("browser")]

LESSON = "01_flash_budgets"
ARTIFACTS = REPO / "tests" / "artifacts" / "browser"
README_SCREENSHOT = REPO / "docs" / "screenshot-lesson01.png"
VIEWPORT = {"width": 1440, "height": 900}
# Seconds. Generous, because CI shares two cores; the whole test takes far less on a quiet machine.
OPEN_TIMEOUT = 120
RUN_TIMEOUT = 240
NBGRADER_COMMANDS = {
    "nbgrader:open-assignment-list": "Assignment List",
    "nbgrader:open-course-list": "Course List",
    "nbgrader:open-formgrader": "Formgrader",
    "nbgrader:open-create-assignment": "Create assignment",
}

# One entry per notebook cell, in order: its prompt ("[3]:", "[*]:", "[ ]:") and output texts.
CELLS_JS = """cells => cells.map(cell => ({
  prompt: (cell.querySelector('.jp-InputPrompt') || {}).textContent || '',
  outputs: [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => o.textContent),
}))"""
NO_CELL_RUNNING_JS = """() => {
  const busy = [...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')]
    .some(p => p.textContent.includes('*'));
  const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
  return !busy && indicator !== null && indicator.dataset.status === 'idle';
}"""


def _require_chromium():
    """Skip (or fail in CI, where it must run) when the browser or Playwright is missing."""
    problem = None
    if not CHROMIUM.is_file():
        problem = f"{CHROMIUM} is missing: {INSTALL_HINT}"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is missing: run `make setup`"
    if problem and IN_CI:
        pytest.fail(f"the browser test must run in CI, but {problem}")
    if problem:
        pytest.skip(problem)


@pytest.fixture(scope="module")
def lesson_notebook() -> Path:
    path = student_path(LESSON)
    assert path.is_file(), f"{path} is missing: run `.venv/bin/edgecourse release {LESSON}`"
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory, lesson_notebook):
    _require_chromium()
    state = tmp_path_factory.mktemp("lab")
    course = copy_course(REPO, state / "course", LESSON)
    try:
        with jupyter_lab(course, state, startup_timeout=OPEN_TIMEOUT) as server:
            yield server
    finally:
        if (state / "jupyter-lab.log").is_file():
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(state / "jupyter-lab.log", ARTIFACTS / "jupyter-lab.log")


@pytest.fixture(scope="module")
def console_errors() -> list[str]:
    """The browser console's errors and uncaught exceptions, as the page fixture sees them."""
    return []


@pytest.fixture(scope="module")
def page(lab, console_errors):
    """Chromium on JupyterLab with the lesson open and its kernel ready."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport=VIEWPORT)
            tab.on("console", lambda message: console_errors.append(message.text)
                   if message.type == "error" else None)
            tab.on("pageerror", lambda error: console_errors.append(str(error)))
            tab.set_default_timeout(OPEN_TIMEOUT * 1000)
            tab.goto(lab.lab_url(f"{LESSON}/{LESSON}.ipynb"))
            tab.locator(".jp-NotebookPanel-toolbar .jp-KernelName", has_text="Python 3").wait_for()
            tab.wait_for_function(NO_CELL_RUNNING_JS)
            yield tab
            tab.screenshot(path=str(ARTIFACTS / "last.png"))
        finally:
            browser.close()


@contextmanager
def _screenshot_on_failure(page, name: str) -> Iterator[None]:
    """Save what the browser showed when a step failed, as tests/artifacts/browser/NAME.png."""
    try:
        yield
    except BaseException:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        raise


def _menu(page, menu: str, command: str) -> None:
    """Open ``menu`` in JupyterLab's menu bar and click the item that runs ``command``."""
    page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    page.locator(f'.lm-Menu li[data-command="{command}"]').click()


def _cells(page) -> list[dict]:
    return page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").evaluate_all(CELLS_JS)


def _cell(page, index: int):
    return page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(index)


def _wait_until_idle(page, timeout_s: float = RUN_TIMEOUT) -> None:
    page.wait_for_function(NO_CELL_RUNNING_JS, timeout=timeout_s * 1000)


def _wait_until_ran(page, index: int, before: str) -> None:
    """Wait until cell ``index`` shows a new execution count (not ``before``) and all is idle."""
    page.wait_for_function(
        """([i, before]) => {
          const cells = document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell');
          const p = cells[i].querySelector('.jp-InputPrompt').textContent;
          return p !== before && /\\[\\d+\\]/.test(p);
        }""",
        arg=[index, before], timeout=RUN_TIMEOUT * 1000,
    )
    _wait_until_idle(page)


def _run_cell(page, index: int) -> None:
    """Select cell ``index``, press Shift+Enter, and wait until it has run."""
    before = _cells(page)[index]["prompt"]
    _cell(page, index).locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")
    _wait_until_ran(page, index, before)


def _type_into_cell(page, index: int, source: str) -> None:
    """Replace the text of cell ``index`` with ``source`` through its editor."""
    _cell(page, index).locator(".cm-content").click()
    page.keyboard.press("Control+a")
    # insert_text goes through the editor like a paste: no auto-indent or bracket closing.
    page.keyboard.insert_text(source)
    page.keyboard.press("Escape")


def _save(page, path: Path) -> nbformat.NotebookNode:
    """Save the notebook from the UI (Ctrl+S) and read back what reached the disk."""
    page.locator(".jp-NotebookPanel:visible .jp-Notebook").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    page.locator(".jp-mod-current.jp-mod-dirty").wait_for(state="detached")
    return nbformat.read(path, as_version=4)


def _errors(cell) -> list[str]:
    return [o.ename for o in cell.get("outputs", []) if o.output_type == "error"]


def _solution_source(lesson: str, grade_id: str) -> str:
    """Return the instructor's exercise cell without the nbgrader solution markers."""
    nb = nbformat.read(solution_path(lesson), as_version=4)
    source = nb.cells[cell_index(nb, grade_id)].source
    lines = [line for line in source.splitlines()
             if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
    return "\n".join(lines)


class _Stopwatch:
    """Seconds per step, printed so a slow CI run shows where the time went."""

    def __init__(self) -> None:
        self.start = self.last = time.monotonic()
        self.laps: list[str] = []

    def lap(self, step: str) -> None:
        now = time.monotonic()
        self.laps.append(f"{step} {now - self.last:.0f} s")
        self.last = now

    def __str__(self) -> str:
        return ", ".join(self.laps) + f"; total {self.last - self.start:.0f} s"


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG file"
    return struct.unpack(">II", header[16:24])


@dataclass
class _Lesson:
    """The lesson as the test works through it: where it is served, its exercises, answers."""

    served: Path
    student: nbformat.NotebookNode
    names: list[str]
    answers: dict[str, str]

    def index(self, grade_id: str) -> int:
        return cell_index(self.student, grade_id)

    def code_cells(self) -> list[int]:
        return [i for i, cell in enumerate(self.student.cells) if cell.cell_type == "code"]


def _run_all_until_the_first_exercise(page, lesson: _Lesson) -> None:
    """Run > Run All Cells; JupyterLab stops at the first error: the first exercise's stub."""
    first = lesson.names[0]
    exercise, check = lesson.index(first), lesson.index(f"test_{first}")
    _menu(page, "Run", "runmenu:run-all")
    _wait_until_ran(page, lesson.code_cells()[0], before="")
    shown, saved = _cells(page), _save(page, lesson.served)
    failing = [i for i, cell in enumerate(saved.cells) if _errors(cell)]
    assert failing, f"nothing failed, but {first!r} is unsolved: its stub should raise"
    where = failing[0]
    # The stub raises in the exercise cell, in its check, or in a cell between that calls it.
    assert exercise <= where <= check, (
        f"cell {where} fails ({_errors(saved.cells[where])}) before the first exercise "
        f"{first!r} (cells {exercise}..{check}):\n{saved.cells[where].source}"
    )
    assert _errors(saved.cells[where]) == ["NotImplementedError"], (
        f"the first failure should be the stub's NotImplementedError: {_errors(saved.cells[where])}"
    )
    assert "NotImplementedError" in "".join(shown[where]["outputs"]), (
        "the NotImplementedError is in the saved notebook but not on screen"
    )
    not_run = [i for i in lesson.code_cells()
               if i < where and not re.search(r"\[\d+\]", shown[i]["prompt"])]
    assert not not_run, f"Run All did not run cells {not_run} before the first exercise"
    page.screenshot(path=str(ARTIFACTS / "first-failure.png"))


def _solve_the_first_exercise(page, lesson: _Lesson) -> None:
    """Type the first answer, run the exercise cell through its check: nothing fails."""
    first = lesson.names[0]
    exercise, check = lesson.index(first), lesson.index(f"test_{first}")
    _type_into_cell(page, exercise, lesson.answers[first])
    for index in range(exercise, check + 1):
        _run_cell(page, index)
    shown, saved = _cells(page), _save(page, lesson.served)
    assert saved.cells[exercise].source == lesson.answers[first], "the typed answer is not saved"
    for index in range(exercise, check + 1):
        assert not _errors(saved.cells[index]), (
            f"cell {index} fails after solving {first!r}: {_errors(saved.cells[index])}\n"
            + "".join(shown[index]["outputs"])[-2000:]
        )


def _validate_while_running_the_rest(page, lesson: _Lesson) -> str:
    """Type the other answers, press Validate, run the rest meanwhile; return the verdict."""
    for name in lesson.names[1:]:
        _type_into_cell(page, lesson.index(name), lesson.answers[name])
    # Validate saves the notebook, then runs it in a fresh kernel of its own, server-side. The
    # browser's kernel runs the rest of the lesson meanwhile (as a student may): the two runs
    # share the cores instead of queueing.
    validate = page.locator(".jp-NotebookPanel:visible jp-button.validate-button")
    validate.click()
    # "Validating..." once saved: what the validator reads is on disk. A dialog this early is an
    # error (version mismatch, failed save), which the verdict then shows.
    dialog = page.locator(".jp-Dialog")
    validate.filter(has_text="Validating").or_(dialog).first.wait_for()
    check, last_code = lesson.index(f"test_{lesson.names[0]}"), lesson.code_cells()[-1]
    if last_code > check and not dialog.count():
        before = _cells(page)[last_code]["prompt"]
        _cell(page, check + 1).locator(".jp-InputPrompt").click()
        _menu(page, "Run", "notebook:run-all-below")
        _wait_until_ran(page, last_code, before)
    dialog.locator(".validation-failed, .validation-success, .validation-changed, "
                   ".validation-type-changed, pre").first.wait_for(timeout=RUN_TIMEOUT * 1000)
    page.screenshot(path=str(ARTIFACTS / "validate.png"))
    verdict = dialog.inner_text()
    dialog.locator("button", has_text="Ok").click()
    dialog.wait_for(state="detached")
    return verdict


def _see_every_cell_ran_and_every_plot(page, lesson: _Lesson) -> None:
    """Check the solved lesson in the browser: all cells ran, none failed, all plots are images."""
    shown, saved = _cells(page), _save(page, lesson.served)
    for name in lesson.names:
        assert saved.cells[lesson.index(name)].source == lesson.answers[name], (
            f"the typed answer to {name!r} is not in the notebook"
        )
    failed = {i: _errors(cell) for i, cell in enumerate(saved.cells) if _errors(cell)}
    assert not failed, f"cells fail with every exercise solved: {failed}"
    unrun = [i for i in lesson.code_cells() if saved.cells[i].execution_count is None]
    assert not unrun, f"cells {unrun} did not run"
    widget_errors = [t for c in shown for t in c["outputs"] if "Error displaying widget" in t]
    assert not widget_errors, f"a widget (progress bar?) did not render: {widget_errors[0]}"
    plots = {i: sum("image/png" in o.get("data", {}) for o in saved.cells[i].outputs)
             for i in lesson.code_cells()}
    plots = {i: n for i, n in plots.items() if n}
    assert plots, f"{LESSON} draws no plot"
    for number, (index, expected) in enumerate(plots.items(), start=1):
        _cell(page, index).locator(".jp-OutputArea").scroll_into_view_if_needed()
        on_screen = _cell(page, index).locator(".jp-OutputArea-output img").evaluate_all(
            "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0"
            " && i.getBoundingClientRect().height > 0).length")
        assert on_screen == expected, (
            f"cell {index} made {expected} plot(s) but {on_screen} show as images in the browser"
        )
        page.screenshot(path=str(ARTIFACTS / f"plot-{number}.png"))


def test_student_works_through_the_lesson(page, lab, lesson_notebook):
    """Run all, meet the first NotImplementedError, type the answers, see the plots, Validate."""
    student = nbformat.read(lesson_notebook, as_version=4)
    names = exercises(student)
    assert names, f"{LESSON} has no exercises to work on"
    lesson = _Lesson(lab.root_dir / LESSON / f"{LESSON}.ipynb", student, names,
                     {name: _solution_source(LESSON, name) for name in names})
    steps = _Stopwatch()
    with _screenshot_on_failure(page, "failure-student"):
        _run_all_until_the_first_exercise(page, lesson)
        steps.lap("run all")
        _solve_the_first_exercise(page, lesson)
        steps.lap(f"solve {names[0]}")
        verdict = _validate_while_running_the_rest(page, lesson)
        steps.lap("solve the rest, run them and validate")
        assert "Success! Your notebook passes all the tests." in verdict, (
            f"nbgrader's Validate did not pass the solved lesson:\n{verdict[-3000:]}"
        )
        _see_every_cell_ran_and_every_plot(page, lesson)
        steps.lap("check plots")
    shutil.copyfile(ARTIFACTS / "plot-1.png", ARTIFACTS / "lesson.png")
    if os.environ.get("EDGECOURSE_UPDATE_SCREENSHOT"):
        README_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(ARTIFACTS / "lesson.png", README_SCREENSHOT)
    print(f"student path through {LESSON}, after the kernel was ready: {steps}")


def test_nbgrader_extensions_are_enabled_in_jupyterlab(page, console_errors):
    """Does JupyterLab show nbgrader's menu, Validate button, assignment list and formgrader?"""
    with _screenshot_on_failure(page, "failure-extensions"):
        steps = _Stopwatch()
        validate = page.locator(".jp-NotebookPanel:visible .validate-button")
        assert validate.count() == 1, "the notebook toolbar has no nbgrader Validate button"
        assert "Validate" in validate.inner_text()

        page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text="Nbgrader").click()
        menu = page.locator("#jp-mainmenu-nbgrader")
        menu.wait_for()
        for command, label in NBGRADER_COMMANDS.items():
            item = menu.locator(f'li[data-command="{command}"]')
            assert item.count() == 1, f"the Nbgrader menu has no {label!r} ({command})"
            assert label in item.inner_text()
        page.screenshot(path=str(ARTIFACTS / "nbgrader-menu.png"))
        page.keyboard.press("Escape")
        steps.lap("menu")

        # The assignment list opens and its server extension answers. The course hands lessons out
        # through the repository, not an nbgrader exchange, so "no exchange" is the expected answer.
        _menu(page, "Nbgrader", "nbgrader:open-assignment-list")
        page.locator("#released_assignments_list_loading").wait_for(state="hidden")
        released = page.locator("#released_assignments_list").inner_text()
        assert re.search(r"exchange directory does not exist|no assignments to fetch", released), (
            f"the assignment list got no answer from nbgrader's server extension:\n{released}"
        )
        page.screenshot(path=str(ARTIFACTS / "assignment-list.png"))
        steps.lap("assignment list")

        # The formgrader opens in a tab; its server extension reads the repository's nbgrader config
        # (source_directory = solutions) and lists the lesson.
        _menu(page, "Nbgrader", "nbgrader:open-formgrader")
        frame = page.frame_locator("iframe[src*='formgrader']").first
        frame.locator("text=Manage Assignments").first.wait_for()
        frame.locator("table td", has_text=LESSON).first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "formgrader.png"))
        steps.lap("formgrader")
        print(f"nbgrader's extensions: {steps}")

        # A plugin that fails to activate says so only in the console.
        nbgrader_errors = [e for e in console_errors if "nbgrader" in e.lower()]
        assert not nbgrader_errors, f"nbgrader's lab extension logged errors: {nbgrader_errors}"


def test_readme_screenshot_is_committed():
    """Is the README's screenshot of the lesson in JupyterLab a real PNG of the test's viewport?"""
    assert README_SCREENSHOT.is_file(), (
        f"{README_SCREENSHOT} is missing: run EDGECOURSE_UPDATE_SCREENSHOT=1 "
        ".venv/bin/python -m pytest tests/test_browser.py"
    )
    assert _png_size(README_SCREENSHOT) == (VIEWPORT["width"], VIEWPORT["height"])
