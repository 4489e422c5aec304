"""Where grading tasks run: worker processes on this machine, or a Dask cluster.

Both executors take the same task (a function, a value every task shares, one item per task)
and hand back each item's result as it finishes, in this process, so this process stays the
only one that writes the gradebook. On Dask, a task whose worker dies is run again on another
worker; after ``allowed_failures`` such deaths it comes back as :class:`TaskLost`, not forever.

Dask is imported only when a Dask executor is made.
"""

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

# dask-jobqueue's cluster classes, by the name ``--cluster`` takes.
BATCH_SYSTEMS = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster",
                 "lsf": "LSFCluster", "htcondor": "HTCondorCluster"}
EXAMPLE_JOBQUEUE = Path(__file__).with_name("jobqueue.example.yaml")
# A task runs one submission at a time per worker thread; saturation 1.0 keeps the scheduler from
# queueing a second one behind it (which would also be blamed when that worker dies). Tasks last
# tens of seconds waiting on a subprocess, so Dask's fine-grained diagnostics (a stack sample
# every 10 ms, a tick every 20 ms, monitors) are pure cost: measured on 2 idle workers, 4.1 CPU-s
# per 20 s with Dask's defaults, 0.5 with these.
CLUSTER_CONFIG = {
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.scheduler.work-stealing-interval": "1s",
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "5s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.tick.interval": "1s",
}
ALLOWED_FAILURES = 2


@dataclass
class TaskLost:
    """A task that never finished: the workers running it died ``attempts`` times."""

    attempts: int
    reason: str


class Executor(Protocol):
    """Runs ``fn(shared, item)`` for every item; yields ``(item, result or TaskLost)``."""

    description: str
    shares_disk: bool  # tasks may use this machine's folders (the course's scratch folder)

    def run(self, fn: Callable, shared: Any, items: Iterable) -> Iterator[tuple[Any, Any]]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Run tasks in ``workers`` threads of this process (each task starts its own processes)."""

    shares_disk = True

    def __init__(self, workers: int = 1):
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
        self.workers = workers
        self.description = f"{workers} worker{'s' * (workers > 1)}"

    def run(self, fn: Callable, shared: Any, items: Iterable) -> Iterator[tuple[Any, Any]]:
        """Yield ``(item, fn(shared, item))`` as each finishes; a task's exception propagates."""
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {pool.submit(fn, shared, item): item for item in items}
            for future in as_completed(futures):
                yield futures.pop(future), future.result()

    def close(self) -> None:
        """Nothing to release."""


class DaskExecutor:
    """Run tasks on the workers of a ``distributed.Client``."""

    shares_disk = False

    def __init__(self, client, cluster=None, description: str = "Dask"):
        self.client, self.cluster = client, cluster
        self.description = description

    def run(self, fn: Callable, shared: Any, items: Iterable) -> Iterator[tuple[Any, Any]]:
        """Yield ``(item, result)`` as each finishes; a task whose workers died is a TaskLost."""
        from distributed import as_completed as dask_completed
        from distributed.scheduler import KilledWorker

        items = list(items)
        if not items:
            return
        # A task, not scattered data: if every worker holding it dies, it is made again.
        shared_future = self.client.submit(_same, shared, pure=False,
                                           key=f"shared-{os.urandom(4).hex()}")
        futures = {self.client.submit(fn, shared_future, item, pure=False,
                                      key=f"grade-{index}-{os.urandom(4).hex()}"): item
                   for index, item in enumerate(items)}
        try:
            for future in dask_completed(futures):
                item = futures.pop(future)
                try:
                    result = future.result()
                except KilledWorker as error:
                    result = TaskLost(error.allowed_failures + 1, str(error).split(". ")[0])
                future.release()
                yield item, result
        finally:
            for future in futures:
                future.cancel()
            shared_future.release()

    def close(self) -> None:
        """Disconnect; shut down the cluster if this executor started it."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _same(value: Any) -> Any:
    return value


def local_cluster(processes: int, allowed_failures: int = ALLOWED_FAILURES) -> DaskExecutor:
    """Start a Dask LocalCluster of ``processes`` single-threaded worker processes here."""
    import dask
    from distributed import Client, LocalCluster

    if not isinstance(processes, int) or processes < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {processes!r}")
    with dask.config.set({**CLUSTER_CONFIG,
                          "distributed.scheduler.allowed-failures": allowed_failures}):
        cluster = LocalCluster(n_workers=processes, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    return DaskExecutor(Client(cluster), cluster,
                        f"Dask LocalCluster of {processes} process{'es' * (processes > 1)}")


def connect(scheduler: str, timeout: float = 10) -> DaskExecutor:
    """Connect to a running Dask scheduler at ``scheduler`` (``tcp://HOST:8786``)."""
    from distributed import Client

    if "://" not in scheduler:
        raise ValueError(f"--scheduler {scheduler!r}: expected an address like "
                         "tcp://HOST:8786")
    try:
        client = Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as error:
        raise RuntimeError(f"cannot reach the Dask scheduler at {scheduler} ({error}); start "
                           "one with `dask scheduler` and its workers with `dask worker "
                           f"{scheduler} --nthreads 1` (README: Grading on a cluster)") from None
    return DaskExecutor(client, None, f"Dask scheduler {scheduler}")


def batch_cluster(system: str, jobs: int, allowed_failures: int = ALLOWED_FAILURES
                  ) -> DaskExecutor:
    """Submit ``jobs`` batch jobs of Dask workers through dask-jobqueue (its jobqueue.yaml)."""
    import dask
    from distributed import Client

    if system not in BATCH_SYSTEMS:
        raise ValueError(f"--cluster {system!r}: expected local or one of {sorted(BATCH_SYSTEMS)}")
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"--jobs must be a whole number >= 1, got {jobs!r}")
    import dask_jobqueue

    if dask.config.get(f"jobqueue.{system}.cores", None) is None:
        raise ValueError(f"no jobqueue.{system} configuration: copy {EXAMPLE_JOBQUEUE.name} "
                         f"({EXAMPLE_JOBQUEUE}) to ~/.config/dask/jobqueue.yaml and edit it")
    with dask.config.set({**CLUSTER_CONFIG,
                          "distributed.scheduler.allowed-failures": allowed_failures}):
        cluster = getattr(dask_jobqueue, BATCH_SYSTEMS[system])()
    cluster.scale(jobs=jobs)
    return DaskExecutor(Client(cluster), cluster, f"{system} cluster of {jobs} job(s)")


def make_executor(workers: int = 1, scheduler: str | None = None, cluster: str | None = None,
                  jobs: int | None = None) -> Executor:
    """Return the executor the command line asks for (default: local worker processes)."""
    if scheduler and cluster:
        raise ValueError("give either --scheduler or --cluster, not both")
    if scheduler:
        return connect(scheduler)
    if cluster == "local":
        return local_cluster(workers)
    if cluster:
        return batch_cluster(cluster, jobs or 1)
    if jobs is not None:
        raise ValueError("--jobs needs --cluster (for example --cluster slurm --jobs 4)")
    return LocalExecutor(workers)
