"""Benchmark: product grid pages, counts, searches and single saves on a loaded catalogue.

    python bench/grid_queries.py --database-url URL [--runs 30]

Run it on the database `bench/load_catalog.py --keep` leaves behind. For each query it takes
the median and 95th percentile over `--runs` pages (each with a different cursor or value),
through the query service (`list_products` with 50 rows, sorted by updated time, newest first)
and, beside it, the same page read with hand-written SQL through the raw driver, so the
service's overhead reads as a ratio. Before measuring it gives 100,000 products one shared
`updated` time, as a bulk edit would, and pages through that tie group too. It then brings the
statistics up to date (on PostgreSQL with VACUUM ANALYZE, the state autovacuum reaches soon after
a load).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pim import db  # noqa: E402
from pim.actor import Actor, Source  # noqa: E402
from pim.app import create_app  # noqa: E402


def measure(fn: Callable[[int], Any], runs: int) -> dict[str, float]:
    """Run fn(i) `runs` times; return the median and p95 in milliseconds."""
    fn(0)  # warm caches once
    times = []
    for i in range(runs):
        started = time.perf_counter()
        fn(i + 1)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--skip-tie", action="store_true", help="Do not create the 100,000-product tie group.")
    args = parser.parse_args()
    app = create_app({"DATABASE_URL": args.database_url, "INSTANCE_PATH": str(Path(__file__).resolve().parent / "out" / "instance")})
    with app.app_context():
        results = run(args.runs, not args.skip_tie)
    print(json.dumps(results, indent=1))


def run(runs: int, make_tie: bool) -> dict[str, Any]:
    from pim.catalog.models import Product
    from pim.catalog.queries import ProductQuery, count_products, list_products
    from pim.catalog.services import update_product

    session = db.session
    dialect = session.get_bind().dialect.name
    total = session.scalar(text("SELECT count(*) FROM product"))
    if make_tie:
        with db.transaction():
            tie = db.utcnow()
            session.execute(text("UPDATE product SET updated_at = :t WHERE id IN (SELECT id FROM product ORDER BY id LIMIT 100000)"), {"t": tie})
    session.commit()
    if dialect == "postgresql":
        # the state autovacuum reaches minutes after a load: statistics and the visibility map
        # (index-only probes of product_facet need it)
        with session.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        session.execute(text("ANALYZE"))
        session.commit()
    results: dict[str, Any] = {"products": total, "database": dialect}

    def page_walker(filters: dict[str, Any], sort: str = "updated") -> Callable[[int], Any]:
        cursor: dict[str, str | None] = {"after": None}
        query = ProductQuery(filters=filters, sort=sort, descending=True, locale="en_US")

        def fn(_i: int) -> Any:
            page = list_products(query, limit=50, after=cursor["after"])
            cursor["after"] = page.next_cursor
            return page

        return fn

    common = {
        "all, newest first": {},
        "family": {"family": [{"operator": "IN", "value": ["electronics"]}]},
        "category subtree": {"categories": [{"operator": "IN CHILDREN", "value": ["footwear"]}]},
        "incomplete on ecommerce de_DE": {"completeness": [{"operator": "<", "value": 100, "scope": "ecommerce", "locale": "de_DE"}]},
        "complete on marketplace": {"completeness": [{"operator": "COMPLETE", "scope": "marketplace"}]},
        "enabled": {"enabled": [{"operator": "=", "value": True}]},
        "updated since": {"updated": [{"operator": ">", "value": "2000-01-01 00:00:00"}]},
        "family + category + enabled": {
            "family": [{"operator": "IN", "value": ["shoes"]}],
            "categories": [{"operator": "IN CHILDREN", "value": ["women_shoes"]}],
            "enabled": [{"operator": "=", "value": True}],
        },
    }
    heavy = {
        "attribute: brand IN": {"brand": [{"operator": "IN", "value": ["aurora"]}]},
        "attribute: rare brand IN": {"brand": [{"operator": "IN", "value": ["kestrel"]}], "family": [{"operator": "IN", "value": ["grocery"]}]},
        "attribute: features NOT IN": {"features": [{"operator": "NOT IN", "value": ["waterproof"]}]},
        "attribute: color EMPTY": {"color": [{"operator": "EMPTY"}]},
        "attribute: brand IN + family + enabled": {
            "brand": [{"operator": "IN", "value": ["aurora"]}],
            "family": [{"operator": "IN", "value": ["shoes"]}],
            "enabled": [{"operator": "=", "value": True}],
        },
        "attribute: name CONTAINS": {"name": [{"operator": "CONTAINS", "value": "boot", "locale": "en_US"}]},
        "attribute: description CONTAINS": {"description": [{"operator": "CONTAINS", "value": "leather", "locale": "en_US", "scope": "ecommerce"}]},
        "attribute: description CONTAINS, no match": {
            "description": [{"operator": "CONTAINS", "value": "водонепроницаемый", "locale": "ru_RU", "scope": "ecommerce"}]
        },
        "attribute: price > 500 EUR": {"price": [{"operator": ">", "value": {"amount": 500, "currency": "EUR"}, "scope": "ecommerce"}]},
        "attribute: price < 50 EUR": {"price": [{"operator": "<", "value": {"amount": 50, "currency": "EUR"}, "scope": "ecommerce"}]},
        "attribute: weight < 1 kg": {"weight": [{"operator": "<", "value": {"amount": 1, "unit": "KILOGRAM"}}]},
        "attribute: released in 2024": {"release_date": [{"operator": "BETWEEN", "value": ["2024-01-01", "2024-12-31"]}]},
        "full-text: 'nordlys trail'": {"search": [{"operator": "=", "value": "nordlys trail"}]},
    }
    pages: dict[str, Any] = {}
    for name, filters in {**common, **heavy}.items():
        figures = measure(page_walker(filters), runs)
        query = ProductQuery(filters=filters, sort="updated", descending=True)
        count_figures = measure(lambda _i, q=query: count_products(q), max(5, runs // 3))
        figures["count_p50_ms"] = count_figures["p50_ms"]
        figures["count_p95_ms"] = count_figures["p95_ms"]
        figures["matches"] = count_products(query)
        pages[name] = figures
    results["pages"] = pages

    # The same "all, newest first" page through the raw driver, for the ratio.
    connection = session.connection().connection.driver_connection
    state: dict[str, Any] = {"last": None}
    placeholder = "?" if dialect == "sqlite" else "%s"

    def raw_page(_i: int) -> None:
        cursor = connection.cursor()
        if state["last"] is None:
            cursor.execute("SELECT id, updated_at FROM product ORDER BY updated_at DESC, id DESC LIMIT 51")
        else:
            cursor.execute(
                f"SELECT id, updated_at FROM product WHERE (updated_at, id) < ({placeholder}, {placeholder}) ORDER BY updated_at DESC, id DESC LIMIT 51",
                state["last"],
            )
        rows = cursor.fetchall()
        ids = [r[0] for r in rows[:50]]
        cursor.execute(f"SELECT * FROM product WHERE id IN ({','.join(placeholder for _ in ids)})", ids)
        cursor.fetchall()
        state["last"] = (rows[49][1], rows[49][0]) if len(rows) > 50 else None

    results["raw_driver_all_newest_first"] = measure(raw_page, runs)
    session.commit()

    # Deep inside a 100,000-product tie group: start the walk at the tie's first page.
    if make_tie:
        tie_query = ProductQuery(filters={}, sort="updated", descending=True)
        first = list_products(tie_query, limit=50)
        state_tie = {"after": first.next_cursor}
        for _ in range(20):
            state_tie["after"] = list_products(tie_query, limit=50, after=state_tie["after"]).next_cursor

        def tie_page(_i: int) -> None:
            page = list_products(tie_query, limit=50, after=state_tie["after"])
            state_tie["after"] = page.next_cursor

        results["pages_inside_a_100k_tie_group"] = measure(tie_page, runs)

    # Saving one product: validation, completeness, version.
    identifiers = list(session.scalars(select(Product.identifier).where(Product.parent_id.is_(None)).order_by(Product.id).limit(2000)))
    rng = random.Random(3)
    actor = Actor("bench", Source.UI)

    def save(i: int) -> None:
        identifier = rng.choice(identifiers)
        update_product(identifier, values={"name": [{"locale": "en_US", "scope": None, "data": f"Edited name {i} {rng.random():.6f}"}]}, actor=actor)

    results["save_one_product"] = measure(save, max(runs, 50))
    return results


if __name__ == "__main__":
    main()
