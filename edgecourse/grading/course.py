"""Drive real nbgrader from Python: the repo's config, a course directory, its gradebook, its API.

``nbgrader validate`` and friends exit 0 even when something failed, so everything here goes
through :class:`nbgrader.apps.NbGraderAPI` and checks ``result["success"]``.

:class:`Course` is built once (``Course.load``) and passed to every grading step: it says where
the repository, the course folder and the gradebook are.
"""

import copy
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from traitlets.config import Config, PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"
DB_EXAMPLES = "postgresql://USER:PASSWORD@HOST:5432/DATABASE or sqlite:///PATH"

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
    package_repo = Path(__file__).resolve().parents[2]
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


def db_url(db: str | Path) -> str:
    """Return the SQLAlchemy URL for ``--db``: a URL as given, a file path as SQLite."""
    url = str(db) if "://" in str(db) else f"sqlite:///{Path(db).expanduser().resolve()}"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as error:
        raise ValueError(f"gradebook database {db!r} is not a database URL ({error}); "
                         f"expected {DB_EXAMPLES}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"gradebook database {safe_url(url)}: only SQLite and PostgreSQL are "
                         f"supported; expected {DB_EXAMPLES}")
    if parsed.drivername == "postgresql":
        # SQLAlchemy 2.1 picks psycopg 3 for a bare postgresql://; psycopg2 is the one installed.
        url = parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
    return url


def safe_url(url: str) -> str:
    """Return ``url`` with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<not a URL>"


def _load_config(root: Path, course_dir: Path | None = None, db: str | Path | None = None) -> Config:
    """Load the repo's nbgrader config merged with the course folder's, and pick the gradebook.

    The gradebook is ``db`` if given, else the ``db_url`` of a ``nbgrader_config.py`` in the
    course folder, else ``COURSE_DIR/gradebook.db`` (or the repo's own when grading in it).
    """
    root = Path(root).resolve()
    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    course_dir = Path(course_dir or root).resolve()
    config.CourseDirectory.root = str(course_dir)
    own_url = None
    if course_dir != root and (course_dir / CONFIG_FILE).is_file():
        own = PyFileConfigLoader(CONFIG_FILE, path=str(course_dir)).load_config()
        own_url = own.CourseDirectory.get("db_url")
        config.merge(own)
    if db is not None:
        config.CourseDirectory.db_url = db_url(db)
    elif own_url:
        config.CourseDirectory.db_url = db_url(own_url)
    elif course_dir != root:
        config.CourseDirectory.db_url = f"sqlite:///{course_dir / 'gradebook.db'}"
    return config


@dataclass(frozen=True)
class Course:
    """A grading course: the repository (config, solutions), its course folder, its gradebook."""

    root: Path
    course_dir: Path
    db_url: str
    _config: Config = field(repr=False, compare=False)

    @classmethod
    def load(cls, root: Path, course_dir: Path | None = None,
             db: str | Path | None = None) -> "Course":
        """Read the configuration once: ``root``'s nbgrader_config.py, ``course_dir``, ``db``."""
        config = _load_config(root, course_dir, db)
        return cls(Path(root).resolve(), Path(config.CourseDirectory.root),
                   config.CourseDirectory.db_url, config)

    def config(self) -> Config:
        """Return a copy of the nbgrader config (callers may change it)."""
        return copy.deepcopy(self._config)

    @property
    def release_dir(self) -> Path:
        """Return the folder of the student versions (``notebooks/``) in the course folder."""
        return self.course_dir / self._config.CourseDirectory.release_directory

    @property
    def source_dir(self) -> Path:
        """Return the folder of the instructor versions (``solutions/``) in the course folder."""
        return self.course_dir / self._config.CourseDirectory.source_directory

    @property
    def cell_timeout(self) -> int:
        """Return nbgrader's per-cell timeout in seconds."""
        return int(self._config.Execute.timeout)

    def release_notebook(self, lesson: str) -> Path:
        """Return the path of the student version of ``lesson`` in the course folder."""
        return self.release_dir / lesson / f"{lesson}.ipynb"

    def api(self, log_level: int = logging.ERROR) -> NbGraderAPI:
        """Return an NbGraderAPI bound to this course."""
        return api(self.config(), log_level)

    def gradebook(self) -> Gradebook:
        """Open the gradebook (a context manager)."""
        return Gradebook(self.db_url)

    def check_gradebook(self) -> None:
        """Raise a clear error when the gradebook's database cannot be reached."""
        url = make_url(self.db_url)
        if url.get_backend_name() == "sqlite":
            return
        try:
            engine = create_engine(url, connect_args={"connect_timeout": 10})
        except (NoSuchModuleError, ImportError) as error:
            raise RuntimeError(f"cannot open {safe_url(self.db_url)}: {error} (install "
                               "psycopg2-binary, listed in pyproject.toml)") from None
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as error:
            reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            raise RuntimeError(f"cannot reach the gradebook database {safe_url(self.db_url)}: "
                               f"{reason}. Is the server running, and does the database exist "
                               "(createdb)?") from None
        finally:
            engine.dispose()


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
