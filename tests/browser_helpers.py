"""Run JupyterLab the way `make lab` does, and find Debian's Chromium, for tests/test_browser.py."""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil  # installed with ipython, which every kernel needs

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = "install it with `apt-get install chromium chromium-driver` (what .ci/run does)"
# Flags for a headless Chromium that never reaches the network (the machines here are offline).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
# JupyterLab settings a fresh profile would otherwise ask about in a toast over the notebook.
QUIET_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


@dataclass
class LabServer:
    """A running `jupyter lab`: where it listens, its token, and the folder it serves."""

    url: str
    token: str
    root_dir: Path
    process: subprocess.Popen
    log_path: Path

    def lab_url(self, path: str = "") -> str:
        """Return the JupyterLab URL that opens ``path`` (relative to the served folder)."""
        return f"{self.url}/lab/tree/{path}?token={self.token}"

    def log(self) -> str:
        """Return the tail of the server's log (stdout and stderr)."""
        return self.log_path.read_text(errors="replace")[-8000:]


def free_port() -> int:
    """Return a TCP port on the loopback interface that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_course(repo: Path, dest: Path, lesson: str) -> Path:
    """Copy nbgrader_config.py, notebooks/ and the solution of ``lesson`` into ``dest``."""
    # One solution gives the formgrader an assignment to list; all of them would only cost time.
    if not (repo / "solutions" / lesson).is_dir():
        raise ValueError(f"no lesson {lesson!r} in {repo / 'solutions'}: give a lesson id NN_name")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(repo / "nbgrader_config.py", dest / "nbgrader_config.py")
    skip = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    shutil.copytree(repo / "notebooks", dest / "notebooks", ignore=skip)
    shutil.copytree(repo / "solutions" / lesson, dest / "solutions" / lesson, ignore=skip)
    return dest


def _write_settings(settings_dir: Path) -> None:
    for name, values in QUIET_SETTINGS.items():
        plugin, _, file_name = name.rpartition("/")
        folder = settings_dir / plugin
        folder.mkdir(parents=True, exist_ok=True)
        (folder / file_name).write_text(json.dumps(values))


def _wait_until_up(url: str, token: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {process.returncode} before serving")
        try:
            with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"jupyter lab did not answer on {url} within {timeout:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    # Kernels start in sessions of their own: note them now, so none outlives the server.
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # Jupyter's clean stop: it shuts its kernels down
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for child in children:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


@contextmanager
def jupyter_lab(course: Path, state_dir: Path,
                startup_timeout: float = 60.0) -> Iterator[LabServer]:
    """Run `jupyter lab` as `make lab` does (cwd ``course``, root notebooks/); always stop it."""
    # A random token, a free loopback port, and runtime, settings and workspace folders of its
    # own under state_dir, so that a user's saved layout cannot change what the test sees.
    jupyter = Path(sys.executable).parent / "jupyter"
    if not jupyter.is_file():
        raise FileNotFoundError(f"no jupyter next to {sys.executable}: run `make setup` first")
    port, token = free_port(), secrets.token_hex(16)
    settings_dir = state_dir / "lab-settings"
    _write_settings(settings_dir)
    env = dict(os.environ)
    env.update(
        # The user's own Jupyter config and data (~/.jupyter, ~/.local/share/jupyter) stay out:
        # the test sees the environment's extensions and kernel only, and writes nothing home.
        JUPYTER_CONFIG_DIR=str(state_dir / "config"),
        JUPYTER_DATA_DIR=str(state_dir / "data"),
        JUPYTER_RUNTIME_DIR=str(state_dir / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings_dir),
        JUPYTERLAB_WORKSPACES_DIR=str(state_dir / "workspaces"),
        # A venv that is not activated: kernels and nbgrader find this environment's tools first.
        PATH=str(jupyter.parent) + os.pathsep + env.get("PATH", ""),
    )
    # A student's session has neither: CI hides the progress bars (widgets), a forced matplotlib
    # backend (Agg) would hide the plots, and both are part of what the browser must show.
    env.pop("CI", None)
    env.pop("MPLBACKEND", None)
    log_path = state_dir / "jupyter-lab.log"
    command = [
        str(jupyter), "lab",
        # The same three flags as the Makefile's `lab` target ...
        "--ServerApp.root_dir=notebooks", f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
        # ... plus what a test needs: a known token, no browser, no silent move to another port.
        f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
        "--ServerApp.port_retries=0",
    ]
    if os.geteuid() == 0:
        # CI containers run as root, which jupyter refuses without this flag.
        command.append("--ServerApp.allow_root=True")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=course, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}", token, course / "notebooks", process, log_path)
    try:
        try:
            _wait_until_up(server.url, token, process, startup_timeout)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"{error}\n--- server log ---\n{server.log()}") from None
        yield server
    finally:
        _stop(process)
