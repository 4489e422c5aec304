"""A warm verdict runner: a lesson's imports done once, one fresh runner forked per submission.

A cold ``python -m edgecourse.grading.verdicts`` spends most of its time importing what the
lesson's contexts import (torch, TensorFlow). A grading task instead keeps one server per lesson
(per thread): it imports those modules once, then, for each request, forks a runner that does
exactly what the cold command does (fork one jailed child per exercise, judge after they exit)
and reports its exit code.

The server never runs an answer; only a runner's children do, each a fork of a fork, so nothing
they change reaches the server or the next submission. Requests come only over the server's
stdin, from the task that started it, never through a path or socket a kernel could reach.
Run ``python -m edgecourse.grading.verdict_server REPO LESSON PARENT_PID``.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path

from edgecourse.grading import verdicts
from edgecourse.grading.sandbox import die_with_parent


class VerdictServer:
    """A running server for one lesson; :meth:`run` does what the cold runner command does."""

    def __init__(self, repo: Path, lesson: str):
        self.repo, self.lesson = Path(repo), lesson
        self._log = tempfile.TemporaryFile()
        # start_new_session: a runner it forks can be killed with its whole group.
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "edgecourse.grading.verdict_server", str(self.repo), lesson,
             str(os.getpid())], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            text=True, start_new_session=True)

    def alive(self) -> bool:
        return self._proc.poll() is None

    def run(self, spec: Path, out: Path, log: Path, timeout: float) -> int:
        """Run the jobs in ``spec`` (written for the cold runner); return the runner's exit code."""
        try:
            self._proc.stdin.write(json.dumps({"spec": str(spec), "out": str(out),
                                               "log": str(log)}) + "\n")
            self._proc.stdin.flush()
            ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
            line = self._proc.stdout.readline() if ready else ""
        except BrokenPipeError:
            ready, line = True, ""
        if not line:
            why = self._died() if ready else (f"the verdict server for {self.lesson} gave no "
                                              f"answer within {timeout:.0f} s")
            self.close()
            raise RuntimeError(why)
        return int(json.loads(line)["returncode"])

    def _died(self) -> str:
        self._proc.wait()
        self._log.seek(0)
        tail = self._log.read()[-3000:].decode(errors="replace")
        return f"the verdict server for {self.lesson} stopped (exit {self._proc.poll()}):\n{tail}"

    def close(self) -> None:
        """Stop the server (and a runner it is waiting for)."""
        if self.alive():
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout, self._log):
            stream.close()


_local = threading.local()


def server_for(repo: Path, lesson: str) -> VerdictServer:
    """Return this thread's server for ``lesson`` (started on first use, again if it died)."""
    servers = _local.__dict__.setdefault("servers", {})
    server = servers.get((str(repo), lesson))
    if server is None or not server.alive():
        if server is not None:
            server.close()
        server = servers[str(repo), lesson] = VerdictServer(repo, lesson)
    return server


def _runner(request: dict, parent: int) -> int:
    """In the forked runner: nothing of the server's pipes stays open; run the cold command."""
    die_with_parent(parent)
    null = os.open(os.devnull, os.O_RDWR)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    return verdicts.main([request["spec"], request["out"]])


def serve(repo: Path, lesson: str) -> None:
    """Import the lesson's context modules, then fork a runner for each request on stdin."""
    folder = Path(tempfile.mkdtemp(prefix="verdict-server-"))
    try:
        contexts = verdicts.write_contexts(repo, lesson, folder)
        imports = Path(contexts, verdicts.IMPORTS).read_text()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    exec(imports, {"__name__": "__imports__"})  # noqa: S102 - import lines of the solution
    verdicts.hidden_module(repo, lesson)  # its imports too
    while line := sys.stdin.readline():
        request = json.loads(line)
        server = os.getpid()
        pid = os.fork()
        if pid == 0:
            code = 3
            try:
                code = _runner(request, server)
            except BaseException:  # noqa: BLE001 - the client reads the log
                traceback.print_exc()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        print("usage: python -m edgecourse.grading.verdict_server REPO LESSON PARENT_PID",
              file=sys.stderr)
        return 2
    die_with_parent(int(args[2]))
    serve(Path(args[0]), args[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
