"""The worker claims ready jobs in batches on Postgres: each job runs once, results are
recorded, a stop returns what was not started, two workers never share a job."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
from django.db import connection, connections
from django_tasks_db.models import DBTaskResult

from ops import worker as worker_module
from ops.worker import ResilientWorker, claim_jobs
from tests.ops import slow_tasks

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the batch claim is Postgres's path")


def new_worker(worker_id: str = "batch-worker") -> ResilientWorker:
    return ResilientWorker(queue_names=["default"], interval=0, batch=True, backend_name="default",
                           startup_delay=False, max_tasks=None, worker_id=worker_id, excluded_queue_names=[])


def run(worker: ResilientWorker) -> None:
    # Inside a test's transaction, closing connections between jobs would close the test's own.
    with mock.patch("ops.worker.close_old_connections"):
        worker.loop()


@pytest.fixture(autouse=True)
def calls():
    slow_tasks.CALLS.clear()
    yield slow_tasks.CALLS
    slow_tasks.CALLS.clear()


@pytest.mark.django_db
def test_a_batch_runs_every_ready_job_once_and_records_each_result(calls, monkeypatch):
    monkeypatch.setattr(worker_module, "CLAIM_BATCH", 3)
    ids = [slow_tasks.remember.enqueue(f"job{n}").id for n in range(7)]
    run(new_worker())
    assert sorted(calls) == sorted(f"job{n}" for n in range(7))
    for pk in ids:
        job = DBTaskResult.objects.get(pk=pk)
        assert job.status == "SUCCESSFUL" and job.return_value == f"done job{ids.index(pk)}"
        assert job.finished_at is not None and job.worker_ids == ["batch-worker"]


@pytest.mark.django_db
def test_a_failing_job_is_recorded_failed_and_the_rest_of_its_batch_succeeds(calls):
    ids = [slow_tasks.remember.enqueue(name).id for name in ("a", "fail", "b")]
    run(new_worker())
    statuses = {DBTaskResult.objects.get(pk=pk).status for pk in ids[::2]}
    failed = DBTaskResult.objects.get(pk=ids[1])
    assert statuses == {"SUCCESSFUL"}
    assert failed.status == "FAILED" and "asked to fail" in failed.traceback


@pytest.mark.django_db
def test_a_stop_during_a_batch_ends_it_after_the_current_job_and_returns_the_others(calls):
    worker = new_worker()
    ids = [slow_tasks.remember.enqueue(f"job{n}").id for n in range(4)]

    def stop_after_first(*args, **kwargs):
        worker.running = False

    from django.tasks.signals import task_started
    task_started.connect(stop_after_first)
    try:
        run(worker)
    finally:
        task_started.disconnect(stop_after_first)
    jobs = DBTaskResult.objects.filter(pk__in=ids)
    assert len(calls) == 1
    assert sorted(job.status for job in jobs) == ["READY", "READY", "READY", "SUCCESSFUL"]
    assert all(job.started_at is None for job in jobs if job.status == "READY")


@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_at_the_same_time_never_take_the_same_job():
    ids = {str(slow_tasks.remember.enqueue(f"job{n}").id) for n in range(60)}
    claimed: dict[str, list[str]] = {}
    start = threading.Barrier(2)

    def claim(worker_id: str) -> None:
        try:
            start.wait()
            taken: list[str] = []
            while batch := claim_jobs(DBTaskResult.objects.ready(), worker_id, 7):
                taken += [str(job.pk) for job in batch]
            claimed[worker_id] = taken
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    one, two = claimed["one"], claimed["two"]
    assert not set(one) & set(two)
    assert sorted(one + two) == sorted(ids)
    assert DBTaskResult.objects.filter(status="RUNNING").count() == 60
