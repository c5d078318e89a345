"""The public feed addresses (`/feeds/<token>/<file>`) that marketplaces fetch."""

from __future__ import annotations

from flask import Blueprint, Response, send_file

from pim.publishing.export import published_file

bp = Blueprint("feeds", __name__)


@bp.get("/feeds/<token>/<name>")
def feed(token: str, name: str) -> Response:
    """Serve a file of a profile's latest published feed, with ETag and Last-Modified for 304 answers."""
    path, entry = published_file(token, name)
    response = send_file(
        path,
        mimetype=entry.get("media_type") or "application/octet-stream",
        conditional=True,
        etag=entry["sha256"],
        last_modified=entry.get("modified"),
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
