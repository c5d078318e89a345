"""History: one row per change of a product or product model, with the exact before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from pim.db import Base, JsonDocument, Timestamp


class Version(Base):
    """The record of one change: who, when, from where, and each changed field's old and new value.

    `changes` maps a field ("enabled", "family", "parent", "categories", or a value key
    "name|en_US|" = attribute|locale|channel) to {"old": ..., "new": ...}.
    """

    __tablename__ = "version"
    __table_args__ = (Index("ix_version_resource", "resource_type", "resource_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(20))
    # Not a foreign key: the history of a deleted product stays readable.
    resource_id: Mapped[int]
    resource_code: Mapped[str] = mapped_column(String(255))
    version: Mapped[int]
    author: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(20))
    job_id: Mapped[int | None]
    logged_at: Mapped[Timestamp]
    changes: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
