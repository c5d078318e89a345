"""Benchmark: load a generated catalogue through the batch upsert, beside raw executemany.

    python bench/load_catalog.py --products 1000000 [--database-url URL]

Creates a fresh database (an SQLite file under bench/out/, or a new PostgreSQL database on the
server of --database-url), installs the demo structure, then loads `--products` demo products
(about 30 values each, names and descriptions in three locales) through `upsert_products`, with
validation, completeness and versions. Product models are written first for each batch through
`save_product_models` and timed apart. Afterwards the same product rows are regenerated and
inserted with a plain `executemany` into a table shaped like `product`, in the same database, so
the upsert figure reads as a ratio of the raw I/O. Peak resident memory is reported too. The
loaded database is kept (its URL is printed) for bench/grid_queries.py.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table, Text, Uuid, create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pim import db  # noqa: E402
from pim.actor import Actor, Source  # noqa: E402
from pim.app import create_app  # noqa: E402
from pim.catalog.services import UPSERT_BATCH_SIZE  # noqa: E402
from pim.migrate import upgrade  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def peak_rss_mb() -> float:
    """Return the peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_database(url: str | None) -> str:
    """Create an empty database and return its URL."""
    if not url:
        OUT.mkdir(exist_ok=True)
        path = OUT / "load.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    base = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"pim_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=100000)
    parser.add_argument("--batch-size", type=int, default=UPSERT_BATCH_SIZE)
    parser.add_argument("--database-url", default=os.environ.get("PIM_BENCH_DATABASE_URL"))
    parser.add_argument("--skip-raw", action="store_true", help="Do not run the raw executemany comparison.")
    args = parser.parse_args()

    url = fresh_database(args.database_url)
    engine = db.make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(OUT / "instance")})
    with app.app_context():
        figures = run(args.products, args.batch_size, args.skip_raw)
    figures["database"] = make_url(url).get_backend_name()
    figures["database_url"] = url
    print(json.dumps(figures))


def run(count: int, batch_size: int, skip_raw: bool) -> dict[str, object]:
    import random

    from pim.catalog.services import save_product_models, upsert_products
    from pim.demo import DemoGenerator, _make_images, install_demo_structure

    install_demo_structure()
    images = _make_images(random.Random(1))
    actor = Actor("bench", Source.IMPORT)
    started = time.perf_counter()

    # product models first, as a load from Akeneo does: a pass over the generator keeping only them
    models_seconds = 0.0
    models = 0
    for batch in DemoGenerator(count, seed=7, images=images).model_batches(batch_size):
        m0 = time.perf_counter()
        save_product_models(batch, actor=actor)
        models_seconds += time.perf_counter() - m0
        models += len(batch)
    db.session.expunge_all()

    # then the products, one stream through the batch upsert
    generator = DemoGenerator(count, seed=7, images=images)
    timings = {"generate": 0.0}
    progress = {"last": time.perf_counter(), "t0": 0.0}

    def stream():
        items = generator.products()
        while True:
            g0 = time.perf_counter()
            item = next(items, None)
            timings["generate"] += time.perf_counter() - g0
            if item is None:
                return
            generator.models = []
            yield item

    def on_batch(report) -> None:
        if time.perf_counter() - progress["last"] > 30:
            progress["last"] = time.perf_counter()
            done = report.created + report.updated
            elapsed = progress["last"] - progress["t0"] - timings["generate"]
            print(f"  {done:,} products, {done / elapsed:,.0f}/s upsert, rss {peak_rss_mb():.0f} MB", file=sys.stderr)

    progress["t0"], c0 = time.perf_counter(), time.process_time()
    report = upsert_products(stream(), actor=actor, batch_size=batch_size, on_batch=on_batch)
    load_seconds = time.perf_counter() - progress["t0"]
    cpu_seconds = time.process_time() - c0
    products = report.created + report.updated
    upsert_seconds = load_seconds - timings["generate"]
    figures: dict[str, object] = {
        "products": products,
        "product_models": models,
        "rejected": len(report.rejected),
        "upsert_seconds": round(upsert_seconds, 2),
        "upsert_products_per_s": round(products / upsert_seconds),
        "with_generation_products_per_s": round(products / load_seconds),
        "process_cpu_seconds": round(cpu_seconds, 2),
        "models_seconds": round(models_seconds, 2),
        "generate_seconds": round(timings["generate"], 2),
        "total_seconds": round(time.perf_counter() - started, 2),
        "peak_rss_mb": round(peak_rss_mb()),
    }
    if not skip_raw:
        figures.update(raw_executemany(count, batch_size, images))
    return figures


def raw_executemany(count: int, batch_size: int, images: dict[str, str]) -> dict[str, object]:
    """Insert the same product rows with a bare executemany into a product-shaped table."""
    from pim.catalog.services import search_text_of
    from pim.catalog.values import ValueContext, apply_values
    from pim.demo import DemoGenerator
    from pim.structure.snapshot import get_structure

    metadata = MetaData()
    json_type = db.JsonDocument
    table = Table(
        "bench_raw_product",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("uuid", Uuid, unique=True),
        Column("identifier", String(255), unique=True),
        Column("family_id", Integer),
        Column("is_enabled", Boolean),
        Column("values", json_type),
        Column("categories", json_type),
        Column("search_text", Text),
        Column("created_at", DateTime(timezone=True)),
        Column("updated_at", DateTime(timezone=True)),
        Column("version", Integer),
    )
    connection = db.session.connection()
    metadata.create_all(connection)
    db.session.commit()
    structure = get_structure()
    generator = DemoGenerator(count, seed=7, images=images)
    stream = generator.products()
    elapsed = cpu = 0.0
    written = 0
    while True:
        batch = list(itertools.islice(stream, batch_size))
        generator.models = []
        if not batch:
            break
        now = db.utcnow()
        rows = []
        for item in batch:
            values: dict = {}
            apply_values(values, item.values, ValueContext(structure), allowed=None)
            rows.append(
                {
                    "uuid": uuid.uuid4(),
                    "identifier": item.identifier,
                    "family_id": None,
                    "is_enabled": True,
                    "values": values,
                    "categories": item.categories if isinstance(item.categories, list) else [],
                    "search_text": search_text_of(item.identifier, None, values),
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            )
        t0, c0 = time.perf_counter(), time.process_time()
        with db.transaction() as session:
            session.connection().execute(table.insert(), rows)
        elapsed += time.perf_counter() - t0
        cpu += time.process_time() - c0
        written += len(rows)
    return {
        "raw_executemany_seconds": round(elapsed, 2),
        "raw_executemany_cpu_seconds": round(cpu, 2),
        "raw_executemany_rows_per_s": round(written / elapsed),
    }


if __name__ == "__main__":
    main()
