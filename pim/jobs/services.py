"""Jobs: the registry of job types, enqueueing, running, cancelling, and the bookkeeping of workers.

The job table is the truth; the queue only carries job ids to the workers. Every change of
a job's status is a compare-and-set on that status, so a job runs once however many
workers receive its id, and a lock key is a row in `job_lock` that the database keeps unique.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

from flask import Flask, current_app
from sqlalchemy import delete, event, insert, select, update
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from pim import db
from pim.actor import Actor, Source
from pim.errors import Conflict, ErrorCode, Invalid, NotFound, PimError
from pim.jobs.models import Job, JobLock, JobLog, JobStatus, Worker

logger = logging.getLogger(__name__)

Handler = Callable[["JobContext"], None]
ProgressCallback = Callable[[int, "int | None"], None]

LOG_LEVELS = ("debug", "info", "warning", "error")
MAX_MESSAGE = 10_000
MAX_WARNING = 2_000
FLUSH_SECONDS = 0.5
# Rows of workers not seen for this long are deleted when a worker starts.
FORGET_WORKERS_AFTER = dt.timedelta(days=1)

_job_types: dict[str, Handler] = {}
_loaded_modules: set[str] = set()
_modules_lock = threading.Lock()
# Jobs this process is running now: a worker keeps their heartbeat fresh and never takes them for dead.
_running_here: set[int] = set()
_running_lock = threading.Lock()

_PENDING_SENDS = "pim_jobs_to_send"
_IS_LISTENING = "pim_jobs_listening"


class Cancelled(Exception):
    """Raised by `JobContext.check_cancelled` when someone asked the job to stop."""


class JobLocked(Conflict):
    """A job holding the same lock key is queued or running."""

    def __init__(self, message: str, job_id: int):
        super().__init__(message)
        self.job_id = job_id


# --- small helpers ------------------------------------------------------------------------


def as_utc(moment: dt.datetime) -> dt.datetime:
    """Return a time as an aware UTC time; SQLite gives stored times back without their offset."""
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def end_read() -> None:
    """End a read transaction left open outside any `transaction()`, so the next query sees new commits.

    SQLite keeps showing a reader the snapshot its transaction started with; a job polled
    for progress would never move.
    """
    current = db.session()
    if current.info.get("pim_depth", 0) == 0 and current.in_transaction():
        current.commit()


def process_name() -> str:
    """Return the name of this process as workers and jobs record it: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def is_process_alive(pid: int) -> bool:
    """Tell whether a process of this host is still running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a killed child that nobody has reaped yet is a zombie: it runs nothing any more
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _is_dead_here(worker: str | None) -> bool:
    """Tell whether a worker name points at this host and at a process that is gone."""
    if not worker:
        return False
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if worker == process_name():
        # this very process (a restarted worker can get the pid of the dead one in a container)
        return False
    return not is_process_alive(int(pid))


def changed_rows(current: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE in a session and return how many rows it changed."""
    return cast(CursorResult[Any], current.execute(statement)).rowcount


def _config(name: str) -> Any:
    return current_app.config[name]


def _error_message(exc: BaseException) -> str:
    if isinstance(exc, PimError):
        return str(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- job types ----------------------------------------------------------------------------


def job_type(name: str) -> Callable[[Handler], Handler]:
    """Register a function as the handler of a job type: `@job_type("export")`."""

    def register(handler: Handler) -> Handler:
        existing = _job_types.get(name)
        if existing is not None and (existing.__module__, existing.__qualname__) != (handler.__module__, handler.__qualname__):
            raise ValueError(f"Job type {name!r} is already handled by {existing.__module__}.{existing.__qualname__}")
        _job_types[name] = handler
        return handler

    return register


# The application's own job types; JOB_MODULES adds more.
BUILTIN_JOB_MODULES = ("pim.publishing.jobs", "pim.catalog.jobs")


def job_modules(config: Any) -> list[str]:
    """Return the modules that register job types: ours, then JOB_MODULES (a list, or comma-separated)."""
    value = config.get("JOB_MODULES") or []
    if isinstance(value, str):
        value = value.split(",")
    extra = [name.strip() for name in value if name and name.strip()]
    return list(dict.fromkeys([*BUILTIN_JOB_MODULES, *extra]))


def load_job_modules() -> None:
    """Import the modules named by JOB_MODULES, so that their job types are registered."""
    for name in job_modules(current_app.config):
        if name in _loaded_modules:
            continue
        with _modules_lock:
            importlib.import_module(name)
            _loaded_modules.add(name)


def job_types() -> list[str]:
    """Return the names of the registered job types."""
    load_job_modules()
    return sorted(_job_types)


def get_handler(type_name: str) -> Handler:
    """Return the handler of a job type.

    :raises Invalid: when no module registered it.
    """
    load_job_modules()
    handler = _job_types.get(type_name)
    if handler is None:
        known = ", ".join(sorted(_job_types)) or "none"
        raise Invalid.one("type", f"Unknown job type {type_name!r} (known: {known})", ErrorCode.UNKNOWN)
    return handler


def check_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """Return a job's parameters after checking that they are a JSON object.

    :raises Invalid: when they cannot be stored as JSON.
    """
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise Invalid.one("params", f"Job parameters are a JSON object, got {type(params).__name__}", ErrorCode.INVALID_TYPE)
    try:
        return db.load_json(db.dump_json(params))
    except TypeError as exc:
        raise Invalid.one("params", f"Job parameters must be JSON: {exc}", ErrorCode.INVALID_TYPE) from None


# --- the context a handler works with -----------------------------------------------------


class JobContext:
    """What a job handler gets: its id, parameters and actor, and ways to report how it goes.

    Progress, counts, warnings and log lines are kept in memory and written at most every
    half second (and when the job ends), so a handler may report for every product.
    """

    def __init__(self, job: Job, *, instance_path: str, warnings_kept: int, on_progress: ProgressCallback | None = None):
        self.job_id = job.id
        self.type = job.type
        self.params: dict[str, Any] = dict(job.params or {})
        self.actor = Actor(name=job.actor_name, source=Source(job.actor_source), job_id=job.id)
        self._folder = Path(instance_path) / "jobs" / str(job.id)
        self._warnings_kept = warnings_kept
        self._on_progress = on_progress
        self._done = job.progress_done
        self._total = job.progress_total
        self._counts: dict[str, int] = dict(job.counts or {})
        self._warnings: list[str] = list(job.warnings or [])
        self._warning_count = job.warning_count
        self._logs: list[dict[str, Any]] = []
        self._report_path: str | None = None
        self._is_warnings_changed = False
        self._last_flush = time.monotonic()

    @property
    def folder(self) -> Path:
        """Return the job's own folder in the instance (created on first use)."""
        self._folder.mkdir(parents=True, exist_ok=True)
        return self._folder

    def progress(self, done: int, total: int | None = None) -> None:
        """Record how many items are done (and of how many); written at most every half second."""
        self._done = int(done)
        if total is not None:
            self._total = int(total)
        if self._on_progress is not None:
            self._on_progress(self._done, self._total)
        is_complete = self._total is not None and self._done >= self._total
        if is_complete or time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush()

    def count(self, name: str, n: int = 1) -> None:
        """Add to a named counter of the job, such as "exported" or "skipped"."""
        self._counts[name] = self._counts.get(name, 0) + int(n)

    def warn(self, message: str) -> None:
        """Record a warning; past the ones kept, warnings are only counted."""
        self._warning_count += 1
        if len(self._warnings) < self._warnings_kept:
            self._warnings.append(str(message)[:MAX_WARNING])
            self._is_warnings_changed = True

    def log(self, message: str, level: str = "info", *, is_detail: bool = False) -> None:
        """Add a line to the job's log; a detail (a traceback) goes to the application log at DEBUG only."""
        if level not in LOG_LEVELS:
            raise ValueError(f"Log level {level!r} is not one of {', '.join(LOG_LEVELS)}")
        self._logs.append({"job_id": self.job_id, "logged_at": db.utcnow(), "level": level, "message": str(message)[:MAX_MESSAGE]})
        logger.log(logging.DEBUG if is_detail else logging.getLevelName(level.upper()), "Job %s: %s", self.job_id, message)

    def report_file(self, name: str) -> Path:
        """Return the path of the job's report file (in its folder), to be downloaded later."""
        if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name or len(name) > 200:
            raise ValueError(f"A report file name is a plain file name, got {name!r}")
        path = self.folder / name
        self._report_path = f"jobs/{self.job_id}/{name}"
        return path

    def set_report(self, path: Path | str) -> None:
        """Record a file written elsewhere in the instance folder (a published feed's report) as the job's report."""
        path = Path(path)
        instance = Path(current_app.instance_path)
        self._report_path = str(path.relative_to(instance)) if path.is_relative_to(instance) else str(path)

    def check_cancelled(self) -> None:
        """Stop the job if someone asked it to: call this between batches.

        :raises Cancelled: when a cancel was requested.
        """
        query = select(Job.is_cancel_requested).where(Job.id == self.job_id)
        engine = _side_engine()
        if engine is None:
            is_requested = db.session.scalar(query)
        else:
            with engine.connect() as connection:
                is_requested = connection.scalar(query)
        if is_requested:
            raise Cancelled(f"Job {self.job_id} was cancelled")

    def flush(self) -> None:
        """Write progress, counts, warnings, log lines and the heartbeat to the job now."""
        values: dict[str, Any] = {
            "progress_done": self._done,
            "progress_total": self._total,
            "counts": dict(self._counts),
            "warning_count": self._warning_count,
            "heartbeat_at": db.utcnow(),
        }
        if self._is_warnings_changed:
            values["warnings"] = list(self._warnings)
        if self._report_path is not None:
            values["report_path"] = self._report_path
        logs, self._logs = self._logs, []
        statement = update(Job).where(Job.id == self.job_id).values(**values)
        engine = _side_engine()
        if engine is None:
            with db.transaction() as current:
                current.execute(statement.execution_options(synchronize_session=False))
                if logs:
                    current.execute(insert(JobLog), logs)
        else:
            with engine.connect() as connection:
                with connection.execution_options(pim_write=True).begin():
                    connection.execute(statement)
                    if logs:
                        connection.execute(insert(JobLog), logs)
        self._is_warnings_changed = False
        self._last_flush = time.monotonic()


def _side_engine() -> Engine | None:
    """Return the engine on which a job's own rows are written beside its handler, or None to use the session.

    A commit of the handler's session would end what the handler has open (a cursor
    streaming products with yield_per), so progress goes through a connection of its own.
    Inside a transaction of the handler the session is used instead: on SQLite that
    transaction holds the only write lock. A session bound to a connection (a test's outer
    transaction) is used as it is.
    """
    current = db.session()
    bind = current.get_bind()
    if not isinstance(bind, Engine) or current.info.get("pim_depth", 0):
        return None
    return bind


# --- enqueueing ---------------------------------------------------------------------------


def _lock_holder(lock_key: str) -> Job | None:
    return db.session.scalar(select(Job).join(JobLock, JobLock.job_id == Job.id).where(JobLock.key == lock_key))


def _locked(holder: Job | None, lock_key: str) -> Conflict:
    if holder is None:
        return Conflict(f"Another job took the lock {lock_key!r} at the same moment; try again")
    return JobLocked(
        f"Job {holder.id} ({holder.type}) is already {holder.status.value} with lock {lock_key!r}; wait for it to end or cancel it",
        holder.id,
    )


def enqueue(type: str, params: dict[str, Any] | None = None, *, actor: Actor, lock_key: str | None = None, rerun_of: int | None = None) -> Job:
    """Create a queued job and send it to the workers (after the surrounding transaction commits).

    If the queue cannot be reached, the job stays queued and the next sweep sends it.

    :raises Invalid: for an unknown job type or parameters that are not JSON.
    :raises JobLocked: when a queued or running job holds the same lock key.
    """
    get_handler(type)
    params = check_params(params)
    if lock_key is not None and not 0 < len(lock_key) <= 200:
        raise Invalid.one("lock_key", "A lock key has 1 to 200 characters", ErrorCode.INVALID_FORMAT)
    try:
        with db.transaction() as current:
            if lock_key is not None:
                holder = _lock_holder(lock_key)
                if holder is not None:
                    raise _locked(holder, lock_key)
            job = Job(
                type=type,
                params=params,
                lock_key=lock_key,
                actor_name=actor.name,
                actor_source=str(actor.source),
                status=JobStatus.QUEUED,
                rerun_of=rerun_of,
                progress_done=0,
                counts={},
                warnings=[],
                warning_count=0,
                is_cancel_requested=False,
                is_enqueued=False,
            )
            current.add(job)
            current.flush()
            if lock_key is not None:
                # the primary key of job_lock refuses a second holder even when two enqueue at once
                current.add(JobLock(key=lock_key, job_id=job.id))
                current.flush()
    except IntegrityError:
        if lock_key is None:
            raise
        raise _locked(_lock_holder(lock_key), lock_key) from None
    logger.info("Job %s (%s) queued by %s", job.id, type, actor.name)
    _send_when_committed(job)
    return job


def _send_when_committed(job: Job) -> None:
    current = db.session()
    if current.info.get("pim_depth", 0):
        # inside a caller's transaction: a worker must not get the id before the row is visible
        current.info.setdefault(_PENDING_SENDS, []).append(job.id)
        if not current.info.get(_IS_LISTENING):
            event.listen(current, "after_commit", _send_pending)
            event.listen(current, "after_rollback", _forget_pending)
            current.info[_IS_LISTENING] = True
        return
    from pim.jobs.queue import send_job

    if send_job(job.id):
        with db.transaction():
            job.is_enqueued = True
    else:
        add_log(job.id, "The job queue is not reachable; the job waits until a worker sweeps it in", level="warning")


def _send_pending(current: Session) -> None:
    if current.in_nested_transaction():
        # SQLAlchemy reports the release of a savepoint as a commit too; wait for the real one
        return
    ids = current.info.pop(_PENDING_SENDS, [])
    if not ids:
        return
    from pim.jobs.queue import send_job

    sent = [job_id for job_id in ids if send_job(job_id)]
    if not sent:
        return
    # the session cannot run SQL between two transactions, so the flag goes through its bind
    statement = update(Job).where(Job.id.in_(sent), Job.status == JobStatus.QUEUED).values(is_enqueued=True)
    try:
        bind = current.get_bind()
        if isinstance(bind, Engine):
            with bind.begin() as connection:
                connection.execute(statement)
        else:
            bind.execute(statement)
    except Exception:
        # the flag only spares the sweep a second send, which a worker ignores anyway
        logger.warning("Could not mark jobs %s as sent", sent, exc_info=True)


def _forget_pending(current: Session) -> None:
    # a savepoint rolled back may have held some of the jobs, not all; a worker ignores a missing one
    if not current.in_nested_transaction():
        current.info.pop(_PENDING_SENDS, None)


def add_log(job_id: int, message: str, *, level: str = "info") -> None:
    """Add a line to a job's log."""
    with db.transaction() as current:
        current.add(JobLog(job_id=job_id, level=level, message=str(message)[:MAX_MESSAGE], logged_at=db.utcnow()))


def sweep() -> list[int]:
    """Send the queued jobs that never reached the queue (it was down); return their ids."""
    end_read()
    ids = list(db.session.scalars(select(Job.id).where(Job.status == JobStatus.QUEUED, Job.is_enqueued.is_(False)).order_by(Job.id).limit(1000)))
    end_read()
    if not ids:
        return []
    from pim.jobs.queue import send_job

    sent = [job_id for job_id in ids if send_job(job_id)]
    if sent:
        with db.transaction() as current:
            current.execute(update(Job).where(Job.id.in_(sent)).values(is_enqueued=True).execution_options(synchronize_session=False))
        logger.info("Sent %d queued jobs that had not reached the queue", len(sent))
    return sent


# --- running ------------------------------------------------------------------------------


def run(job_id: int, *, worker: str | None = None, on_progress: ProgressCallback | None = None) -> Job | None:
    """Run a queued job: claim it, call its handler, and record how it ended.

    Returns None when the job was not queued any more (another worker took it, or it was
    cancelled), which is how a job sent twice still runs once.
    """
    load_job_modules()
    name = worker or process_name()
    now = db.utcnow()
    end_read()
    with db.transaction() as current:
        claimed = changed_rows(
            current,
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, worker=name, is_enqueued=True)
            .execution_options(synchronize_session=False),
        )
    if claimed != 1:
        logger.info("Job %s is not queued any more; not running it", job_id)
        return None
    job = db.session.get(Job, job_id, populate_existing=True)
    assert job is not None
    with _running_lock:
        _running_here.add(job_id)
    try:
        context = JobContext(job, instance_path=current_app.instance_path, warnings_kept=int(_config("JOB_WARNINGS_KEPT")), on_progress=on_progress)
        context.log(f"Started on {name}")
        _run_handler(job, context)
    finally:
        with _running_lock:
            _running_here.discard(job_id)
    return get_job(job_id)


def _run_handler(job: Job, context: JobContext) -> None:
    started = time.monotonic()
    error: str | None = None
    details: str | None = None
    try:
        handler = get_handler(job.type)
        handler(context)
    except Cancelled:
        status = JobStatus.CANCELLED
    except Exception as exc:
        # the boundary of every job: the error is recorded, the worker carries on
        status = JobStatus.FAILED
        error = _error_message(exc)
        details = traceback.format_exc()
    except BaseException:
        # Ctrl+C in a command running the job itself
        _finish(context, JobStatus.INTERRUPTED, "Stopped before the end", None, started)
        raise
    else:
        status = JobStatus.SUCCEEDED
    _finish(context, status, error, details, started)


def _finish(context: JobContext, status: JobStatus, error: str | None, details: str | None, started: float) -> None:
    if status == JobStatus.SUCCEEDED:
        end_read()
    else:
        # whatever the handler left half-done in the session goes; the job's own numbers are in memory
        db.session.rollback()
    if details:
        # the traceback stays in the job's log (pim job show); the one-line error is reported apart
        context.log(details, level="error", is_detail=True)
    context.log(f"{status.value.capitalize()} after {time.monotonic() - started:.1f} s", level="error" if status == JobStatus.FAILED else "info")
    with db.transaction() as current:
        context.flush()
        current.execute(
            update(Job)
            # a job taken for dead while it was only slow still records how it really ended
            .where(Job.id == context.job_id, Job.status.in_([JobStatus.RUNNING, JobStatus.INTERRUPTED]))
            .values(status=status, error=error, finished_at=db.utcnow())
            .execution_options(synchronize_session=False)
        )
        current.execute(delete(JobLock).where(JobLock.job_id == context.job_id))


def run_inline(job_id: int, *, on_progress: ProgressCallback | None = None) -> Job:
    """Run a queued job in this process (when no worker is alive) and return it as it ended."""
    name = process_name()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    heartbeat = Heartbeat(app, float(_config("WORKER_HEARTBEAT_SECONDS")), lambda: beat_jobs(name))
    heartbeat.start()
    try:
        run(job_id, worker=name, on_progress=on_progress)
    finally:
        heartbeat.stop()
    return get_job(job_id)


def beat_jobs(worker: str) -> None:
    """Refresh the heartbeat of the jobs this process is running for a worker name."""
    with _running_lock:
        ids = sorted(_running_here)
    if not ids:
        return
    with db.transaction() as current:
        current.execute(
            update(Job)
            .where(Job.id.in_(ids), Job.worker == worker, Job.status == JobStatus.RUNNING)
            .values(heartbeat_at=db.utcnow())
            .execution_options(synchronize_session=False)
        )


class Heartbeat:
    """Call a function every few seconds in a background thread, inside the application context."""

    def __init__(self, app: Flask, interval: float, beat: Callable[[], None]):
        self.app = app
        self.interval = interval
        self.beat = beat
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pim-heartbeat", daemon=True)

    def start(self) -> None:
        """Start beating."""
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and wait for the thread to end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with self.app.app_context():
                try:
                    self.beat()
                except Exception:
                    # a missed beat is retried at the next one; a long outage shows as a stale heartbeat
                    logger.warning("Heartbeat failed", exc_info=True)
                finally:
                    db.session.remove()


# --- cancelling, rerunning, interrupted jobs ----------------------------------------------


def cancel(job_id: int, *, actor: Actor) -> Job:
    """Cancel a job: a queued one at once, a running one at its handler's next check.

    :raises Conflict: when the job has already ended.
    """
    end_read()
    with db.transaction() as current:
        job = get_job(job_id)
        if job.status.is_final:
            raise Conflict(f"Job {job_id} has already ended ({job.status.value})")
        if job.status == JobStatus.QUEUED:
            changed = changed_rows(
                current,
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
                .values(status=JobStatus.CANCELLED, is_cancel_requested=True, finished_at=db.utcnow())
                .execution_options(synchronize_session=False),
            )
            if changed == 1:
                current.execute(delete(JobLock).where(JobLock.job_id == job_id))
                current.add(JobLog(job_id=job_id, level="info", message=f"Cancelled by {actor.name} before it started", logged_at=db.utcnow()))
                return _refreshed(job_id)
            # a worker claimed it meanwhile: ask the running handler to stop instead
        current.execute(update(Job).where(Job.id == job_id).values(is_cancel_requested=True).execution_options(synchronize_session=False))
        current.add(JobLog(job_id=job_id, level="info", message=f"Cancel requested by {actor.name}", logged_at=db.utcnow()))
    return _refreshed(job_id)


def rerun(job_id: int, *, actor: Actor) -> Job:
    """Queue a new job with the type, parameters and lock key of an ended one.

    :raises Conflict: when the job has not ended yet.
    """
    job = get_job(job_id)
    if not job.status.is_final:
        raise Conflict(f"Job {job_id} is still {job.status.value}; only an ended job can run again")
    return enqueue(job.type, job.params, actor=actor, lock_key=job.lock_key, rerun_of=job.id)


def mark_interrupted(*, timeout: float | None = None) -> list[int]:
    """Mark running jobs whose worker is gone as interrupted and free their locks; return their ids.

    A worker is gone when it ran on this host and its process has ended, or when the job's
    heartbeat is older than JOB_HEARTBEAT_TIMEOUT (a worker on another machine).
    """
    limit = dt.timedelta(seconds=float(_config("JOB_HEARTBEAT_TIMEOUT") if timeout is None else timeout))
    now = db.utcnow()
    me = process_name()
    with _running_lock:
        mine = set(_running_here)
    end_read()
    rows = db.session.execute(select(Job.id, Job.worker, Job.heartbeat_at).where(Job.status == JobStatus.RUNNING)).all()
    end_read()
    interrupted: list[int] = []
    for job_id, worker, heartbeat_at in rows:
        if worker == me and job_id in mine:
            continue
        is_stale = heartbeat_at is None or now - as_utc(heartbeat_at) > limit
        if worker == me:
            reason = "this process restarted while the job was running"
        elif _is_dead_here(worker):
            reason = f"its worker {worker} stopped while the job was running"
        elif is_stale:
            reason = f"its worker {worker} sent no heartbeat for {limit.total_seconds():.0f} s"
        else:
            continue
        with db.transaction() as current:
            condition = [Job.id == job_id, Job.status == JobStatus.RUNNING]
            if heartbeat_at is not None:
                # a heartbeat written since we looked proves the worker alive
                condition.append(Job.heartbeat_at == heartbeat_at)
            changed = changed_rows(
                current,
                update(Job)
                .where(*condition)
                .values(status=JobStatus.INTERRUPTED, error=f"Interrupted: {reason}", finished_at=now)
                .execution_options(synchronize_session=False),
            )
            if changed != 1:
                continue
            current.execute(delete(JobLock).where(JobLock.job_id == job_id))
            current.add(JobLog(job_id=job_id, level="warning", message=f"Interrupted: {reason}; it can be run again", logged_at=now))
        logger.warning("Job %s interrupted: %s", job_id, reason)
        interrupted.append(job_id)
    return interrupted


# --- reading ------------------------------------------------------------------------------


def _refreshed(job_id: int) -> Job:
    job = db.session.get(Job, job_id, populate_existing=True)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist")
    return job


def find_job(job_id: int) -> Job | None:
    """Return a job as it is now in the database, or None."""
    end_read()
    return db.session.get(Job, job_id, populate_existing=True)


def get_job(job_id: int) -> Job:
    """Return a job as it is now in the database.

    :raises NotFound: when there is no such job.
    """
    job = find_job(job_id)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist")
    return job


def list_jobs(*, limit: int = 50, status: JobStatus | str | None = None, type: str | None = None, before: int | None = None) -> list[Job]:
    """Return the newest jobs first, optionally of one status or type, older than job `before`."""
    end_read()
    query = select(Job).order_by(Job.id.desc()).limit(max(1, min(int(limit), 10_000)))
    if status is not None:
        try:
            query = query.where(Job.status == JobStatus(status))
        except ValueError:
            known = ", ".join(s.value for s in JobStatus)
            raise Invalid.one("status", f"Unknown job status {status!r} (known: {known})", ErrorCode.UNKNOWN) from None
    if type is not None:
        query = query.where(Job.type == type)
    if before is not None:
        query = query.where(Job.id < before)
    return list(db.session.scalars(query))


def job_log(job_id: int, *, limit: int = 50) -> list[JobLog]:
    """Return the last lines of a job's log, oldest first."""
    end_read()
    lines = db.session.scalars(select(JobLog).where(JobLog.job_id == job_id).order_by(JobLog.id.desc()).limit(limit))
    return list(reversed(list(lines)))


def report_file_path(job: Job) -> Path | None:
    """Return where a job's report file lies, or None when it has none."""
    if not job.report_path:
        return None
    return Path(current_app.instance_path) / job.report_path


def _time(moment: dt.datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


def job_to_dict(job: Job, *, log: Iterable[JobLog] = ()) -> dict[str, Any]:
    """Return a job as a JSON-ready mapping (with log lines when given)."""
    report = report_file_path(job)
    data: dict[str, Any] = {
        "id": job.id,
        "type": job.type,
        "status": job.status.value,
        "params": job.params,
        "lock_key": job.lock_key,
        "actor": job.actor_name,
        "source": job.actor_source,
        "progress": {"done": job.progress_done, "total": job.progress_total},
        "counts": job.counts,
        "warnings": job.warnings,
        "warning_count": job.warning_count,
        "error": job.error,
        "report_path": str(report) if report else None,
        "rerun_of": job.rerun_of,
        "created_at": _time(job.created_at),
        "started_at": _time(job.started_at),
        "finished_at": _time(job.finished_at),
        "heartbeat_at": _time(job.heartbeat_at),
        "worker": job.worker,
        "is_cancel_requested": job.is_cancel_requested,
        "is_enqueued": job.is_enqueued,
    }
    lines = [{"logged_at": _time(line.logged_at), "level": line.level, "message": line.message} for line in log]
    if lines:
        data["log"] = lines
    return data


# --- workers ------------------------------------------------------------------------------


def register_worker(name: str, *, is_scheduler: bool) -> None:
    """Record a starting worker, and forget workers that are gone."""
    now = db.utcnow()
    end_read()
    with db.transaction() as current:
        stale = current.scalars(select(Worker).where(Worker.name != name)).all()
        for worker in stale:
            if as_utc(worker.last_seen_at) < now - FORGET_WORKERS_AFTER or _is_dead_here(worker.name):
                current.delete(worker)
        existing = current.scalar(select(Worker).where(Worker.name == name))
        if existing is None:
            current.add(Worker(name=name, started_at=now, last_seen_at=now, is_scheduler=is_scheduler))
        else:
            existing.started_at = now
            existing.last_seen_at = now
            existing.is_scheduler = is_scheduler


def touch_worker(name: str, *, is_scheduler: bool) -> None:
    """Refresh a worker's last-seen time and the heartbeat of the jobs it runs."""
    now = db.utcnow()
    with db.transaction() as current:
        seen = changed_rows(current, update(Worker).where(Worker.name == name).values(last_seen_at=now).execution_options(synchronize_session=False))
        if seen == 0:
            # another worker forgot this one during a long pause; it is back
            current.add(Worker(name=name, started_at=now, last_seen_at=now, is_scheduler=is_scheduler))
    beat_jobs(name)


def remove_worker(name: str) -> None:
    """Forget a worker that stops."""
    with db.transaction() as current:
        current.execute(delete(Worker).where(Worker.name == name))


def live_workers() -> list[Worker]:
    """Return the workers seen within JOB_HEARTBEAT_TIMEOUT, whose processes still run if on this host."""
    limit = dt.timedelta(seconds=float(_config("JOB_HEARTBEAT_TIMEOUT")))
    end_read()
    workers = db.session.scalars(select(Worker).where(Worker.last_seen_at >= db.utcnow() - limit).order_by(Worker.name)).all()
    end_read()
    return [worker for worker in workers if not _is_dead_here(worker.name)]
