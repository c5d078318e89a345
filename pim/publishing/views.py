"""The public feed addresses (`/feeds/<token>/<file>`) that marketplaces fetch."""

from __future__ import annotations

from flask import Blueprint, Response, send_file

from pim.errors import NotFound
from pim.publishing.export import get_profile, latest_run, published_file

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


@bp.get("/exports/<code>/report.csv")
def report(code: str) -> Response:
    """Download the skipped-products report of a profile's last run."""
    run = latest_run(get_profile(code))
    if run is None or not run.report_path:
        raise NotFound(f"Export profile {code!r} has no report yet")
    return send_file(run.report_path, mimetype="text/csv", as_attachment=True, download_name=f"{code}-report.csv", max_age=0)
