"""Export profiles (publishing definitions on a channel), their published runs and delta hashes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from pim.db import Base, Code, JsonDocument, Labels, Timestamp


class ExportProfile(Base):
    """A publishing definition: channel, feed format, field mapping, product filter and schedule.

    `definition` holds the whole definition as the user wrote it (the YAML shown by
    `pim channel show` and taken by `pim channel apply`); the columns beside it are what
    queries and the scheduler need without parsing it.
    """

    __tablename__ = "export_profile"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[Code] = mapped_column(unique=True)
    labels: Mapped[Labels]
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), index=True)
    format: Mapped[str] = mapped_column(String(50))
    preset: Mapped[str | None] = mapped_column(String(100))
    # plain JSON, not JSONB: the definition keeps the order its author gave fields in
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    schedule: Mapped[str | None] = mapped_column(String(100))
    # the secret part of the feed's public address; rotating it revokes the old address
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]

    def __repr__(self) -> str:
        return f"<ExportProfile {self.code}>"


class ExportRun(Base):
    """One run of an export profile: its job, counts, the files it published and its report."""

    __tablename__ = "export_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("export_profile.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int | None] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(20), default="running")
    is_delta: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[Timestamp]
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # folder of the published files, relative to the instance's feeds folder
    folder: Mapped[str | None] = mapped_column(String(500))
    files: Mapped[list[Any]] = mapped_column(JsonDocument, default=list)
    counts: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    report_path: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(String(2000))


class PublishedRecord(Base):
    """The hash of the record a profile last published for a product: the base of delta feeds."""

    __tablename__ = "published_record"
    profile_id: Mapped[int] = mapped_column(ForeignKey("export_profile.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(16))
    sku: Mapped[str] = mapped_column(String(255))


__all__ = ["ExportProfile", "ExportRun", "PublishedRecord"]
