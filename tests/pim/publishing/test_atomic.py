"""Publishing is atomic: an export killed half-way leaves the published feed as it was.

`pim export` runs as a real process on a catalogue big enough to take a few seconds; it is
killed with SIGKILL while it writes into its temporary folder, as a crash or an out-of-memory
kill would end it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from pim import db
from pim.app import create_app
from pim.catalog import media
from pim.jobs import services
from pim.jobs.models import JobStatus
from pim.jobs.queue import close_queue, start_embedded_worker
from pim.publishing.models import ExportRun
from tests.conftest import drop_database, make_database
from tests.pim.publishing.test_cli import Instance, ok, pim, pim_command

PROFILE = "yandex_market"
FEED = "yandex_market.xml"
TEMP_PREFIX = ".tmp-"


def temporary_entries(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir() if entry.name.startswith(TEMP_PREFIX))


@dataclass(frozen=True)
class Published:
    """The instance, its feed's address path and the bytes of the feed its first complete export published."""

    instance: Instance
    path: str
    body: bytes
    run: int


@pytest.fixture(scope="module")
def published(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    """An instance of 3,000 demo products whose Yandex.Market feed was published once, completely."""
    folder = tmp_path_factory.mktemp(f"atomic-{backend}")
    instance = Instance(folder, make_database(backend, folder))
    ok(pim(instance, "demo", "--products", "3000", "--json"))
    ok(pim(instance, "channel", "install", PROFILE))
    outcome = json.loads(ok(pim(instance, "export", PROFILE, "--json")).stdout)
    body = (Path(outcome["result"]["report"]).parent / FEED).read_bytes()
    yield Published(instance, urlsplit(outcome["feed"]).path, body, outcome["result"]["run"])
    drop_database(backend, instance.url)


@pytest.fixture(scope="module")
def web(published: Published) -> Iterator[Any]:
    """The application on the same instance and database, as `pim serve` would run it, in an application context."""
    bind, media_root = db.session.session_factory.kw.get("bind"), media.media_root()
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": published.instance.url,
            "INSTANCE_PATH": str(published.instance.folder),
            "QUEUE_POLL_SECONDS": 0.1,
            "WORKER_HEARTBEAT_SECONDS": 0.5,
        }
    )
    try:
        with app.app_context():
            yield app
    finally:
        close_queue(app)
        db.session.remove()
        app.extensions["pim_engine"].dispose()
        db.session.configure(bind=bind)
        media.configure(media_root)


@dataclass(frozen=True)
class Killed:
    """What a killed export left, seen right after the kill: its job and that job's status, the temporary
    entries of the profile folder, the successful runs, and what the feed address answered."""

    job: int
    status_after_kill: JobStatus
    leftovers: list[str]
    succeeded_runs: list[int]
    served_status: int
    served_body: bytes


def job_of_latest_export() -> int:
    return services.list_jobs(type="export", limit=1)[0].id


@pytest.fixture(scope="module")
def killed(published: Published, web: Any) -> Killed:
    """Start `pim export` again and SIGKILL it once it writes into its temporary folder."""
    folder = published.instance.feeds(PROFILE)
    process = subprocess.Popen(
        [*pim_command(), "export", PROFILE],
        cwd=published.instance.folder,
        env=published.instance.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not any(entry.is_dir() for entry in folder.iterdir() if entry.name.startswith(TEMP_PREFIX)):
            assert process.poll() is None, f"the export ended before it was killed: {process.stderr.read() if process.stderr else ''}"
            assert time.monotonic() < deadline, "the export never started writing"
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
    assert process.returncode == -signal.SIGKILL, "the export finished before the kill reached it"
    job = job_of_latest_export()
    served = web.test_client().get(published.path)
    return Killed(
        job=job,
        status_after_kill=services.get_job(job).status,
        leftovers=temporary_entries(folder),
        succeeded_runs=list(db.session.scalars(select(ExportRun.id).where(ExportRun.status == "succeeded"))),
        served_status=served.status_code,
        served_body=served.data,
    )


@pytest.fixture(scope="module")
def interrupted(web: Any, killed: Killed) -> JobStatus:
    """Start and stop a worker on the instance, as the next `pim serve` or `pim worker` does; return the killed job's status."""
    handle = start_embedded_worker(web, workers=1, scheduler=False)
    handle.stop(timeout=10)
    return services.get_job(killed.job).status


@pytest.fixture(scope="module")
def rerun(published: Published, interrupted: JobStatus) -> dict[str, Any]:
    """Export the profile again once the killed job is known to be interrupted."""
    return json.loads(ok(pim(published.instance, "export", PROFILE, "--json")).stdout)


def test_killed_export_leaves_its_temporary_folder_behind(killed):
    assert any(not name.endswith(".digests") for name in killed.leftovers), killed.leftovers


def test_feed_address_serves_the_previous_feed_byte_for_byte_after_a_killed_export(published, killed):
    assert killed.served_status == 200
    assert killed.served_body == published.body


def test_killed_export_publishes_no_new_run(published, killed):
    assert killed.succeeded_runs == [published.run]


def test_killed_export_job_stays_running_until_a_worker_starts(killed):
    assert killed.status_after_kill == JobStatus.RUNNING


def test_worker_start_marks_the_killed_export_job_interrupted(killed, interrupted):
    assert interrupted == JobStatus.INTERRUPTED
    assert "stopped while the job was running" in (services.get_job(killed.job).error or "")


def test_rerun_after_a_killed_export_publishes_and_removes_the_leftovers(published, web, rerun):
    assert rerun["status"] == "succeeded" and rerun["result"]["run"] > published.run
    assert temporary_entries(published.instance.feeds(PROFILE)) == []
    # the fixture's application context keeps one session: end its read so it sees the rerun
    db.session.remove()
    response = web.test_client().get(published.path)
    assert response.status_code == 200
    assert response.headers["ETag"].strip('"') == rerun["result"]["files"][0]["sha256"]


def test_killed_run_is_no_longer_recorded_as_running_after_the_rerun(web, killed, rerun):
    services.end_read()
    statuses = db.session.scalars(select(ExportRun.status).where(ExportRun.job_id == killed.job)).all()

    assert statuses and "running" not in statuses
