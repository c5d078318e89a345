"""The Huey queue that carries job ids to workers, and the workers that consume it.

With no QUEUE_URL the queue is a SQLite file in the instance folder, and `pim serve` runs
its workers in threads of the web process; with a redis:// URL any number of `pim worker`
processes on any number of machines share it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey  # type: ignore[import-untyped]
from huey.api import TaskWrapper  # type: ignore[import-untyped]
from huey.consumer import Consumer  # type: ignore[import-untyped]

from pim import db
from pim.errors import PimError
from pim.jobs import services

logger = logging.getLogger(__name__)

_EXTENSION = "pim_queue"
_build_lock = threading.Lock()


class QueueUnavailable(PimError):
    """The job queue cannot be reached (Redis is down, or the queue file cannot be opened)."""


@dataclass(frozen=True)
class JobQueue:
    """The application's Huey instance and the task that runs a job."""

    huey: Huey
    location: str
    run_job: TaskWrapper


@dataclass(frozen=True)
class QueueCheck:
    """Whether the queue answers, in words for a person."""

    is_reachable: bool
    message: str


def _safe_location(url: str) -> str:
    """Return a queue URL fit for messages: the password is left out."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def build_queue(app: Flask) -> JobQueue:
    """Create the Huey instance that QUEUE_URL names and register the job tasks on it."""
    from pim.jobs.tasks import register_tasks

    url = str(app.config.get("QUEUE_URL") or "").strip()
    name = str(app.config.get("QUEUE_NAME") or "pim")
    huey: Huey
    if not url:
        path = Path(app.instance_path) / "queue.sqlite3"
        location = str(path)
        try:
            huey = SqliteHuey(name, filename=location, results=False, utc=True)
        except sqlite3.Error as exc:
            raise QueueUnavailable(f"The job queue file {location} cannot be opened: {exc}") from None
    elif url.startswith(("redis://", "rediss://", "unix://")):
        location = _safe_location(url)
        # short connect timeout: a web request enqueueing a job must not hang on a dead Redis
        pool = redis.ConnectionPool.from_url(url, socket_connect_timeout=5, socket_timeout=30)
        huey = RedisHuey(name, connection_pool=pool, results=False, utc=True, read_timeout=1)
    else:
        raise QueueUnavailable(f"QUEUE_URL must be empty (a SQLite queue in the instance folder) or a redis:// URL, not {_safe_location(url)!r}")
    return JobQueue(huey=huey, location=location, run_job=register_tasks(huey, app))


def get_queue(app: Flask | None = None) -> JobQueue:
    """Return the application's job queue, creating it on first use."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    queue = app.extensions.get(_EXTENSION)
    if queue is None:
        with _build_lock:
            queue = app.extensions.get(_EXTENSION)
            if queue is None:
                queue = app.extensions[_EXTENSION] = build_queue(app)
    return queue


def close_queue(app: Flask) -> None:
    """Close the application's connection to the queue; the next use opens a new one."""
    queue = app.extensions.pop(_EXTENSION, None)
    if queue is None:
        return
    storage = queue.huey.storage
    if isinstance(getattr(storage, "pool", None), redis.ConnectionPool):
        storage.pool.disconnect()
    else:
        storage.close()


def send_job(job_id: int) -> bool:
    """Put a job id on the queue; tell whether the queue took it."""
    try:
        queue = get_queue()
        queue.run_job(job_id)
    except Exception as exc:
        # the job row stays queued and unsent; the next sweep tries again
        logger.warning("Job %s could not be sent to the queue: %s", job_id, exc)
        return False
    return True


def check_queue(app: Flask | None = None) -> QueueCheck:
    """Tell whether the job queue answers, with a message saying where it is."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        queue = get_queue(app)
    except QueueUnavailable as exc:
        return QueueCheck(False, str(exc))
    try:
        if isinstance(queue.huey, RedisHuey):
            queue.huey.storage.conn.ping()
        waiting = queue.huey.pending_count()
    except (redis.RedisError, sqlite3.Error, OSError) as exc:
        return QueueCheck(False, f"The job queue at {queue.location} is not reachable: {exc}")
    return QueueCheck(True, f"The job queue at {queue.location} answers; {waiting} task(s) waiting")


class EmbeddedConsumer(Consumer):
    """A Huey consumer for a thread other than the main one: it installs no signal handlers.

    Python only lets the main thread set signal handlers; the web server that runs this
    consumer keeps its own.
    """

    def _set_signal_handlers(self) -> None:
        return None


def _consumer_options(app: Flask, workers: int, scheduler: bool) -> dict[str, Any]:
    return {
        "workers": max(1, int(workers)),
        "periodic": scheduler,
        "worker_type": "thread",
        "initial_delay": 0.05,
        "backoff": 1.15,
        "max_delay": float(app.config["QUEUE_POLL_SECONDS"]),
        "scheduler_interval": 1,
        "shutdown_timeout": float(app.config["WORKER_SHUTDOWN_TIMEOUT"]),
    }


def _prepare_worker(app: Flask, scheduler: bool) -> tuple[JobQueue, str]:
    """Check the queue, record the worker, and deal with what earlier workers left behind."""
    check = check_queue(app)
    if not check.is_reachable:
        raise QueueUnavailable(check.message)
    name = services.process_name()
    with app.app_context():
        try:
            services.load_job_modules()
            services.register_worker(name, is_scheduler=scheduler)
            interrupted = services.mark_interrupted()
            sent = services.sweep()
        finally:
            db.session.remove()
    logger.info(
        "Worker %s started on %s (scheduler %s); %d interrupted job(s) found, %d queued job(s) sent",
        name,
        check.message,
        "on" if scheduler else "off",
        len(interrupted),
        len(sent),
    )
    return get_queue(app), name


def _remove_worker(app: Flask, name: str) -> None:
    with app.app_context():
        try:
            services.remove_worker(name)
        finally:
            db.session.remove()


class WorkerHandle:
    """A running embedded worker; `stop()` ends it."""

    def __init__(self, app: Flask, consumer: EmbeddedConsumer, name: str, heartbeat: services.Heartbeat):
        self.app = app
        self.consumer = consumer
        self.name = name
        self._heartbeat = heartbeat
        self._is_stopped = False

    def stop(self, timeout: float | None = None) -> None:
        """Stop taking jobs, wait up to `timeout` seconds (WORKER_SHUTDOWN_TIMEOUT) for running ones, and forget the worker."""
        if self._is_stopped:
            return
        self._is_stopped = True
        self._heartbeat.stop()
        if timeout is not None:
            self.consumer.shutdown_timeout = timeout
        self.consumer.stop(graceful=True)
        _remove_worker(self.app, self.name)
        logger.info("Worker %s stopped", self.name)


def start_embedded_worker(app: Flask, workers: int = 2, scheduler: bool = True) -> WorkerHandle:
    """Run queue workers (and the scheduler) in background threads of this process; returns a handle to stop them.

    :raises QueueUnavailable: when the queue does not answer.
    """
    queue, name = _prepare_worker(app, scheduler)
    consumer = EmbeddedConsumer(queue.huey, check_worker_health=False, **_consumer_options(app, workers, scheduler))
    consumer.start()

    def beat() -> None:
        services.touch_worker(name, is_scheduler=scheduler)
        consumer.check_worker_health()

    heartbeat = services.Heartbeat(app, float(app.config["WORKER_HEARTBEAT_SECONDS"]), beat)
    heartbeat.start()
    return WorkerHandle(app, consumer, name, heartbeat)


def run_worker(app: Flask, workers: int = 2, scheduler: bool = False) -> None:
    """Consume the queue in this process until it is stopped (Ctrl+C waits for running jobs, SIGTERM does not).

    :raises QueueUnavailable: when the queue does not answer.
    """
    queue, name = _prepare_worker(app, scheduler)
    consumer = queue.huey.create_consumer(check_worker_health=True, **_consumer_options(app, workers, scheduler))
    heartbeat = services.Heartbeat(app, float(app.config["WORKER_HEARTBEAT_SECONDS"]), lambda: services.touch_worker(name, is_scheduler=scheduler))
    heartbeat.start()
    try:
        consumer.run()
    finally:
        heartbeat.stop()
        _remove_worker(app, name)
