"""Commands for jobs: list, show, cancel and rerun them, run a worker; and waiting for a job from any command."""

from __future__ import annotations

import datetime as dt
import functools
import json
import time
from collections.abc import Callable
from typing import Any

import click

from pim.jobs.models import Job, JobStatus

POLL_SECONDS = 0.5


def _with_app(command: Callable[..., Any]) -> Callable[..., Any]:
    """Apply pim.cli's `with_app` when the command runs, so this module can be imported by pim.cli."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from pim.cli import with_app

        return with_app(command)(*args, **kwargs)

    return wrapper


def _when(moment: dt.datetime | None) -> str:
    from pim.jobs.services import as_utc

    return as_utc(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _progress_text(job: Job) -> str:
    if job.progress_total:
        return f"{job.progress_done:,}/{job.progress_total:,}"
    return f"{job.progress_done:,}" if job.progress_done else "-"


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


# --- waiting for a job --------------------------------------------------------------------


def _wait(job_id: int, progress: bool, *, is_stopped_when_unattended: bool) -> Job:
    from pim.cli import Progress
    from pim.db import utcnow
    from pim.jobs import services

    bar: Progress | None = None
    timeout = dt.timedelta(seconds=float(_config("JOB_HEARTBEAT_TIMEOUT")))
    last_worker_check = time.monotonic()
    try:
        while True:
            job = services.get_job(job_id)
            if progress and job.status != JobStatus.QUEUED:
                if bar is None:
                    bar = Progress(f"Job {job.id} ({job.type})", job.progress_total)
                bar.total = job.progress_total
                if job.progress_done != bar.done or job.status.is_final:
                    bar.update(job.progress_done)
            if job.status.is_final:
                return job
            if job.status == JobStatus.RUNNING and job.heartbeat_at and services.as_utc(job.heartbeat_at) < utcnow() - timeout:
                # its worker died: say so instead of waiting for ever
                services.mark_interrupted()
                continue
            if is_stopped_when_unattended and job.status == JobStatus.QUEUED and time.monotonic() - last_worker_check > 2:
                last_worker_check = time.monotonic()
                if not services.live_workers():
                    return job
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        click.echo(f"\nJob {job_id} goes on without this command; stop it with: pim job cancel {job_id}", err=True)
        raise
    finally:
        if bar is not None:
            bar.finish()


def _config(name: str) -> Any:
    from flask import current_app

    return current_app.config[name]


def wait_for_job(job_id: int, progress: bool = True) -> Job:
    """Wait until a job ends, drawing its progress on stderr, and return it as it ended."""
    return _wait(job_id, progress, is_stopped_when_unattended=False)


def run_or_wait(job: Job, progress: bool = True) -> Job:
    """See a queued job through: wait for a live worker to run it, or run it in this process when there is none."""
    from pim.cli import Progress
    from pim.jobs import services

    if services.live_workers():
        job = _wait(job.id, progress, is_stopped_when_unattended=True)
        if job.status != JobStatus.QUEUED:
            return job
        click.echo(f"No worker is running any more; running job {job.id} here.", err=True)
    bar = Progress(f"Job {job.id} ({job.type})", None) if progress else None

    def show(done: int, total: int | None) -> None:
        if bar is not None:
            bar.total = total
            bar.update(done)

    try:
        ended = services.run_inline(job.id, on_progress=show)
    finally:
        if bar is not None:
            bar.finish()
    if not ended.status.is_final:
        # a worker that started meanwhile took it first
        return wait_for_job(job.id, progress)
    return ended


def _exit_for(job: Job) -> None:
    if job.status != JobStatus.SUCCEEDED:
        reason = f": {job.error}" if job.error else ""
        click.echo(f"error: job {job.id} {job.status.value}{reason}", err=True)
        click.get_current_context().exit(1)


# --- commands -----------------------------------------------------------------------------


@click.command("jobs")
@click.option("--status", type=click.Choice([status.value for status in JobStatus]), help="Only jobs with this status.")
@click.option("--type", "type_name", default=None, help="Only jobs of this type, e.g. export.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="Jobs to list, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines.")
@_with_app
def jobs_command(status: str | None, type_name: str | None, limit: int, as_json: bool) -> None:
    """List recent jobs, newest first."""
    from pim.jobs.services import job_to_dict, list_jobs

    for job in list_jobs(limit=limit, status=status, type=type_name):
        if as_json:
            _echo_json(job_to_dict(job))
        else:
            click.echo(
                f"{job.id:>6}  {job.type:<16} {job.status.value:<11} {_progress_text(job):>15}  {_when(job.created_at)}  {job.actor_name} ({job.actor_source})"
            )


@click.group("job")
def job_group() -> None:
    """Look at, cancel or rerun one job."""


@job_group.command("show")
@click.argument("job_id", type=int)
@click.option("--log-lines", default=20, show_default=True, type=click.IntRange(0, 10_000), help="Last lines of the log to show.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@_with_app
def job_show(job_id: int, log_lines: int, as_json: bool) -> None:
    """Print a job: status, progress, counts, warnings, the end of its log and its report file."""
    from pim.jobs.services import get_job, job_log, job_to_dict, report_file_path

    job = get_job(job_id)
    lines = job_log(job_id, limit=log_lines) if log_lines else []
    if as_json:
        data = job_to_dict(job, log=lines)
        data.setdefault("log", [])
        _echo_json(data)
        return
    click.echo(f"Job {job.id}: {job.type} ({job.status.value})")
    click.echo(
        f"Started by {job.actor_name} ({job.actor_source}); queued {_when(job.created_at)}, started {_when(job.started_at)}, ended {_when(job.finished_at)}"
    )
    if job.worker:
        click.echo(f"Worker: {job.worker}")
    click.echo(f"Progress: {_progress_text(job)}")
    if job.counts:
        click.echo("Counts: " + ", ".join(f"{name} {value:,}" for name, value in sorted(job.counts.items())))
    if job.warning_count:
        click.echo(f"Warnings ({job.warning_count:,}):")
        for warning in job.warnings[:20]:
            click.echo(f"  {warning}")
        if job.warning_count > 20:
            click.echo(f"  ... and {job.warning_count - 20:,} more")
    report = report_file_path(job)
    if report is not None:
        click.echo(f"Report: {report}")
    if job.error:
        click.echo(f"Error: {job.error}")
    if lines:
        click.echo("Log:")
        for line in lines:
            first, *rest = line.message.splitlines() or [""]
            click.echo(f"  {_when(line.logged_at)} {line.level:<7} {first}")
            for more in rest:
                click.echo(f"      {more}")


@job_group.command("cancel")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
@_with_app
def job_cancel(job_id: int, as_json: bool) -> None:
    """Cancel a job: a queued one at once, a running one at its next check."""
    from pim.actor import Actor
    from pim.jobs.services import cancel, job_to_dict

    job = cancel(job_id, actor=Actor.from_os_user())
    if as_json:
        _echo_json(job_to_dict(job))
    if job.status == JobStatus.CANCELLED:
        click.echo(f"Job {job.id} cancelled.", err=True)
    else:
        click.echo(f"Job {job.id} asked to stop; it stops at its next check.", err=True)


@job_group.command("rerun")
@click.argument("job_id", type=int)
@click.option("--wait", "is_waiting", is_flag=True, help="Wait for the new job (or run it here when no worker runs).")
@click.option("--json", "as_json", is_flag=True, help="Print the new job as JSON.")
@_with_app
def job_rerun(job_id: int, is_waiting: bool, as_json: bool) -> None:
    """Queue a new job with the type and parameters of an ended one."""
    from pim.actor import Actor
    from pim.jobs.services import job_to_dict, rerun

    job = rerun(job_id, actor=Actor.from_os_user())
    click.echo(f"Job {job.id} queued (a rerun of job {job_id}).", err=True)
    if is_waiting:
        job = run_or_wait(job, progress=True)
    if as_json:
        _echo_json(job_to_dict(job))
    if is_waiting:
        _exit_for(job)


@click.command("worker")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Jobs run at the same time.")
@click.option("--scheduler", is_flag=True, help="Also start scheduled jobs when they fall due.")
@_with_app
def worker_command(workers: int, scheduler: bool) -> None:
    """Run jobs from the queue until stopped (Ctrl+C lets running jobs finish)."""
    import logging

    from flask import current_app

    from pim.jobs.queue import run_worker

    logging.getLogger("pim").setLevel(logging.INFO)
    click.echo(f"Worker running {workers} job(s) at a time{' with the scheduler' if scheduler else ''} (Ctrl+C to stop)", err=True)
    run_worker(current_app._get_current_object(), workers=workers, scheduler=scheduler)  # type: ignore[attr-defined]


def register_commands(main: click.Group) -> None:
    """Add `pim jobs`, `pim job ...` and `pim worker` to the root command."""
    main.add_command(jobs_command)
    main.add_command(job_group)
    main.add_command(worker_command)
