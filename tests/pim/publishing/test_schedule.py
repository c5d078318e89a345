"""Scheduled exports: a profile's cron expression queues its export once per due time, and a real worker publishes it."""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from lxml import etree
from sqlalchemy import update

from pim import db
from pim.actor import Actor
from pim.app import create_app
from pim.catalog import media
from pim.catalog.services import update_product
from pim.demo import load_demo
from pim.jobs import services
from pim.jobs.models import Job, JobStatus, Schedule
from pim.jobs.queue import WorkerHandle, close_queue, start_embedded_worker
from pim.jobs.schedule import ScheduleRun, fire_due_schedules
from pim.publishing.export import get_profile, latest_run, run_export
from pim.publishing.services import apply_definition, delete_profile, feed_address, install_preset
from tests.conftest import drop_database, make_database
from tests.pim.jobs.sample_jobs import wait_until
from tests.pim.publishing.test_cli import Instance, ok, pim

EVERY_MINUTE = "* * * * *"
NEW_PRICE = "7777.00"


pytestmark = pytest.mark.usefixtures("no_threads_left_behind")


@pytest.fixture(scope="module")
def instance(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    """An instance folder and a database of its own, where commits are real."""
    folder = tmp_path_factory.mktemp(f"schedule-{backend}")
    created = Instance(folder, make_database(backend, folder))
    yield created
    drop_database(backend, created.url)


@pytest.fixture(scope="module")
def shop(instance: Instance) -> Iterator[Any]:
    """The application on the instance, holding 100 demo products, inside an application context."""
    bind, media_root = db.session.session_factory.kw.get("bind"), media.media_root()
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": instance.url,
            "INSTANCE_PATH": str(instance.folder),
            "QUEUE_URL": "",
            "QUEUE_POLL_SECONDS": 0.1,
            "WORKER_HEARTBEAT_SECONDS": 0.5,
            "WORKER_SHUTDOWN_TIMEOUT": 10,
        }
    )
    try:
        with app.app_context():
            assert not load_demo(products=100).rejected
            db.session.remove()
            yield app
    finally:
        close_queue(app)
        db.session.remove()
        app.extensions["pim_engine"].dispose()
        db.session.configure(bind=bind)
        media.configure(media_root)


def export_jobs(code: str) -> list[Job]:
    """Return the export jobs of one profile, newest first."""
    return [job for job in services.list_jobs(type="export", limit=500) if job.params.get("profile") == code]


def ended(job_id: int) -> Job:
    return wait_until(lambda: (job := services.get_job(job_id)).status.is_final and job, timeout=60, what=f"job {job_id} to end")


def runs_of(runs: list[ScheduleRun], code: str) -> list[ScheduleRun]:
    return [run for run in runs if run.key == f"export:{code}"]


def a_minute_from_now() -> dt.datetime:
    return db.utcnow() + dt.timedelta(minutes=1)


@pytest.fixture
def every_minute(shop: Any, actor: Actor) -> Iterator[str]:
    """A Yandex.Market profile published once, then given the schedule `* * * * *`; deleted afterwards."""
    code = f"yandex_market_{uuid.uuid4().hex[:8]}"
    install_preset("yandex_market", code=code, actor=actor)
    definition = copy.deepcopy(get_profile(code).definition)
    definition["schedule"] = EVERY_MINUTE
    apply_definition(definition, actor=actor)
    run_export(code)
    yield code
    for job in export_jobs(code):
        ended(job.id)
    delete_profile(code)


@pytest.fixture
def worker(shop: Any) -> Iterator[WorkerHandle]:
    """Two worker threads consuming the instance's SQLite queue; no scheduler, so only the test fires schedules."""
    handle = start_embedded_worker(shop, workers=2, scheduler=False)
    yield handle
    handle.stop(timeout=10)


def fetch_feed(shop: Any, code: str) -> Any:
    """Fetch a profile's feed at its public address, as a marketplace does."""
    services.end_read()
    return shop.test_client().get(urlsplit(feed_address(get_profile(code))).path)


def prices(body: bytes) -> dict[str, str]:
    """Return the price of each offer of a Yandex.Market feed, by offer id (our SKU)."""
    return {offer.get("id"): offer.findtext("price") for offer in etree.fromstring(body).iter("offer")}


def test_due_schedule_queues_one_export_that_the_worker_publishes(shop, every_minute, worker, actor):
    before = fetch_feed(shop, every_minute)
    first_run = latest_run(get_profile(every_minute)).id
    sku = next(iter(prices(before.data)))
    update_product(sku, values={"price": [{"locale": None, "scope": "marketplace", "data": [{"amount": NEW_PRICE, "currency": "RUB"}]}]}, actor=actor)

    fired = runs_of(fire_due_schedules(a_minute_from_now()), every_minute)

    assert len(fired) == 1 and fired[0].job is not None
    done = ended(fired[0].job.id)
    assert (done.status, done.actor_name) == (JobStatus.SUCCEEDED, "scheduler")
    assert [job.id for job in export_jobs(every_minute)] == [done.id]
    services.end_read()
    assert latest_run(get_profile(every_minute)).id > first_run
    after = fetch_feed(shop, every_minute)
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert prices(after.data)[sku] == "7777"


def test_firing_twice_for_the_same_due_time_queues_one_job(every_minute, worker):
    later = a_minute_from_now()

    first = runs_of(fire_due_schedules(later), every_minute)
    second = runs_of(fire_due_schedules(later), every_minute)

    assert len(first) == 1 and first[0].job is not None
    assert second == []
    assert ended(first[0].job.id).status == JobStatus.SUCCEEDED
    assert len(export_jobs(every_minute)) == 1


def test_two_schedulers_firing_at_the_same_moment_queue_one_job(shop, every_minute, worker):
    later = a_minute_from_now()
    start = threading.Barrier(2)
    started: list[int] = []
    errors: list[BaseException] = []

    def scheduler() -> None:
        with shop.app_context():
            try:
                start.wait(timeout=10)
                started.extend(run.job.id for run in runs_of(fire_due_schedules(later), every_minute) if run.job is not None)
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=scheduler, name=f"scheduler-{n}") for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(started) == 1
    assert ended(started[0]).status == JobStatus.SUCCEEDED
    assert len(export_jobs(every_minute)) == 1


def test_export_due_command_queues_the_due_exports_for_the_worker(instance, every_minute, worker):
    # as if no scheduler had run for the last three minutes
    with db.transaction():
        db.session.execute(update(Schedule).where(Schedule.key == f"export:{every_minute}").values(last_due_at=db.utcnow() - dt.timedelta(minutes=3)))

    result = ok(pim(instance, "export", "--due", "--json"))

    assert json.loads(result.stdout) == {"queued": [every_minute]}
    queued = wait_until(lambda: export_jobs(every_minute), what="the export job")
    assert len(queued) == 1
    done = ended(queued[0].id)
    assert (done.status, done.actor_name) == (JobStatus.SUCCEEDED, "scheduler")
    assert services.report_file_path(done).exists()
