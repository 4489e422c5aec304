"""Drive real nbgrader from Python: the repo's config, a course directory, its API.

``nbgrader validate`` and friends exit 0 even when something failed, so everything here goes
through :class:`nbgrader.apps.NbGraderAPI` and checks ``result["success"]``.
"""

import logging
import os
import sys
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config, PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"

# nbgrader runs `alembic` (and kernels run `python`) from PATH: make this environment's bin first,
# so a venv works without being activated.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


def repo_root(start: Path | None = None) -> Path:
    """Return the course repository root: the nearest folder holding nbgrader_config.py."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file() and (folder / "solutions").is_dir():
            return folder
    package_repo = Path(__file__).resolve().parents[1]
    if (package_repo / CONFIG_FILE).is_file():
        return package_repo
    raise FileNotFoundError(
        f"no {CONFIG_FILE} with a solutions/ folder in {here} or above: "
        "run this from a clone of the edgecourse repository"
    )


def lessons(root: Path) -> list[str]:
    """Return the lesson ids (``NN_name``) that have a solution notebook, in order."""
    return sorted(
        p.name for p in (root / "solutions").iterdir()
        if p.is_dir() and (p / f"{p.name}.ipynb").is_file()
    )


def load_config(root: Path, course_dir: Path | None = None, db_path: Path | None = None) -> Config:
    """Load the repo's nbgrader config, pointed at ``course_dir`` and a gradebook at ``db_path``."""
    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    course_dir = Path(course_dir or root).resolve()
    config.CourseDirectory.root = str(course_dir)
    if db_path is not None:
        config.CourseDirectory.db_url = f"sqlite:///{Path(db_path).resolve()}"
    elif course_dir != root.resolve():
        config.CourseDirectory.db_url = f"sqlite:///{course_dir / 'gradebook.db'}"
    return config


def api(config: Config, log_level: int = logging.ERROR) -> NbGraderAPI:
    """Return an NbGraderAPI bound to ``config``."""
    coursedir = CourseDirectory(config=config)
    nbapi = NbGraderAPI(coursedir=coursedir, config=config)
    nbapi.log.setLevel(log_level)
    return nbapi


def check(result: dict, what: str) -> dict:
    """Raise RuntimeError with nbgrader's log when an API call did not succeed."""
    if not result.get("success"):
        detail = (result.get("error") or "") + "\n" + (result.get("log") or "")
        raise RuntimeError(f"nbgrader {what} failed:\n{detail.strip()}")
    return result
