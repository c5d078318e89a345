"""Huey tasks: thin wrappers that take a job id and hand it to the job service inside the application."""

from __future__ import annotations

from flask import Flask
from huey import Huey, crontab  # type: ignore[import-untyped]
from huey.api import TaskWrapper  # type: ignore[import-untyped]

from pim import db
from pim.jobs import services


def register_tasks(huey: Huey, app: Flask) -> TaskWrapper:
    """Register the job tasks on a Huey instance of an application; return the task that runs a job."""

    # A failure before the job is claimed (the database briefly away) is retried; a retry
    # after the claim finds the job no longer queued and does nothing.
    @huey.task(retries=3, retry_delay=10, name="run_job")
    def run_job(job_id: int) -> None:
        """Run one job."""
        with app.app_context():
            try:
                services.run(job_id)
            finally:
                db.session.remove()

    @huey.periodic_task(crontab(), name="scheduler_tick")
    def scheduler_tick() -> None:
        """Fire the schedules that fell due, then look after interrupted and unsent jobs."""
        from pim.jobs.schedule import fire_due_schedules

        with app.app_context():
            try:
                fire_due_schedules()
                services.mark_interrupted()
                services.sweep()
            finally:
                db.session.remove()

    return run_job
