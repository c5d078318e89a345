"""Completeness recomputed as a job: after a channel's fallback, locales or currencies change, a
new channel copies requirements, or a family's requirements change.

On a catalogue of a million products that takes minutes, so the change itself commits at once
and a `completeness` job recomputes the products concerned in pages, with progress and cancel.
An export of a channel whose completeness is being recomputed first sees that job through, so
it never gates products on numbers about to change.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from pim import db
from pim.actor import SYSTEM, Actor
from pim.catalog.models import Product
from pim.catalog.services import recompute_completeness
from pim.jobs import services as jobs
from pim.jobs.models import Job, JobStatus
from pim.structure.models import Channel, Family

JOB_TYPE = "completeness"
_ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


def schedule_completeness(*, channels: Sequence[str] = (), families: Sequence[str] = (), actor: Actor = SYSTEM) -> Job | None:
    """Queue the recomputation of some channels' or families' completeness; None when no product is concerned."""
    if db.session.scalar(select(Product.id).where(Product.family_id.is_not(None)).limit(1)) is None:
        return None
    params: dict[str, Any] = {}
    if channels:
        params["channels"] = sorted(set(channels))
    if families:
        params["families"] = sorted(set(families))
    return jobs.enqueue(JOB_TYPE, params, actor=actor)


@jobs.job_type(JOB_TYPE)
def completeness_job(ctx: jobs.JobContext) -> None:
    """Recompute the completeness of the products of some channels or families, page by page."""
    channel_codes = list(ctx.params.get("channels") or [])
    family_codes = list(ctx.params.get("families") or [])
    channel_ids = _ids(Channel, channel_codes) if channel_codes else None
    family_ids = _ids(Family, family_codes) if family_codes else None
    condition = Product.family_id.is_not(None) if family_ids is None else Product.family_id.in_(family_ids)
    total = db.session.scalar(select(func.count()).select_from(Product).where(condition)) or 0
    ctx.progress(0, total)

    def on_batch(done: int) -> None:
        ctx.progress(done, total)
        ctx.check_cancelled()

    done = recompute_completeness(channel_ids=channel_ids, family_ids=family_ids, on_batch=on_batch)
    ctx.count("products", done)
    scope = ", ".join([*(f"channel {code}" for code in channel_codes), *(f"family {code}" for code in family_codes)]) or "every channel"
    ctx.log(f"recomputed the completeness of {done:,} products for {scope}")


def _ids(model: Any, codes: list[str]) -> list[int]:
    return list(db.session.scalars(select(model.id).where(model.code.in_(codes))))


def pending_for_channel(channel: str) -> list[Job]:
    """Return the completeness jobs queued or running that concern a channel, oldest first."""
    candidates = db.session.scalars(select(Job).where(Job.type == JOB_TYPE, Job.status.in_(_ACTIVE)).order_by(Job.id))
    return [job for job in candidates if "channels" not in (job.params or {}) or channel in job.params["channels"]]


def settle_completeness(channel: str, ctx: Any = None, *, poll: float = 0.5) -> int:
    """See every pending completeness job of a channel through before reading its numbers.

    A queued one is run here (a job runs once: if a worker claims it first, this waits for it);
    a running one is waited for, checking `ctx` (a job's context) for a cancel meanwhile.
    Returns how many jobs were waited for or run.
    """
    settled = 0
    for job in pending_for_channel(channel):
        job_id = job.id
        if job.status == JobStatus.QUEUED:
            jobs.run(job_id)
        while jobs.get_job(job_id).status in _ACTIVE:
            if ctx is not None:
                ctx.check_cancelled()
            jobs.end_read()
            time.sleep(poll)
            db.session.expire_all()
        settled += 1
    return settled
