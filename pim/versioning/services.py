"""Reading history: the versions of a product or product model, newest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pim import db
from pim.versioning.models import Version


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
