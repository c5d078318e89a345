"""Benchmark: export feeds from a loaded catalogue, beside the raw scan-and-write of the same rows.

    python bench/export_feeds.py --database-url URL [--profiles yandex_market,google_merchant,webshop]

Works on a catalogue loaded by bench/load_catalog.py. Each profile is installed from its preset
(if missing) and exported in a process of its own, so every figure has its own peak resident
memory: products per second end to end (read, resolve, gate, check, write, publish), CPU
seconds, and the raw baseline measured in the same process: a keyset scan of the same product
rows (values decoded) written with lxml `xmlfile` (one element per product, for XML feeds) or
orjson (JSON Lines). A big export resolves part of its batches in a helper process on a second
core; its CPU seconds and peak memory are printed apart (`--no-helper` exports in one process).
A second export of the same profile shows that no image rendition is made again. The profile
`webshop_jsonl` is the web shop writing its JSON Lines file alone (`csv: false, jsonld: false`). `--delta 1000`
then changes that many products and times a delta export of the web shop.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OUT = Path(__file__).resolve().parent / "out"


def peak_rss_mb() -> float:
    """Return the peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def helper_figures() -> dict[str, float]:
    """Return the CPU seconds and peak resident memory (MB) of the helper processes this process has waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"helper_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2), "helper_peak_rss_mb": round(usage.ru_maxrss / 1024)}


def app_for(url: str, use_helper: bool = True):  # type: ignore[no-untyped-def]
    from pim.app import create_app

    return create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(OUT / "instance"), "FEEDS_PATH": str(OUT / "feeds"), "EXPORT_HELPER": use_helper})


def raw_baseline(kind: str, target: Path) -> dict[str, float]:
    """Scan every product row by keyset and write one small record per product, as fast as the libraries go."""
    import orjson
    from lxml import etree
    from sqlalchemy import select

    from pim import db
    from pim.catalog.models import Product

    started, cpu = time.perf_counter(), time.process_time()
    rows = 0
    last = 0
    columns = (Product.id, Product.identifier, Product.values)
    with open(target, "wb") as out:
        if kind == "xml":
            with etree.xmlfile(out, encoding="utf-8") as xf, xf.element("offers"):
                while True:
                    batch = db.session.execute(select(*columns).where(Product.id > last).order_by(Product.id).limit(1000)).all()
                    if not batch:
                        break
                    last = batch[-1].id
                    for row in batch:
                        offer = etree.Element("offer", id=row.identifier)
                        name = row.values.get("name", {}).get("<all_channels>", {})
                        for locale, text in name.items():
                            etree.SubElement(offer, "name", lang=locale).text = text
                        etree.SubElement(offer, "url").text = f"https://shop.example.com/products/{row.identifier}"
                        xf.write(offer)
                        rows += 1
        else:
            while True:
                batch = db.session.execute(select(*columns).where(Product.id > last).order_by(Product.id).limit(1000)).all()
                if not batch:
                    break
                last = batch[-1].id
                for row in batch:
                    out.write(orjson.dumps({"sku": row.identifier, "values": row.values}) + b"\n")
                    rows += 1
    elapsed = time.perf_counter() - started
    return {"raw_rows": rows, "raw_seconds": round(elapsed, 2), "raw_per_s": round(rows / elapsed), "raw_cpu_seconds": round(time.process_time() - cpu, 2)}


# profiles measured besides the presets: (preset, options of the format)
VARIANTS = {"webshop_jsonl": ("webshop", {"csv": False, "jsonld": False})}


def one(url: str, profile: str, with_raw: bool, use_helper: bool) -> dict[str, object]:
    """Export one profile in this process and measure it (called in a child process)."""
    import yaml

    from pim.actor import Actor
    from pim.publishing.export import run_export
    from pim.publishing.services import apply_definition, install_preset, list_profiles, show_definition

    app = app_for(url, use_helper)
    with app.app_context():
        if profile not in {p.code for p in list_profiles()}:
            preset, options = VARIANTS.get(profile, (profile, None))
            install_preset(preset, code=profile, actor=Actor("bench"))
            if options is not None:
                apply_definition({**yaml.safe_load(show_definition(profile)), "options": options}, actor=Actor("bench"))
        started, cpu = time.perf_counter(), time.process_time()
        result = run_export(profile)
        elapsed = time.perf_counter() - started
        products = result.exported + result.skipped
        figures: dict[str, object] = {
            "profile": profile,
            "products": products,
            "exported": result.exported,
            "skipped": result.skipped,
            "seconds": round(elapsed, 2),
            "per_s": round(products / elapsed),
            "cpu_seconds": round(time.process_time() - cpu, 2),
            "peak_rss_mb": round(peak_rss_mb()),
            **helper_figures(),
        }
        from pim import db
        from pim.publishing.models import ExportRun

        run = db.session.get(ExportRun, result.run_id)
        if run is not None:
            figures["renditions_made"] = run.counts.get("renditions_made", 0)
        if with_raw:
            kind = "xml" if result.files and result.files[0]["name"].endswith(".xml") else "jsonl"
            figures.update(raw_baseline(kind, OUT / f"raw-{profile}.{kind}"))
            figures["ratio_to_raw"] = round(float(figures["raw_per_s"]) / max(float(figures["per_s"]), 1), 2)  # type: ignore[arg-type]
    return figures


def delta(url: str, changed: int) -> dict[str, object]:
    """Change `changed` products, then time a delta export of the web shop."""
    from sqlalchemy import select

    from pim import db
    from pim.actor import Actor
    from pim.catalog.models import Product
    from pim.catalog.services import ProductInput, upsert_products
    from pim.publishing.export import run_export

    app = app_for(url)
    with app.app_context():
        identifiers = list(db.session.scalars(select(Product.identifier).where(Product.parent_id.is_(None)).order_by(Product.id.desc()).limit(changed)))
        stamp = str(time.time())
        items = [
            ProductInput(identifier, values={"name": [{"locale": "en_US", "scope": None, "data": f"Changed {identifier} {stamp}"}]})
            for identifier in identifiers
        ]
        upsert_products(items, actor=Actor("bench"))
        started = time.perf_counter()
        result = run_export("webshop", is_delta=True)
        elapsed = time.perf_counter() - started
    return {"delta_changed": len(identifiers), "delta_exported": result.exported, "delta_seconds": round(elapsed, 2), "peak_rss_mb": round(peak_rss_mb())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=f"sqlite:///{OUT / 'load.sqlite3'}")
    parser.add_argument("--profiles", default="yandex_market,google_merchant,webshop")
    parser.add_argument("--delta", type=int, default=0, help="Change this many products and time a delta export of the web shop.")
    parser.add_argument("--twice", action="store_true", help="Export each profile twice (the second makes no rendition).")
    parser.add_argument("--skip-raw", action="store_true")
    parser.add_argument("--no-helper", action="store_true", help="Export in one process (no helper process resolving on a second core).")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--delta-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.database_url, args.one, not args.skip_raw, not args.no_helper)))
        return
    if args.delta_only:
        print(json.dumps(delta(args.database_url, args.delta)))
        return
    base = [sys.executable, __file__, "--database-url", args.database_url]
    for profile in args.profiles.split(","):
        for attempt in range(2 if args.twice else 1):
            command = [*base, "--one", profile] + (["--skip-raw"] if args.skip_raw or attempt else []) + (["--no-helper"] if args.no_helper else [])
            done = subprocess.run(command, capture_output=True, text=True, env=os.environ)
            if done.returncode != 0:
                sys.exit(f"export of {profile} failed:\n{done.stderr}")
            print(done.stdout.strip().splitlines()[-1], flush=True)
    if args.delta:
        output = subprocess.run([*base, "--delta-only", "--delta", str(args.delta)], check=True, capture_output=True, text=True).stdout
        print(output.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
