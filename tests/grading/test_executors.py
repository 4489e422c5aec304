"""Do the executors run every task once, give up on a task that kills its workers, and explain
bad settings?"""

import os
import signal

import dask
import dask_jobqueue  # loads its configuration defaults before any test sets a key in it
import pytest
import yaml

from edgecourse.grading.executors import (
    EXAMPLE_JOBQUEUE,
    LocalExecutor,
    TaskLost,
    connect,
    local_cluster,
    make_executor,
)


def square(shared: int, item: int) -> int:
    return shared + item * item


def die_on_three(shared: int, item: int) -> int:
    if item == 3:
        os.kill(os.getpid(), signal.SIGKILL)  # the whole worker process, as a crash would
    return shared + item


def test_local_executor_returns_each_result_once():
    """Does the local executor hand back every item with its own result?"""
    results = dict(LocalExecutor(3).run(square, 10, range(6)))
    assert results == {i: 10 + i * i for i in range(6)}


def test_local_executor_refuses_zero_workers():
    """Is --workers 0 refused with a message naming the option's meaning?"""
    with pytest.raises(ValueError, match="workers must be a whole number >= 1"):
        LocalExecutor(0)


@pytest.mark.slow
def test_a_task_that_kills_every_worker_is_lost_not_retried_forever():
    """Does a task that crashes its worker each time come back as lost, the others as done?"""
    executor = local_cluster(2, allowed_failures=1)
    try:
        results = dict(executor.run(die_on_three, 100, [1, 2, 3, 4]))
        executor.client.wait_for_workers(2, timeout=60)  # the nanny restarts killed workers
    finally:
        executor.close()
    lost = results.pop(3)
    assert isinstance(lost, TaskLost) and lost.attempts == 2, lost
    assert results == {1: 101, 2: 102, 4: 104}


def test_an_unreachable_scheduler_is_named():
    """Does --scheduler to a port nobody listens on fail fast, saying how to start one?"""
    with pytest.raises(RuntimeError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        connect("tcp://127.0.0.1:9", timeout=2)


@pytest.mark.parametrize("options, message", [
    ({"scheduler": "127.0.0.1:8786"}, "expected an address like tcp://HOST:8786"),
    ({"scheduler": "tcp://h:8786", "cluster": "local"}, "either --scheduler or --cluster"),
    ({"jobs": 4}, "--jobs needs --cluster"),
    ({"cluster": "kubernetes"}, "expected local or one of"),
])
def test_bad_executor_options_are_explained(options, message):
    """Are contradictory or malformed executor options refused with what to do instead?"""
    with pytest.raises(ValueError, match=message):
        make_executor(**options)


def test_batch_cluster_without_configuration_points_to_the_example():
    """Does --cluster slurm without a jobqueue.yaml name the example file to copy?"""
    with dask.config.set({"jobqueue.slurm.cores": None}), \
            pytest.raises(ValueError, match="jobqueue.example.yaml"):
        make_executor(cluster="slurm", jobs=1)


def test_example_jobqueue_configuration_makes_a_slurm_job(tmp_path):
    """Does the documented SLURM example give one single-threaded worker per core?"""
    slurm = yaml.safe_load(EXAMPLE_JOBQUEUE.read_text())["jobqueue"]["slurm"]
    # Key by key, as dask merges ~/.config/dask/jobqueue.yaml over dask-jobqueue's defaults.
    with dask.config.set({f"jobqueue.slurm.{key}": value for key, value in slurm.items()}):
        cluster = dask_jobqueue.SLURMCluster(scheduler_options={"host": "127.0.0.1"})
        try:
            script = cluster.job_script()
        finally:
            cluster.close()
    assert "#SBATCH --cpus-per-task=8" in script, script
    assert "--nthreads 1" in script and "--nworkers 8" in script, script
    assert "cd /path/to/edgecourse" in script, script
