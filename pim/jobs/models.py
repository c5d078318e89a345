"""Jobs (runs of long work), their log lines and locks, the workers that run them, and schedules."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Boolean, DateTime, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pim.db import Base, JsonDocument, Timestamp

# A nullable point in time, stored like every other timestamp (UTC).
OptionalTime = DateTime(timezone=True)


class JobStatus(enum.StrEnum):
    """Where a job stands; the last four are final."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def is_final(self) -> bool:
        """Tell whether the job has ended and will not change any more."""
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


class Job(Base):
    """One run of long work: what, for whom, how far it got and how it ended.

    `report_path` is relative to the instance folder (jobs/<id>/<file>), so an instance
    folder can move without breaking the links to its reports.
    """

    __tablename__ = "job"
    __table_args__ = (
        # "jobs of a type" and "jobs with a status", newest first
        Index("ix_job_type_id", "type", "id"),
        Index("ix_job_status_id", "status", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    lock_key: Mapped[str | None] = mapped_column(String(200))
    actor_name: Mapped[str] = mapped_column(String(255))
    actor_source: Mapped[str] = mapped_column(String(20))
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=20, values_callable=lambda members: [m.value for m in members], validate_strings=True),
        default=JobStatus.QUEUED,
    )
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    counts: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    warnings: Mapped[list[Any]] = mapped_column(JsonDocument, default=list)
    # every warning counts here, also those past the ones kept in `warnings`
    warning_count: Mapped[int] = mapped_column(default=0)
    report_path: Mapped[str | None] = mapped_column(String(1000))
    error: Mapped[str | None] = mapped_column(Text)
    rerun_of: Mapped[int | None]
    created_at: Mapped[Timestamp]
    started_at: Mapped[dt.datetime | None] = mapped_column(OptionalTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(OptionalTime)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(OptionalTime)
    worker: Mapped[str | None] = mapped_column(String(255))
    is_cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    is_enqueued: Mapped[bool] = mapped_column(Boolean, default=False)

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.type} {self.status}>"


class JobLock(Base):
    """A lock key held by a queued or running job; the primary key keeps a second holder out."""

    __tablename__ = "job_lock"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[Timestamp]


class JobLog(Base):
    """One line of a job's log."""

    __tablename__ = "job_log"
    __table_args__ = (Index("ix_job_log_job_id_id", "job_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"))
    logged_at: Mapped[Timestamp]
    level: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)


class Worker(Base):
    """A process consuming the queue, named host:pid; alive while it keeps `last_seen_at` fresh."""

    __tablename__ = "worker"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    started_at: Mapped[Timestamp]
    last_seen_at: Mapped[Timestamp]
    is_scheduler: Mapped[bool] = mapped_column(Boolean, default=False)

    def __repr__(self) -> str:
        return f"<Worker {self.name}>"


class Schedule(Base):
    """A job started on a cron expression, e.g. key "export:yandex_market" every morning.

    `last_due_at` is the latest due time that has been fired; schedulers claim a due time by
    moving it forward with a compare-and-set, so each due time starts one job at most.
    """

    __tablename__ = "schedule"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    cron: Mapped[str] = mapped_column(String(200))
    job_type: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    lock_key: Mapped[str | None] = mapped_column(String(200))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_due_at: Mapped[dt.datetime | None] = mapped_column(OptionalTime)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]

    def __repr__(self) -> str:
        return f"<Schedule {self.key} {self.cron!r}>"
