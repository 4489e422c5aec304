"""Fixtures for the grading tests: a one-exercise notebook, a real PostgreSQL server."""

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from lessons import IN_CI

POSTGRES_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(argv: list[str]) -> list[str]:
    # postgres refuses to run as root: run it as the `postgres` user the Debian package made.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@pytest.fixture(scope="session")
def postgres_server():
    """Start PostgreSQL on a loopback port in a temporary data folder; yield its base URL."""
    if not POSTGRES_BIN:
        message = ("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin): "
                   "apt-get install postgresql")
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    bin_dir = Path(POSTGRES_BIN[-1])
    data = Path(tempfile.mkdtemp(prefix="edgecourse-pg-"))  # not under /tmp/pytest-of-root (0700)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data / "db"), "-A", "trust",
                                 "-U", "postgres", "--no-sync"]),
                   check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen(_as_postgres([
        str(bin_dir / "postgres"), "-D", str(data / "db"), "-p", str(port), "-k", str(data),
        "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"postgresql://postgres@127.0.0.1:{port}"
    try:
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg2.connect(f"{url}/postgres").close()
                break
            except psycopg2.OperationalError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("PostgreSQL did not start: "
                                       + server.stderr.read().decode(errors="replace")) from None
                time.sleep(0.2)
        yield url
    finally:
        server.send_signal(signal.SIGINT)  # fast shutdown
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_db(postgres_server, request):
    """Create a fresh database on the test server; return its URL."""
    import psycopg2

    name = "gb_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[-50:].lower()
    connection = psycopg2.connect(f"{postgres_server}/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return f"{postgres_server}/{name}"


# ---- A one-exercise assignment, small enough to grade in seconds -----------------------------

TINY = "00_tiny"


def _nbgrader(cell, grade_id: str, *, solution=False, grade=False, points=0):
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "solution": solution, "grade": grade,
                                 "locked": not solution, "schema_version": 3}
    if grade:
        cell.metadata["nbgrader"]["points"] = points
    return cell


def tiny_solution() -> nbformat.NotebookNode:
    """Return the instructor's version: one exercise (square) and its check (1 point)."""
    code = nbformat.v4.new_code_cell
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Tiny\n\nWrite `square`."),
        code("import math"),
        _nbgrader(code("def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n"
                       "    ### END SOLUTION"), "square", solution=True),
        _nbgrader(code('"""Check that square squares."""\nassert square(3) == 9, "square(3)"'),
                  "test_square", grade=True, points=1),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})


def tiny_release() -> nbformat.NotebookNode:
    """Return the student's version of :func:`tiny_solution` (the stub raises)."""
    nb = tiny_solution()
    nb.cells[2].source = "def square(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    return nb


def tiny_answer(body: str) -> nbformat.NotebookNode:
    """Return the student's version with ``square``'s body replaced by ``body``."""
    nb = tiny_release()
    nb.cells[2].source = "def square(x):\n" + "\n".join(f"    {line}" for line in
                                                          body.splitlines())
    return nb
