"""Jobs through a real Huey consumer: SQLite storage in the instance folder, and Redis where it runs."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from pim import db
from pim.jobs import queue, services
from pim.jobs.models import Job, JobStatus
from pim.jobs.queue import QueueUnavailable, check_queue, close_queue, start_embedded_worker
from pim.jobs.schedule import save_schedule
from pim.jobs.services import JobLocked
from tests.pim.jobs.sample_jobs import MODULE, wait_until

ROOT = Path(__file__).resolve().parents[3]
REDIS_URL = os.environ.get("PIM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# What `pim worker --workers 1` runs, with the job commands added to the root command.
WORKER_SCRIPT = """
import sys
from pim.cli import main
from pim.jobs.cli import register_commands
register_commands(main)
main(["worker", *sys.argv[1:]])
"""


pytestmark = pytest.mark.usefixtures("no_threads_left_behind")


@pytest.fixture(params=["sqlite", "redis"])
def queue_url(request: pytest.FixtureRequest) -> str:
    """The queue's URL: empty for the SQLite file in the instance folder, or a Redis database."""
    if request.param == "sqlite":
        return ""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        reason = f"Redis does not answer at {REDIS_URL} ({exc}); set PIM_TEST_REDIS_URL to test the Redis queue"
        if os.environ.get("PIM_TEST_REQUIRE_SERVICES"):
            pytest.fail(reason)
        pytest.skip(reason)
    return REDIS_URL


@pytest.fixture
def queue_app(committed_app, queue_url: str) -> Iterator[object]:
    """An application on its own committed database and its own queue, inside an application context."""
    committed_app.config.update(
        QUEUE_URL=queue_url,
        # a queue name of its own: Redis keys of other tests and instances are left alone
        QUEUE_NAME=f"pim_test_{uuid.uuid4().hex[:12]}",
        JOB_MODULES=[MODULE],
        QUEUE_POLL_SECONDS=0.1,
        WORKER_HEARTBEAT_SECONDS=0.5,
        WORKER_SHUTDOWN_TIMEOUT=10,
    )
    with committed_app.app_context():
        yield committed_app
    used = committed_app.extensions.get("pim_queue")
    if used is not None:
        used.huey.storage.flush_all()
    close_queue(committed_app)


@pytest.fixture
def worker(queue_app) -> Iterator[queue.WorkerHandle]:
    """Two worker threads consuming the queue, without the scheduler."""
    handle = start_embedded_worker(queue_app, workers=2, scheduler=False)
    yield handle
    handle.stop(timeout=10)


def ended(job_id: int, timeout: float = 15.0) -> Job:
    """Wait until a job has ended and return it."""
    return wait_until(lambda: (job := services.get_job(job_id)).status.is_final and job, timeout=timeout, what=f"job {job_id} to end")


def running(job_id: int) -> Job:
    """Wait until a job runs and has reported some progress, and return it."""
    return wait_until(
        lambda: (job := services.get_job(job_id)).status == JobStatus.RUNNING and job.progress_done > 0 and job,
        what=f"job {job_id} to make progress",
    )


def test_worker_runs_a_queued_job_to_success(worker, actor):
    job = services.enqueue("sample_export", {"channel": "google_merchant", "repeat": 2}, actor=actor)

    done = ended(job.id)

    assert done.status == JobStatus.SUCCEEDED
    assert done.counts == {"exported": 8, "skipped": 2}
    assert (done.progress_done, done.progress_total) == (10, 10)
    assert done.worker == services.process_name()
    assert services.report_file_path(done).read_text(encoding="utf-8").count("\n") == 9
    assert any(line.message.startswith("Running in thread Worker-") for line in services.job_log(job.id))


def test_worker_records_a_failing_job_with_its_traceback(worker, actor):
    job = services.enqueue("sample_failure", {"file": "supplier_prices.csv"}, actor=actor)

    done = ended(job.id)

    assert done.status == JobStatus.FAILED
    assert done.error == "ValueError: Row 4, column price-EUR: 'twelve' is not a number"
    assert any("Traceback" in line.message for line in services.job_log(job.id) if line.level == "error")


def test_cancel_stops_a_running_job_at_its_next_check(worker, actor):
    job = services.enqueue("sample_slow", {"steps": 200, "step_seconds": 0.02}, actor=actor)
    running(job.id)

    services.cancel(job.id, actor=actor)
    done = ended(job.id)

    assert done.status == JobStatus.CANCELLED
    assert 0 < done.progress_done < 200


def test_lock_key_refuses_a_second_job_while_the_first_runs_and_frees_it_after(worker, actor):
    first = services.enqueue("sample_slow", {"steps": 30, "step_seconds": 0.02}, actor=actor, lock_key="completeness:ecommerce")
    running(first.id)

    with pytest.raises(JobLocked) as refused:
        services.enqueue("sample_slow", {"steps": 1}, actor=actor, lock_key="completeness:ecommerce")
    assert refused.value.job_id == first.id
    assert ended(first.id).status == JobStatus.SUCCEEDED

    second = services.enqueue("sample_slow", {"steps": 1}, actor=actor, lock_key="completeness:ecommerce")
    assert ended(second.id).status == JobStatus.SUCCEEDED


def test_handler_streaming_rows_keeps_its_cursor_while_it_reports_progress(worker, actor):
    for channel in ("ecommerce", "yandex_market", "ozon", "wildberries"):
        services.enqueue("sample_export", {"channel": channel}, actor=actor)
    job = services.enqueue("sample_stream", {}, actor=actor)

    done = ended(job.id)

    assert done.status == JobStatus.SUCCEEDED, done.error
    assert done.counts == {"seen": 5}


def test_job_sent_twice_runs_once(queue_app, actor):
    job = services.enqueue("sample_export", {}, actor=actor)
    assert queue.send_job(job.id)
    handle = start_embedded_worker(queue_app, workers=2, scheduler=False)
    try:
        ended(job.id)
        wait_until(lambda: queue.get_queue().huey.pending_count() == 0, what="the queue to empty")
    finally:
        handle.stop(timeout=10)

    assert services.get_job(job.id).counts == {"exported": 4, "skipped": 1}
    assert sum(line.message.startswith("Started on") for line in services.job_log(job.id)) == 1


def test_worker_start_sends_jobs_that_missed_the_queue(queue_app, actor):
    url = queue_app.config["QUEUE_URL"]
    close_queue(queue_app)
    queue_app.config["QUEUE_URL"] = "redis://127.0.0.1:1/0"
    job = services.enqueue("sample_export", {}, actor=actor)
    assert services.get_job(job.id).is_enqueued is False
    close_queue(queue_app)
    queue_app.config["QUEUE_URL"] = url

    handle = start_embedded_worker(queue_app, workers=1, scheduler=False)
    try:
        assert ended(job.id).status == JobStatus.SUCCEEDED
    finally:
        handle.stop(timeout=10)


def test_scheduler_of_a_worker_fires_a_due_schedule(queue_app):
    save_schedule("export:yandex_market", "* * * * *", "sample_export", {"channel": "yandex_market"}, now=db.utcnow() - dt.timedelta(minutes=3))

    handle = start_embedded_worker(queue_app, workers=1, scheduler=True)
    try:
        job = wait_until(lambda: services.list_jobs(type="sample_export"), what="the schedule to fire")[0]
        done = ended(job.id)
    finally:
        handle.stop(timeout=10)

    assert done.status == JobStatus.SUCCEEDED
    assert done.actor_name == "scheduler"
    assert done.params == {"channel": "yandex_market"}


def test_embedded_worker_is_a_live_worker_until_it_stops(queue_app):
    handle = start_embedded_worker(queue_app, workers=1, scheduler=True)
    try:
        workers = services.live_workers()
    finally:
        handle.stop(timeout=10)

    assert [(w.name, w.is_scheduler) for w in workers] == [(services.process_name(), True)]
    assert services.live_workers() == []


def test_killed_worker_leaves_its_job_running_and_the_next_worker_marks_it_interrupted(queue_app, tmp_path, actor):
    job = services.enqueue("sample_slow", {"steps": 40, "step_seconds": 0.05}, actor=actor, lock_key="export:print_catalog")
    env = dict(
        os.environ,
        PIM_DATABASE_URL=queue_app.config["DATABASE_URL"],
        PIM_INSTANCE_PATH=queue_app.instance_path,
        PIM_QUEUE_URL=queue_app.config["QUEUE_URL"],
        PIM_QUEUE_NAME=queue_app.config["QUEUE_NAME"],
        PIM_JOB_MODULES=MODULE,
        PIM_QUEUE_POLL_SECONDS="0.1",
        PIM_WORKER_HEARTBEAT_SECONDS="0.5",
    )
    with (tmp_path / "worker.log").open("w") as log:
        process = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, "--workers", "1"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            taken = wait_until(lambda: (j := services.get_job(job.id)).progress_done > 0 and j, timeout=30, what="the worker process to run the job")
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert taken.worker == f"{socket.gethostname()}:{process.pid}"
    assert services.get_job(job.id).status == JobStatus.RUNNING

    handle = start_embedded_worker(queue_app, workers=1, scheduler=False)
    try:
        interrupted = services.get_job(job.id)
        again = services.rerun(job.id, actor=actor)
        done = ended(again.id)
    finally:
        handle.stop(timeout=10)

    assert interrupted.status == JobStatus.INTERRUPTED
    assert f"its worker {taken.worker} stopped while the job was running" in interrupted.error
    assert (done.status, done.lock_key, done.counts) == (JobStatus.SUCCEEDED, "export:print_catalog", {"recomputed": 40})


@pytest.fixture
def queue_elsewhere(app, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The shared application, free to point its queue somewhere else for one test."""
    close_queue(app)
    yield
    monkeypatch.undo()
    close_queue(app)


def test_check_queue_names_an_unreachable_redis_without_its_password(app, queue_elsewhere, monkeypatch):
    monkeypatch.setitem(app.config, "QUEUE_URL", "redis://:s3cret@127.0.0.1:1/0")

    check = check_queue(app)

    assert check.is_reachable is False
    assert check.message.startswith("The job queue at redis://:***@127.0.0.1:1/0 is not reachable:")
    assert "s3cret" not in check.message


def test_worker_does_not_start_on_an_unreachable_queue(app, queue_elsewhere, monkeypatch):
    monkeypatch.setitem(app.config, "QUEUE_URL", "redis://127.0.0.1:1/0")

    with pytest.raises(QueueUnavailable, match="not reachable"):
        start_embedded_worker(app, workers=1, scheduler=False)


def test_queue_url_of_an_unknown_kind_is_refused(app, queue_elsewhere, monkeypatch):
    monkeypatch.setitem(app.config, "QUEUE_URL", "amqp://127.0.0.1/")

    check = check_queue(app)

    assert check.is_reachable is False
    assert "must be empty" in check.message
