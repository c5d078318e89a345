"""Benchmark: how export throughput scales with `pim worker` processes on PostgreSQL and Redis.

    python bench/workers.py --database-url URL [--redis-url redis://127.0.0.1:6379/14] [--profiles webshop,yandex_market] [--runs 3]

Works on a catalogue loaded by bench/load_catalog.py into PostgreSQL. Each profile is installed
from its preset (if missing); then, for each layout of workers, every profile's export is queued
at once and timed from the first enqueue to the last job's end. Layouts: one worker process
with one job at a time (the exports run one after the other), one process running two jobs in
threads, and two processes of one job each. Prints the wall time (median of the runs), the
products exported per second over all jobs, and the speed-up over one worker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OUT = Path(__file__).resolve().parent / "out"
PIM = str(Path(sys.executable).with_name("pim"))
LAYOUTS = {"1 process x 1 job": (1, 1), "1 process x 2 jobs (threads)": (1, 2), "2 processes x 1 job": (2, 1)}


def environment(database_url: str, redis_url: str) -> dict[str, str]:
    # the instance bench/load_catalog.py loaded into: the products' pictures are in its media folder
    instance = OUT / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "PIM_DATABASE_URL": database_url,
        "PIM_QUEUE_URL": redis_url,
        "PIM_QUEUE_NAME": "bench-workers",
        "PIM_INSTANCE_PATH": str(instance),
        "PIM_FEEDS_PATH": str(OUT / "workers-feeds"),
    }


def app_for(env: dict[str, str]):  # type: ignore[no-untyped-def]
    from pim.app import create_app

    return create_app(
        {
            "DATABASE_URL": env["PIM_DATABASE_URL"],
            "QUEUE_URL": env["PIM_QUEUE_URL"],
            "QUEUE_NAME": env["PIM_QUEUE_NAME"],
            "INSTANCE_PATH": env["PIM_INSTANCE_PATH"],
            "FEEDS_PATH": env["PIM_FEEDS_PATH"],
        }
    )


def install(profiles: list[str], env: dict[str, str]) -> None:
    listed = subprocess.run([PIM, "channel", "list", "--json"], env=env, capture_output=True, text=True, check=True).stdout
    present = {json.loads(line)["code"] for line in listed.splitlines() if line.strip()}
    for profile in profiles:
        if profile not in present:
            subprocess.run([PIM, "channel", "install", profile], env=env, check=True, capture_output=True)


def wait_for_workers(app: Any, count: int, timeout: float = 60) -> None:
    from pim import db
    from pim.jobs.services import live_workers

    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            if len(live_workers()) >= count:
                db.session.remove()
                return
            time.sleep(0.2)
    raise SystemExit(f"{count} worker(s) did not start within {timeout:.0f} s")


def run_layout(app: Any, env: dict[str, str], profiles: list[str], processes: int, threads: int) -> dict[str, Any]:
    """Start the workers, queue every export at once, and time until the last job ends."""
    from pim import db
    from pim.actor import Actor, Source
    from pim.jobs.models import JobStatus
    from pim.jobs.services import get_job
    from pim.publishing.jobs import run_of_job, start_export

    workers = [
        subprocess.Popen([PIM, "worker", "--workers", str(threads)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(processes)
    ]
    try:
        wait_for_workers(app, processes)
        actor = Actor("bench", Source.CLI)
        with app.app_context():
            started = time.perf_counter()
            job_ids = [start_export(profile, wait=False, actor=actor)["job"] for profile in profiles]
            db.session.remove()
            exported = 0
            while True:
                jobs = [get_job(job_id) for job_id in job_ids]
                if all(job.status.is_final for job in jobs):
                    break
                db.session.remove()
                time.sleep(0.1)
            seconds = time.perf_counter() - started
            for job in jobs:
                if job.status != JobStatus.SUCCEEDED:
                    raise SystemExit(f"job {job.id} ({job.type}) {job.status.value}: {job.error}")
                run = run_of_job(job.id)
                counts = (run.counts or {}) if run else {}
                exported += int(counts.get("exported", 0))
                if not counts.get("exported"):
                    # an empty feed measures nothing: say why its products were skipped
                    raise SystemExit(f"job {job.id} exported no product; skipped for {counts.get('reasons')}")
            db.session.remove()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
    with app.app_context():
        from pim.jobs.services import mark_interrupted

        mark_interrupted(timeout=0)
        db.session.remove()
    return {"seconds": seconds, "exported": exported}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="A PostgreSQL catalogue loaded by bench/load_catalog.py.")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14", help="The Redis queue the workers share.")
    parser.add_argument("--profiles", default="webshop,yandex_market", help="Profiles exported at once (comma-separated).")
    parser.add_argument("--runs", type=int, default=3, help="Runs per layout; the median is printed.")
    args = parser.parse_args()
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    env = environment(args.database_url, args.redis_url)
    install(profiles, env)
    app = app_for(env)
    figures: dict[str, Any] = {"profiles": profiles, "cores": os.cpu_count(), "layouts": {}}
    for label, (processes, threads) in LAYOUTS.items():
        runs = [run_layout(app, env, profiles, processes, threads) for _ in range(args.runs)]
        seconds = statistics.median(run["seconds"] for run in runs)
        exported = runs[0]["exported"]
        figures["layouts"][label] = {
            "seconds_median": round(seconds, 2),
            "seconds_all": [round(run["seconds"], 2) for run in runs],
            "products_exported": exported,
            "products_per_s": round(exported / seconds) if seconds else None,
        }
    base = figures["layouts"]["1 process x 1 job"]["seconds_median"]
    for entry in figures["layouts"].values():
        entry["speedup"] = round(base / entry["seconds_median"], 2) if entry["seconds_median"] else None
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
