"""Schedules: cron expressions, due times, and firing each due time once however many schedulers run."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from pim import db
from pim.errors import Invalid, NotFound
from pim.jobs import schedule, services
from pim.jobs.models import Job
from pim.jobs.schedule import fire_due_schedules, latest_due, next_due, parse_cron, save_schedule
from tests.pim.jobs import sample_jobs


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


@pytest.fixture
def jobs_app(app, db_session, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The shared application with the sample job types, on a rolled-back session."""
    monkeypatch.setitem(app.config, "JOB_MODULES", [sample_jobs.MODULE])
    yield app


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("61 * * * *", "minute field has 61, outside 0-59"),
        ("0 24 * * *", "hour field has 24, outside 0-23"),
        ("0 6 0 * *", "day of month field has 0, outside 1-31"),
        ("0 6 * 13 *", "month field has 13, outside 1-12"),
        ("0 6 * * 8", "day of week field has 8, outside 0-7"),
        ("0 6 * smarch *", "month field has 'smarch', which is not a number or a name"),
        ("0 six * * *", "hour field has 'six', which is not a number"),
        ("*/0 * * * *", "minute field has step '0'"),
        ("30-10 * * * *", "minute field has the range '30-10', which runs backwards"),
        ("0,,30 * * * *", "minute field has an empty item"),
        ("0 6 * *", "5 fields"),
        ("0 6 * * * 2026", "5 fields"),
        ("", "5 fields"),
        ("0 6 31 2 *", "never runs"),
    ],
)
def test_bad_cron_expression_is_refused_naming_the_field(expression, words):
    with pytest.raises(Invalid) as error:
        parse_cron(expression)

    assert error.value.errors[0].field == "cron"
    assert words in error.value.errors[0].message
    assert repr(expression) in error.value.errors[0].message


@pytest.mark.parametrize(
    ("expression", "after", "due"),
    [
        ("*/15 * * * *", utc(2026, 3, 6, 10, 7, 30), utc(2026, 3, 6, 10, 15)),
        ("*/15 * * * *", utc(2026, 3, 6, 10, 15), utc(2026, 3, 6, 10, 30)),
        # weekdays at 06:30: Friday after the run goes to Monday
        ("30 6 * * 1-5", utc(2026, 3, 6, 7, 0), utc(2026, 3, 9, 6, 30)),
        ("30 6 * * mon-fri", utc(2026, 3, 6, 7, 0), utc(2026, 3, 9, 6, 30)),
        ("0 9 1 jan,jul *", utc(2026, 3, 6), utc(2026, 7, 1, 9, 0)),
        # both day fields given: the 1st of the month or a Sunday, as cron does it
        ("0 0 1 * sun", utc(2026, 3, 2), utc(2026, 3, 8)),
        ("0 0 * * 7", utc(2026, 3, 2), utc(2026, 3, 8)),
        ("@daily", utc(2026, 3, 6, 23, 59, 59), utc(2026, 3, 7)),
        ("0 0 29 2 *", utc(2026, 3, 1), utc(2028, 2, 29)),
    ],
)
def test_next_due_finds_the_first_due_time_after_a_moment(expression, after, due):
    assert next_due(expression, after) == due


def test_next_due_reads_the_expression_in_the_schedule_time_zone():
    # 06:00 in Moscow (UTC+3) is 03:00 UTC
    assert next_due("0 6 * * *", utc(2026, 3, 6, 4, 0), timezone="Europe/Moscow") == utc(2026, 3, 7, 3, 0)


def test_latest_due_finds_the_last_due_time_at_or_before_a_moment():
    assert latest_due("0 6 * * 1-5", utc(2026, 3, 9, 5, 59)) == utc(2026, 3, 6, 6, 0)
    assert latest_due("0 6 * * 1-5", utc(2026, 3, 9, 6, 0)) == utc(2026, 3, 9, 6, 0)


def test_save_schedule_refuses_a_bad_cron_expression(jobs_app):
    with pytest.raises(Invalid, match="minute field has 75"):
        save_schedule("export:yandex_market", "75 6 * * *", "sample_export")


def test_save_schedule_refuses_an_unknown_job_type(jobs_app):
    with pytest.raises(Invalid, match="Unknown job type 'export_to_mars'"):
        save_schedule("export:mars", "0 6 * * *", "export_to_mars")


def test_schedule_fires_once_per_due_time(jobs_app):
    save_schedule("export:yandex_market", "0 * * * *", "sample_export", {"channel": "yandex_market"}, now=utc(2026, 3, 6, 9, 30))

    assert fire_due_schedules(utc(2026, 3, 6, 9, 59)) == []
    runs = fire_due_schedules(utc(2026, 3, 6, 10, 0, 20))
    assert fire_due_schedules(utc(2026, 3, 6, 10, 30)) == []
    later = fire_due_schedules(utc(2026, 3, 6, 11, 0, 5))

    assert [(run.key, run.due_at) for run in runs] == [("export:yandex_market", utc(2026, 3, 6, 10, 0))]
    assert runs[0].job.params == {"channel": "yandex_market"}
    assert runs[0].job.actor_name == "scheduler"
    assert [run.due_at for run in later] == [utc(2026, 3, 6, 11, 0)]
    assert "Started by schedule export:yandex_market" in services.job_log(runs[0].job.id)[0].message


def test_schedule_missed_for_several_due_times_fires_once_for_the_latest(jobs_app):
    save_schedule("export:google_merchant", "*/10 * * * *", "sample_export", now=utc(2026, 3, 6, 9, 0))

    runs = fire_due_schedules(utc(2026, 3, 6, 10, 5))

    assert [run.due_at for run in runs] == [utc(2026, 3, 6, 10, 0)]


def test_disabled_schedule_does_not_fire(jobs_app):
    save_schedule("export:ozon", "* * * * *", "sample_export", is_enabled=False, now=utc(2026, 3, 6, 9, 0))

    assert fire_due_schedules(utc(2026, 3, 6, 10, 0)) == []


def test_schedule_skips_a_due_time_while_its_lock_key_is_held(jobs_app, actor):
    running = services.enqueue("sample_export", {}, actor=actor, lock_key="export:wildberries")
    save_schedule("export:wildberries", "0 6 * * *", "sample_export", lock_key="export:wildberries", now=utc(2026, 3, 5, 12, 0))

    runs = fire_due_schedules(utc(2026, 3, 6, 6, 0))

    assert runs[0].job is None
    assert f"Job {running.id} (sample_export) is already queued" in runs[0].skipped
    # the skipped due time is not tried again
    assert fire_due_schedules(utc(2026, 3, 6, 6, 1)) == []


def test_new_schedule_does_not_fire_for_due_times_before_it_existed(jobs_app):
    save_schedule("export:store_pos", "0 6 * * *", "sample_export", now=utc(2026, 3, 6, 12, 0))

    assert fire_due_schedules(utc(2026, 3, 6, 12, 0, 30)) == []
    assert len(fire_due_schedules(utc(2026, 3, 7, 6, 0))) == 1


def test_delete_schedule_removes_it(jobs_app):
    save_schedule("export:print_catalog", "0 6 * * *", "sample_export")

    schedule.delete_schedule("export:print_catalog")

    with pytest.raises(NotFound):
        schedule.get_schedule("export:print_catalog")


def test_two_schedulers_firing_the_same_due_times_start_one_job_each(committed_app):
    committed_app.config["JOB_MODULES"] = [sample_jobs.MODULE]
    with committed_app.app_context():
        for channel in ("yandex_market", "google_merchant", "ozon", "wildberries", "store_pos"):
            save_schedule(f"export:{channel}", "*/5 * * * *", "sample_export", {"channel": channel}, now=utc(2026, 3, 6, 9, 0))
        db.session.remove()
    rounds = [utc(2026, 3, 6, 9, 5, 10), utc(2026, 3, 6, 9, 10, 2), utc(2026, 3, 6, 9, 15, 40)]
    fired: list[int] = []
    failures: list[BaseException] = []

    def scheduler(barrier: threading.Barrier, now: dt.datetime) -> None:
        with committed_app.app_context():
            try:
                barrier.wait(timeout=10)
                fired.extend(run.job.id for run in fire_due_schedules(now) if run.job is not None)
            except BaseException as exc:  # reported by the test thread below
                failures.append(exc)
            finally:
                db.session.remove()

    for now in rounds:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=scheduler, args=(barrier, now)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert failures == []
    assert len(fired) == len(set(fired)) == 15
    with committed_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == 15
        # each was sent to the queue once its transaction committed
        assert db.session.scalar(select(func.count()).select_from(Job).where(Job.is_enqueued.is_(True))) == 15
        db.session.remove()
