"""Job types of the job tests, and helpers to wait for what workers do.

Workers import this module by name (JOB_MODULES = ["tests.pim.jobs.sample_jobs"]), also a
worker started as a separate process by the tests.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from pim import db
from pim.catalog.services import update_product
from pim.jobs.models import Job
from pim.jobs.services import JobContext, job_type

MODULE = __name__
# Callables that the "sample_hook" job calls with its context, by name (same process only).
HOOKS: dict[str, Callable[[JobContext], None]] = {}

FEED_ROWS = [
    ("BOOT_1", "Trail boot", "129.00 EUR"),
    ("BOOT_2", "City boot", "99.00 EUR"),
    ("SNEAKER_1", "Runner", ""),
    ("SANDAL_1", "Beach sandal", "39.90 EUR"),
    ("SANDAL_2", "Strap sandal", "44.90 EUR"),
]


@job_type("sample_export")
def export_feed(ctx: JobContext) -> None:
    """Write a small price feed as CSV; rows without a price are skipped with a warning."""
    rows = FEED_ROWS * int(ctx.params.get("repeat", 1))
    ctx.log(f"Exporting {len(rows)} rows for channel {ctx.params.get('channel', 'ecommerce')}")
    ctx.log(f"Running in thread {threading.current_thread().name}", level="debug")
    ctx.progress(0, len(rows))
    with ctx.report_file("feed.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["sku", "title", "price"])
        for done, (sku, title, price) in enumerate(rows, start=1):
            if not price:
                ctx.warn(f"{sku}: no price for channel ecommerce, skipped")
                ctx.count("skipped")
            else:
                writer.writerow([sku, title, price])
                ctx.count("exported")
            ctx.progress(done)


@job_type("sample_failure")
def import_broken_file(ctx: JobContext) -> None:
    """Fail half-way through, as an import meeting a broken row does."""
    ctx.progress(3, 10)
    ctx.count("imported", 3)
    raise ValueError("Row 4, column price-EUR: 'twelve' is not a number")


@job_type("sample_slow")
def recompute_slowly(ctx: JobContext) -> None:
    """Work through `steps` small batches of `step_seconds` each, checking for a cancel between them."""
    steps = int(ctx.params.get("steps", 100))
    pause = float(ctx.params.get("step_seconds", 0.05))
    ctx.progress(0, steps)
    for done in range(1, steps + 1):
        time.sleep(pause)
        ctx.check_cancelled()
        ctx.count("recomputed")
        ctx.progress(done)


@job_type("sample_disable")
def disable_products(ctx: JobContext) -> None:
    """Disable the products named in params, as a bulk edit does, through the catalogue services."""
    for identifier in ctx.params["identifiers"]:
        update_product(identifier, enabled=False, actor=ctx.actor)
        ctx.count("disabled")


@job_type("sample_stream")
def stream_jobs(ctx: JobContext) -> None:
    """Stream rows through a cursor, one at a time, reporting progress and checking for a cancel after each."""
    rows = db.session.execute(select(Job.id).order_by(Job.id).execution_options(yield_per=1))
    for seen, _ in enumerate(rows, start=1):
        ctx.count("seen")
        ctx.progress(seen)
        ctx.flush()
        ctx.check_cancelled()


@job_type("sample_hook")
def call_hook(ctx: JobContext) -> None:
    """Call the test's hook with the running job's context."""
    HOOKS[ctx.params["hook"]](ctx)


def wait_until(condition: Callable[[], Any], *, timeout: float = 15.0, every: float = 0.05, what: str = "the condition") -> Any:
    """Poll until a condition returns something true, and return it; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}")
        time.sleep(every)
