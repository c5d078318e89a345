"""Schedules: cron expressions that start jobs, fired once per due time however many schedulers run."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import select, update

from pim import db
from pim.actor import Actor, Source
from pim.errors import Conflict, ErrorCode, Invalid, NotFound
from pim.jobs import services
from pim.jobs.models import Job, Schedule

logger = logging.getLogger(__name__)

SCHEDULER = Actor(name="scheduler", source=Source.SYSTEM)

MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# (name, lowest, highest, names of the values from `lowest` on)
FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, MONTH_NAMES),
    ("day of week", 0, 7, WEEKDAY_NAMES),
)
# Long enough to find the next 29 February, even across a year like 2100 that skips it.
HORIZON_DAYS = 366 * 9


@dataclass(frozen=True)
class CronExpression:
    """A parsed five-field cron expression: the allowed values of each field.

    As in cron, when both day fields are restricted a day matches if either does
    ("0 6 1 * mon" runs on the 1st and on every Monday).
    """

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    is_day_restricted: bool
    is_weekday_restricted: bool

    def matches_day(self, day: dt.date) -> bool:
        """Tell whether the expression runs at some time of a calendar day."""
        if day.month not in self.months:
            return False
        in_days = day.day in self.days
        in_weekdays = day.isoweekday() % 7 in self.weekdays
        if self.is_day_restricted and self.is_weekday_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays


def _bad(expression: str, message: str) -> Invalid:
    return Invalid.one("cron", f"{message} in cron expression {expression!r}", ErrorCode.INVALID_FORMAT)


def _field_value(token: str, field: str, low: int, high: int, names: tuple[str, ...], expression: str) -> int:
    if token.isdigit():
        value = int(token)
    elif token.lower() in names:
        value = names.index(token.lower()) + low
    else:
        known = f" or a name ({', '.join(names)})" if names else ""
        raise _bad(expression, f"The {field} field has {token!r}, which is not a number{known}")
    if not low <= value <= high:
        raise _bad(expression, f"The {field} field has {value}, outside {low}-{high}")
    return value


def _parse_field(text: str, field: str, low: int, high: int, names: tuple[str, ...], expression: str) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        base, has_step, step_text = item.partition("/")
        step = 1
        if has_step:
            if not step_text.isdigit() or int(step_text) == 0:
                raise _bad(expression, f"The {field} field has step {step_text!r} in {item!r}; a step is a whole number above 0")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start = _field_value(first, field, low, high, names, expression)
            end = _field_value(last, field, low, high, names, expression)
            if start > end:
                raise _bad(expression, f"The {field} field has the range {base!r}, which runs backwards")
        elif base:
            start = _field_value(base, field, low, high, names, expression)
            # "5/15" means from 5 to the end in steps of 15, as in cron
            end = high if has_step else start
        else:
            raise _bad(expression, f"The {field} field has an empty item in {text!r}")
        values.update(range(start, end + 1, step))
    return values


def parse_cron(expression: str) -> CronExpression:
    """Parse a five-field cron expression (minute hour day-of-month month day-of-week) or a macro like @daily.

    :raises Invalid: naming the field that is wrong and why.
    """
    text = " ".join(str(expression).split())
    fields = MACROS.get(text.lower(), text).split()
    if len(fields) != 5:
        raise _bad(
            text,
            f"A cron expression has 5 fields (minute hour day-of-month month day-of-week), not {len(fields)}",
        )
    parsed = [_parse_field(value, *spec, text) for value, spec in zip(fields, FIELDS, strict=True)]
    minutes, hours, days, months, weekdays = parsed
    cron = CronExpression(
        text=text,
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=frozenset(days),
        months=frozenset(months),
        weekdays=frozenset(day % 7 for day in weekdays),
        is_day_restricted=not fields[2].startswith("*"),
        is_weekday_restricted=not fields[4].startswith("*"),
    )
    if next_due(cron, dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) is None:
        raise _bad(text, "The day of month and month never meet (such as 31 February), so it never runs")
    return cron


def _zone(timezone: str | None) -> ZoneInfo:
    name = timezone or current_app.config.get("SCHEDULE_TIMEZONE") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid.one("timezone", f"Unknown time zone {name!r}", ErrorCode.UNKNOWN) from None


def _local_times(cron: CronExpression, day: dt.date, *, reverse: bool) -> Iterator[dt.datetime]:
    hours = reversed(cron.hours) if reverse else cron.hours
    for hour in hours:
        minutes = reversed(cron.minutes) if reverse else cron.minutes
        for minute in minutes:
            yield dt.datetime.combine(day, dt.time(hour, minute))


def next_due(expression: str | CronExpression, after: dt.datetime, *, timezone: str | None = "UTC") -> dt.datetime | None:
    """Return the first due time strictly after a moment, in UTC (None if it never comes)."""
    cron = expression if isinstance(expression, CronExpression) else parse_cron(expression)
    zone = _zone(timezone)
    after = services.as_utc(after)
    start = after.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    day = start.date()
    for _ in range(HORIZON_DAYS):
        if cron.matches_day(day):
            for local in _local_times(cron, day, reverse=False):
                if local < start:
                    continue
                # a wall time skipped by a DST change still runs, an hour off; a repeated one runs once
                due = local.replace(tzinfo=zone).astimezone(dt.UTC)
                if due > after:
                    return due
        day += dt.timedelta(days=1)
    return None


def latest_due(expression: str | CronExpression, now: dt.datetime, *, timezone: str | None = "UTC") -> dt.datetime | None:
    """Return the latest due time at or before a moment, in UTC (None if there is none in years)."""
    cron = expression if isinstance(expression, CronExpression) else parse_cron(expression)
    zone = _zone(timezone)
    now = services.as_utc(now)
    end = now.astimezone(zone).replace(tzinfo=None)
    day = end.date()
    for _ in range(HORIZON_DAYS):
        if cron.matches_day(day):
            for local in _local_times(cron, day, reverse=True):
                if local > end:
                    continue
                due = local.replace(tzinfo=zone).astimezone(dt.UTC)
                if due <= now:
                    return due
        day -= dt.timedelta(days=1)
    return None


# --- stored schedules ---------------------------------------------------------------------


def find_schedule(key: str) -> Schedule | None:
    """Return the schedule with a key, or None."""
    return db.session.scalar(select(Schedule).where(Schedule.key == key))


def get_schedule(key: str) -> Schedule:
    """Return the schedule with a key.

    :raises NotFound: when there is none.
    """
    schedule = find_schedule(key)
    if schedule is None:
        raise NotFound(f"Schedule {key!r} does not exist")
    return schedule


def list_schedules() -> list[Schedule]:
    """Return every schedule, by key."""
    return list(db.session.scalars(select(Schedule).order_by(Schedule.key)))


def save_schedule(
    key: str,
    cron: str,
    job_type: str,
    params: dict[str, Any] | None = None,
    lock_key: str | None = None,
    is_enabled: bool = True,
    *,
    now: dt.datetime | None = None,
) -> Schedule:
    """Create or replace the schedule with a key; it first fires at its next due time after `now`."""
    key = (key or "").strip()
    if not key or len(key) > 200:
        raise Invalid.one("key", f"A schedule key has 1 to 200 characters, got {key!r}", ErrorCode.INVALID_FORMAT)
    parsed = parse_cron(cron)
    services.get_handler(job_type)
    params = services.check_params(params)
    if lock_key is not None and not 0 < len(lock_key) <= 200:
        raise Invalid.one("lock_key", "A lock key has 1 to 200 characters", ErrorCode.INVALID_FORMAT)
    moment = services.as_utc(now or db.utcnow())
    with db.transaction() as current:
        schedule = find_schedule(key)
        if schedule is None:
            schedule = Schedule(key=key, created_at=moment)
            current.add(schedule)
        if schedule.cron != parsed.text or schedule.last_due_at is None or not schedule.is_enabled:
            # due times that passed before the schedule existed (or while it was off) do not fire
            schedule.last_due_at = latest_due(parsed, moment, timezone=None)
        schedule.cron = parsed.text
        schedule.job_type = job_type
        schedule.params = params
        schedule.lock_key = lock_key
        schedule.is_enabled = is_enabled
        schedule.updated_at = moment
    return schedule


def delete_schedule(key: str) -> None:
    """Delete the schedule with a key.

    :raises NotFound: when there is none.
    """
    with db.transaction() as current:
        current.delete(get_schedule(key))


@dataclass(frozen=True)
class ScheduleRun:
    """What firing one schedule did: the job it started, or why it started none."""

    key: str
    due_at: dt.datetime
    job: Job | None
    skipped: str | None = None


def fire_due_schedules(now: dt.datetime | None = None) -> list[ScheduleRun]:
    """Start the job of every enabled schedule that fell due since it last fired, once per due time.

    A schedule missed for several due times (no scheduler was running) fires once, for the
    latest. Several schedulers may call this at the same time: each due time is claimed with
    a compare-and-set on `last_due_at`, and only the winner enqueues.
    """
    moment = services.as_utc(now or db.utcnow())
    services.end_read()
    schedules = list(db.session.scalars(select(Schedule).where(Schedule.is_enabled.is_(True)).order_by(Schedule.id)))
    services.end_read()
    runs: list[ScheduleRun] = []
    for schedule in schedules:
        try:
            due = latest_due(schedule.cron, moment, timezone=None)
        except Invalid as exc:
            logger.error("Schedule %s has a bad cron expression: %s", schedule.key, exc)
            continue
        previous = schedule.last_due_at
        if due is None or (previous is not None and due <= services.as_utc(previous)):
            continue
        run = _claim_and_enqueue(schedule, previous, due)
        if run is not None:
            runs.append(run)
    return runs


def _claim_and_enqueue(schedule: Schedule, previous: dt.datetime | None, due: dt.datetime) -> ScheduleRun | None:
    with db.transaction() as current:
        unchanged = Schedule.last_due_at.is_(None) if previous is None else Schedule.last_due_at == previous
        claimed = services.changed_rows(
            current, update(Schedule).where(Schedule.id == schedule.id, unchanged).values(last_due_at=due).execution_options(synchronize_session=False)
        )
        if claimed != 1:
            # another scheduler fired this due time first
            return None
        try:
            # the job is sent to the queue when this transaction commits
            job = services.enqueue(schedule.job_type, schedule.params, actor=SCHEDULER, lock_key=schedule.lock_key)
        except Conflict as exc:
            logger.warning("Schedule %s skipped its run due at %s: %s", schedule.key, due.isoformat(), exc)
            return ScheduleRun(schedule.key, due, None, skipped=str(exc))
        except Invalid as exc:
            logger.error("Schedule %s could not start its job due at %s: %s", schedule.key, due.isoformat(), exc)
            return ScheduleRun(schedule.key, due, None, skipped=str(exc))
        services.add_log(job.id, f"Started by schedule {schedule.key} ({schedule.cron}), due at {due.isoformat()}")
    logger.info("Schedule %s started job %s for its run due at %s", schedule.key, job.id, due.isoformat())
    return ScheduleRun(schedule.key, due, job)
