"""Exports as jobs: the `export` job type, starting one from the CLI, and due schedules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from pim import db
from pim.actor import Actor
from pim.errors import PimError
from pim.jobs import services as jobs
from pim.jobs.models import Job, JobStatus
from pim.jobs.schedule import fire_due_schedules
from pim.publishing.export import check_can_run, get_profile, run_export
from pim.publishing.models import ExportRun


@jobs.job_type("export")
def export_job(ctx: jobs.JobContext) -> None:
    """Run one export profile inside a job: progress, cancel between batches, counts and report."""
    params = ctx.params
    result = run_export(
        params["profile"],
        is_delta=bool(params.get("delta")),
        output=params.get("output"),
        job_id=ctx.job_id,
        reporter=ctx,
        skus=params.get("skus"),
    )
    for name in ("exported", "skipped", "unchanged", "deleted"):
        ctx.count(name, getattr(result, name))
    for reason, count in result.reasons.items():
        ctx.count(f"skipped:{reason}", count)
    if result.warnings:
        ctx.count("warnings", result.warnings)
        for reason, count in result.warning_reasons.items():
            ctx.count(f"warning:{reason}", count)
    if result.report_path is not None:
        ctx.set_report(str(result.report_path))
    ctx.log(f"published {', '.join(entry['name'] for entry in result.files)} in {result.folder}")


def run_of_job(job_id: int) -> ExportRun | None:
    """Return the export run a job made, if any."""
    return db.session.scalar(select(ExportRun).where(ExportRun.job_id == job_id).order_by(ExportRun.id.desc()).limit(1))


def run_summary(run: ExportRun) -> dict[str, Any]:
    """Return an export run as plain data: files, counts, reasons, report."""
    counts = run.counts or {}
    return {
        "run": run.id,
        "status": run.status,
        "files": run.files,
        "exported": counts.get("exported", 0),
        "skipped": counts.get("skipped", 0),
        "unchanged": counts.get("unchanged", 0),
        "deleted": counts.get("deleted", 0),
        "reasons": counts.get("reasons", {}),
        "warnings": counts.get("warnings", 0),
        "warning_reasons": counts.get("warning_reasons", {}),
        "report": run.report_path,
        "delta": run.is_delta,
        "error": run.error,
    }


def start_export(
    code: str, *, is_delta: bool = False, output: str | None = None, skus: list[str] | None = None, wait: bool = True, actor: Actor
) -> dict[str, Any]:
    """Queue an export job for a profile; with `wait`, see it through and return its outcome.

    Two runs of one profile never overlap: the second is refused while the first holds the
    profile's lock. `skus` narrows a run of a format printed on demand (shelf labels) to those
    products. Raises PimError when the export did not succeed.
    """
    from pim.jobs.cli import run_or_wait
    from pim.publishing.services import feed_address

    profile = get_profile(code)
    check_can_run(profile.code, is_delta=is_delta, skus=skus)
    params: dict[str, Any] = {"profile": profile.code, "delta": is_delta, "output": str(output) if output else None}
    if skus is not None:
        params["skus"] = list(skus)
    job = jobs.enqueue("export", params, actor=actor, lock_key=f"export:{profile.code}")
    if not wait:
        return {"job": job.id, "status": JobStatus.QUEUED.value, "feed": feed_address(profile)}
    finished: Job = run_or_wait(job)
    db.session.expire_all()
    run = run_of_job(finished.id)
    outcome: dict[str, Any] = {"job": finished.id, "status": finished.status.value, "feed": feed_address(profile)}
    if run is not None:
        outcome["result"] = {**run_summary(run), "output": params["output"]}
    if finished.status != JobStatus.SUCCEEDED:
        raise PimError(f"export of {profile.code} {finished.status.value}: {finished.error or run and run.error or 'see pim job show ' + str(finished.id)}")
    return outcome


def fire_due(now: dt.datetime | None = None) -> list[str]:
    """Queue every export whose schedule is due; return the profiles queued."""
    fired = fire_due_schedules(now or dt.datetime.now(dt.UTC))
    return [run.key.removeprefix("export:") for run in fired if run.job is not None and run.key.startswith("export:")]
