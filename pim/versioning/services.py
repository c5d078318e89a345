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
    db.bulk_insert(Version.__table__, version_rows(resource_type, entries, actor=actor, logged_at=logged_at))


def version_rows(
    resource_type: str, entries: Iterable[tuple[int, str, int, dict[str, Any]]], *, actor: Actor, logged_at: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Return the version rows record_versions writes."""
    logged_at = logged_at or db.utcnow()
    return [
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
    ]


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


def value_history(resource_type: str, ids: Iterable[int], attributes: Iterable[str], since: dt.datetime) -> dict[int, list[tuple[dt.datetime, dict[str, Any]]]]:
    """Return, per resource id, the changes to some attributes' values since a time, newest first.

    Each entry is (logged at, {value key "attribute|locale|channel": the value before the change}),
    which is what walking back from the current values needs (a price's history, say).
    """
    ids = list(ids)
    prefixes = tuple(f"{code}|" for code in attributes)
    history: dict[int, list[tuple[dt.datetime, dict[str, Any]]]] = {}
    if not ids or not prefixes:
        return history
    rows = db.session.execute(
        select(Version.resource_id, Version.logged_at, Version.changes)
        .where(Version.resource_type == resource_type, Version.resource_id.in_(ids), Version.logged_at >= since)
        .order_by(Version.resource_id, Version.version.desc(), Version.id.desc())
    )
    for resource_id, logged_at, changes in rows:
        olds = {key: change.get("old") for key, change in (changes or {}).items() if key.startswith(prefixes)}
        if olds:
            history.setdefault(resource_id, []).append((logged_at, olds))
    return history
