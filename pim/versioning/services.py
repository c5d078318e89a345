"""Reading history: the versions of a product or product model, newest first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from pim import db
from pim.actor import Actor
from pim.versioning.models import Version


def record_versions(resource_type: str, entries: Iterable[tuple[int, str, int, dict[str, Any]]], *, actor: Actor, logged_at: dt.datetime | None = None) -> None:
    """Write one version per (resource id, code, version number, changes), all by one actor."""
    logged_at = logged_at or db.utcnow()
    db.bulk_insert(
        Version.__table__,
        [
            {
                "resource_type": resource_type,
                "resource_id": resource_id,
                "resource_code": code,
                "version": number,
                "author": actor.name,
                "source": str(actor.source),
                "job_id": actor.job_id,
                "logged_at": logged_at,
                "changes": changes,
            }
            for resource_id, code, number, changes in entries
        ],
    )


def product_history(product_id: int, *, resource_type: str = "product") -> list[dict[str, Any]]:
    """Return the versions of a product (or product model), newest first."""
    versions = db.session.scalars(
        select(Version).where(Version.resource_type == resource_type, Version.resource_id == product_id).order_by(Version.version.desc(), Version.id.desc())
    )
    return [
        {
            "version": v.version,
            "author": v.author,
            "source": v.source,
            "job_id": v.job_id,
            "logged_at": v.logged_at.isoformat() if v.logged_at else None,
            "changes": v.changes,
        }
        for v in versions
    ]
