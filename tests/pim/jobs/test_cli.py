"""The job commands: list, show, cancel, rerun, worker; and running or waiting for a job from a command."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner, Result

from pim.jobs import services
from pim.jobs.cli import register_commands, run_or_wait, wait_for_job
from pim.jobs.models import JobStatus
from pim.jobs.queue import close_queue, start_embedded_worker
from tests.pim.jobs.sample_jobs import MODULE

pytestmark = pytest.mark.usefixtures("no_threads_left_behind")


@click.group()
def pim() -> None:
    """A root command like `pim`, with the job commands added."""


register_commands(pim)


@pytest.fixture
def jobs_app(committed_app) -> Iterator[object]:
    """An application with the sample job types and a queue of its own, inside an application context."""
    committed_app.config.update(
        JOB_MODULES=[MODULE],
        QUEUE_NAME=f"pim_test_{uuid.uuid4().hex[:12]}",
        QUEUE_POLL_SECONDS=0.1,
        WORKER_HEARTBEAT_SECONDS=0.5,
    )
    with committed_app.app_context():
        yield committed_app
    close_queue(committed_app)


def invoke(app: object, *args: str) -> Result:
    return CliRunner().invoke(pim, list(args), obj={"app": app})


def test_jobs_lists_recent_jobs_as_json_lines(jobs_app, actor):
    exported = services.enqueue("sample_export", {"channel": "ozon"}, actor=actor)
    services.run(exported.id)
    failed = services.enqueue("sample_failure", {}, actor=actor)
    services.run(failed.id)
    queued = services.enqueue("sample_export", {"channel": "wildberries"}, actor=actor)

    everything = invoke(jobs_app, "jobs", "--json")
    only_failed = invoke(jobs_app, "jobs", "--status", "failed", "--json")
    only_exports = invoke(jobs_app, "jobs", "--type", "sample_export", "--limit", "1", "--json")

    assert everything.exit_code == 0, everything.output
    assert [json.loads(line)["id"] for line in everything.stdout.splitlines()] == [queued.id, failed.id, exported.id]
    assert [json.loads(line)["status"] for line in only_failed.stdout.splitlines()] == ["failed"]
    assert [json.loads(line)["params"] for line in only_exports.stdout.splitlines()] == [{"channel": "wildberries"}]


def test_jobs_prints_one_line_per_job(jobs_app, actor):
    job = services.enqueue("sample_export", {}, actor=actor)
    services.run(job.id)

    result = invoke(jobs_app, "jobs")

    assert result.exit_code == 0, result.output
    assert f"{job.id}  sample_export    succeeded" in result.stdout
    assert "5/5" in result.stdout


def test_job_show_prints_status_progress_counts_warnings_log_and_report_as_json(jobs_app, actor):
    job = services.enqueue("sample_export", {"channel": "yandex_market"}, actor=actor)
    services.run(job.id)

    result = invoke(jobs_app, "job", "show", str(job.id), "--json")

    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["status"] == "succeeded"
    assert shown["progress"] == {"done": 5, "total": 5}
    assert shown["counts"] == {"exported": 4, "skipped": 1}
    assert shown["warnings"] == ["SNEAKER_1: no price for channel ecommerce, skipped"]
    assert shown["report_path"].endswith(f"jobs/{job.id}/feed.csv")
    assert shown["log"][0]["message"].startswith("Started on")
    assert shown["log"][-1]["message"].startswith("Succeeded after")


def test_job_show_prints_a_readable_summary(jobs_app, actor):
    job = services.enqueue("sample_failure", {}, actor=actor)
    services.run(job.id)

    result = invoke(jobs_app, "job", "show", str(job.id))

    assert result.exit_code == 0, result.output
    assert f"Job {job.id}: sample_failure (failed)" in result.stdout
    assert "Counts: imported 3" in result.stdout
    assert "Error: ValueError: Row 4, column price-EUR: 'twelve' is not a number" in result.stdout


def test_job_show_of_an_unknown_job_fails_with_one_line(jobs_app):
    result = invoke(jobs_app, "job", "show", "424242", "--json")

    assert result.exit_code == 1
    assert result.stderr == "error: Job 424242 does not exist\n"


def test_job_cancel_cancels_a_queued_job(jobs_app, actor):
    job = services.enqueue("sample_export", {}, actor=actor)

    result = invoke(jobs_app, "job", "cancel", str(job.id), "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "cancelled"
    assert services.get_job(job.id).status == JobStatus.CANCELLED


def test_job_cancel_of_an_ended_job_fails(jobs_app, actor):
    job_id = services.enqueue("sample_export", {}, actor=actor).id
    services.run(job_id)

    result = invoke(jobs_app, "job", "cancel", str(job_id))

    assert result.exit_code == 1
    assert result.stderr == f"error: Job {job_id} has already ended (succeeded)\n"


def test_job_rerun_with_wait_runs_the_copy_here_when_no_worker_is_alive(jobs_app, actor):
    first_id = services.enqueue("sample_export", {"channel": "store_pos"}, actor=actor).id
    services.cancel(first_id, actor=actor)

    result = invoke(jobs_app, "job", "rerun", str(first_id), "--wait", "--json")

    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    assert (again["status"], again["rerun_of"], again["params"]) == ("succeeded", first_id, {"channel": "store_pos"})
    # no worker: this process ran it, drawing its progress on stderr
    assert f"Job {again['id']} (sample_export): 5/5" in result.stderr


def test_job_rerun_with_wait_exits_non_zero_when_the_copy_fails(jobs_app, actor):
    first_id = services.enqueue("sample_failure", {}, actor=actor).id
    services.run(first_id)

    result = invoke(jobs_app, "job", "rerun", str(first_id), "--wait")

    assert result.exit_code == 1
    assert result.stderr.endswith("failed: ValueError: Row 4, column price-EUR: 'twelve' is not a number\n")


def test_run_or_wait_leaves_the_job_to_a_live_worker(jobs_app, actor):
    handle = start_embedded_worker(jobs_app, workers=1, scheduler=False)
    try:
        job = services.enqueue("sample_export", {}, actor=actor)
        done = run_or_wait(job, progress=False)
    finally:
        handle.stop(timeout=10)

    assert done.status == JobStatus.SUCCEEDED
    assert any(line.message.startswith("Running in thread Worker-") for line in services.job_log(job.id))


def test_run_or_wait_runs_the_job_here_without_a_worker(jobs_app, actor):
    job = services.enqueue("sample_export", {}, actor=actor)

    done = run_or_wait(job, progress=False)

    assert done.status == JobStatus.SUCCEEDED
    assert f"Running in thread {threading.current_thread().name}" in [line.message for line in services.job_log(job.id)]


def test_wait_for_job_returns_the_job_as_it_ended(jobs_app, actor):
    handle = start_embedded_worker(jobs_app, workers=1, scheduler=False)
    try:
        job = services.enqueue("sample_slow", {"steps": 10, "step_seconds": 0.02}, actor=actor)
        started = time.monotonic()
        done = wait_for_job(job.id, progress=False)
    finally:
        handle.stop(timeout=10)

    assert done.status == JobStatus.SUCCEEDED
    assert done.counts == {"recomputed": 10}
    assert time.monotonic() - started < 10


def test_worker_command_fails_with_one_line_when_the_queue_is_unreachable(jobs_app):
    close_queue(jobs_app)
    jobs_app.config["QUEUE_URL"] = "redis://127.0.0.1:1/0"

    result = invoke(jobs_app, "worker", "--workers", "1")

    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith("error: The job queue at redis://127.0.0.1:1/0 is not reachable:")
