"""The job service on a real database: enqueueing, running, locks, cancelling, interrupted jobs."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pim.actor import Actor, Source
from pim.catalog.services import create_product, get_product
from pim.errors import Conflict, Invalid, NotFound
from pim.jobs import queue, services
from pim.jobs.models import JobStatus
from pim.jobs.services import JobContext, JobLocked
from pim.versioning.services import product_history
from tests.pim.jobs import sample_jobs


@pytest.fixture
def jobs_app(app, db_session, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The shared application with the sample job types, on a rolled-back session."""
    monkeypatch.setitem(app.config, "JOB_MODULES", [sample_jobs.MODULE])
    yield app


@pytest.fixture
def queue_down(jobs_app, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The job queue points at a Redis port where nothing listens."""
    queue.close_queue(jobs_app)
    monkeypatch.setitem(jobs_app.config, "QUEUE_URL", "redis://127.0.0.1:1/0")
    yield
    queue.close_queue(jobs_app)


def test_enqueue_creates_a_queued_job_sent_to_the_queue(jobs_app, actor):
    job = services.enqueue("sample_export", {"channel": "ecommerce"}, actor=actor)

    stored = services.get_job(job.id)
    assert stored.status == JobStatus.QUEUED
    assert stored.is_enqueued is True
    assert (stored.type, stored.params) == ("sample_export", {"channel": "ecommerce"})
    assert (stored.actor_name, stored.actor_source) == ("anna", "cli")


def test_enqueue_rejects_an_unknown_job_type(jobs_app, actor):
    with pytest.raises(Invalid) as error:
        services.enqueue("nightly_magic", {}, actor=actor)

    assert error.value.errors[0].field == "type"
    assert "nightly_magic" in error.value.errors[0].message


def test_enqueue_rejects_parameters_that_are_not_json(jobs_app, actor):
    with pytest.raises(Invalid) as error:
        services.enqueue("sample_export", {"channel": {"ecommerce"}}, actor=actor)

    assert error.value.errors[0].field == "params"


def test_job_modules_come_from_a_comma_separated_environment_value():
    assert services.job_modules({"JOB_MODULES": "pim.publishing.jobs, tests.pim.jobs.sample_jobs,"}) == [
        "pim.publishing.jobs",
        "pim.catalog.jobs",
        "tests.pim.jobs.sample_jobs",
    ]


def test_run_records_progress_counts_warnings_log_and_report(jobs_app, actor):
    job = services.enqueue("sample_export", {"channel": "ecommerce", "repeat": 4}, actor=actor)

    ended = services.run(job.id)

    assert ended is not None
    assert ended.status == JobStatus.SUCCEEDED
    assert (ended.progress_done, ended.progress_total) == (20, 20)
    assert ended.counts == {"exported": 16, "skipped": 4}
    assert ended.warning_count == 4
    assert ended.warnings[0] == "SNEAKER_1: no price for channel ecommerce, skipped"
    assert ended.started_at is not None and ended.finished_at is not None
    assert ended.worker == services.process_name()
    report = services.report_file_path(ended)
    assert report == Path(jobs_app.instance_path) / "jobs" / str(job.id) / "feed.csv"
    assert report.read_text(encoding="utf-8").splitlines()[:2] == ["sku,title,price", "BOOT_1,Trail boot,129.00 EUR"]
    messages = [line.message for line in services.job_log(job.id)]
    assert "Exporting 20 rows for channel ecommerce" in messages
    assert messages[-1].startswith("Succeeded after")


def test_failing_handler_marks_the_job_failed_with_the_error_and_traceback(jobs_app, actor):
    job = services.enqueue("sample_failure", {"file": "prices.csv"}, actor=actor)

    ended = services.run(job.id)

    assert ended.status == JobStatus.FAILED
    assert ended.error == "ValueError: Row 4, column price-EUR: 'twelve' is not a number"
    assert ended.counts == {"imported": 3}
    assert (ended.progress_done, ended.progress_total) == (3, 10)
    errors = [line for line in services.job_log(job.id) if line.level == "error"]
    assert any("Traceback (most recent call last)" in line.message and "import_broken_file" in line.message for line in errors)


def test_a_job_runs_once_however_often_it_is_run(jobs_app, actor):
    job = services.enqueue("sample_export", {}, actor=actor)
    services.run(job.id)

    assert services.run(job.id) is None
    assert services.get_job(job.id).counts == {"exported": 4, "skipped": 1}


def test_second_job_with_a_held_lock_key_is_refused_naming_the_holder(jobs_app, actor):
    first = services.enqueue("sample_export", {"channel": "yandex_market"}, actor=actor, lock_key="export:yandex_market")

    with pytest.raises(JobLocked) as error:
        services.enqueue("sample_export", {"channel": "yandex_market"}, actor=actor, lock_key="export:yandex_market")

    assert error.value.job_id == first.id
    assert f"Job {first.id} (sample_export) is already queued" in str(error.value)
    assert isinstance(error.value, Conflict)


def test_lock_key_is_free_again_when_the_job_ends(jobs_app, actor):
    first = services.enqueue("sample_export", {}, actor=actor, lock_key="export:google_merchant")
    services.run(first.id)

    second = services.enqueue("sample_export", {}, actor=actor, lock_key="export:google_merchant")

    assert second.id != first.id


def test_lock_key_is_freed_when_the_handler_fails(jobs_app, actor):
    first = services.enqueue("sample_failure", {}, actor=actor, lock_key="import:supplier_feed")
    services.run(first.id)

    services.enqueue("sample_failure", {}, actor=actor, lock_key="import:supplier_feed")


def test_cancel_of_a_queued_job_ends_it_and_frees_its_lock(jobs_app, actor):
    job = services.enqueue("sample_export", {}, actor=actor, lock_key="export:ozon")

    cancelled = services.cancel(job.id, actor=Actor("boris", Source.UI))

    assert cancelled.status == JobStatus.CANCELLED
    assert services.run(job.id) is None
    assert "Cancelled by boris before it started" in [line.message for line in services.job_log(job.id)]
    services.enqueue("sample_export", {}, actor=actor, lock_key="export:ozon")


def test_cancel_of_a_running_job_stops_it_at_its_next_check(jobs_app, actor):
    def cancel_myself(ctx: JobContext) -> None:
        ctx.progress(1, 3)
        services.cancel(ctx.job_id, actor=actor)
        ctx.check_cancelled()
        ctx.progress(3)

    sample_jobs.HOOKS["cancel_myself"] = cancel_myself
    job = services.enqueue("sample_hook", {"hook": "cancel_myself"}, actor=actor, lock_key="bulk_edit:shoes")

    ended = services.run(job.id)

    assert ended.status == JobStatus.CANCELLED
    assert ended.is_cancel_requested is True
    assert ended.progress_done == 1
    services.enqueue("sample_export", {}, actor=actor, lock_key="bulk_edit:shoes")


def test_cancel_of_an_ended_job_is_refused(jobs_app, actor):
    job = services.enqueue("sample_export", {}, actor=actor)
    services.run(job.id)

    with pytest.raises(Conflict, match="already ended"):
        services.cancel(job.id, actor=actor)


def test_get_job_of_an_unknown_id_raises_not_found(jobs_app):
    with pytest.raises(NotFound, match="Job 987654 does not exist"):
        services.get_job(987654)


def test_warnings_past_the_kept_number_are_only_counted(jobs_app, actor, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(jobs_app.config, "JOB_WARNINGS_KEPT", 3)
    job = services.enqueue("sample_export", {"repeat": 10}, actor=actor)

    ended = services.run(job.id)

    assert ended.warning_count == 10
    assert len(ended.warnings) == 3


def test_versions_written_by_a_job_record_its_id(jobs_app, demo_catalog, actor):
    create_product("BOOT_1", actor=actor)
    create_product("BOOT_2", actor=actor)
    job = services.enqueue("sample_disable", {"identifiers": ["BOOT_1", "BOOT_2"]}, actor=Actor("anna", Source.BULK_EDIT))

    ended = services.run(job.id)

    assert ended.status == JobStatus.SUCCEEDED, ended.error
    latest = product_history(get_product("BOOT_2").id)[0]
    assert (latest["author"], latest["source"], latest["job_id"]) == ("anna", "bulk_edit", job.id)
    assert get_product("BOOT_1").is_enabled is False


def test_rerun_queues_a_new_job_with_the_same_type_params_and_lock(jobs_app, actor):
    first = services.enqueue("sample_failure", {"file": "prices.csv"}, actor=actor, lock_key="import:prices")
    services.run(first.id)

    again = services.rerun(first.id, actor=Actor("boris", Source.UI))

    assert (again.type, again.params, again.lock_key, again.rerun_of) == ("sample_failure", {"file": "prices.csv"}, "import:prices", first.id)
    assert again.status == JobStatus.QUEUED
    assert again.actor_name == "boris"


def test_rerun_of_a_job_that_has_not_ended_is_refused(jobs_app, actor):
    job = services.enqueue("sample_export", {}, actor=actor)

    with pytest.raises(Conflict, match="still queued"):
        services.rerun(job.id, actor=actor)


def test_enqueue_keeps_the_job_queued_when_the_queue_is_down_and_the_sweep_sends_it(jobs_app, queue_down, actor, monkeypatch):
    job = services.enqueue("sample_export", {}, actor=actor)

    assert services.get_job(job.id).is_enqueued is False
    assert services.sweep() == []
    assert "The job queue is not reachable" in services.job_log(job.id)[-1].message

    queue.close_queue(jobs_app)
    monkeypatch.setitem(jobs_app.config, "QUEUE_URL", "")
    assert job.id in services.sweep()
    assert services.get_job(job.id).is_enqueued is True


def test_mark_interrupted_leaves_the_jobs_of_this_process_alone(jobs_app, actor):
    found: list[list[int]] = []
    sample_jobs.HOOKS["look_for_dead_jobs"] = lambda ctx: found.append(services.mark_interrupted(timeout=0))
    job = services.enqueue("sample_hook", {"hook": "look_for_dead_jobs"}, actor=actor)

    ended = services.run(job.id)

    assert found == [[]]
    assert ended.status == JobStatus.SUCCEEDED


def test_mark_interrupted_takes_a_job_without_heartbeat_from_another_host_for_dead(jobs_app, actor):
    found: list[list[int]] = []

    def look(ctx: JobContext) -> None:
        found.append(services.mark_interrupted(timeout=0))
        # the lock is free for a rerun at once
        services.enqueue("sample_export", {}, actor=actor, lock_key="export:store_pos")

    sample_jobs.HOOKS["look_from_elsewhere"] = look
    job = services.enqueue("sample_hook", {"hook": "look_from_elsewhere"}, actor=actor, lock_key="export:store_pos")

    ended = services.run(job.id, worker="worker-7.example.net:4242")

    assert found == [[job.id]]
    # the handler still ended well, and says so
    assert ended.status == JobStatus.SUCCEEDED
    assert any("sent no heartbeat" in line.message for line in services.job_log(job.id))


def test_mark_interrupted_takes_a_job_of_a_process_gone_from_this_host_for_dead(jobs_app, actor):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead_worker = f"{socket.gethostname()}:{gone.stdout.strip()}"
    found: list[list[int]] = []
    sample_jobs.HOOKS["look_after_dead_process"] = lambda ctx: found.append(services.mark_interrupted())
    job = services.enqueue("sample_hook", {"hook": "look_after_dead_process"}, actor=actor)

    services.run(job.id, worker=dead_worker)

    assert found == [[job.id]]
    assert any(f"its worker {dead_worker} stopped" in line.message for line in services.job_log(job.id))
