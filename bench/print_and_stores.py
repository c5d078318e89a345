"""Benchmark: the print catalogue, shelf labels and till file, each beside raw ReportLab or csv doing the same work.

    python bench/print_and_stores.py [--products 100000] [--runs 3] [--database-url URL] [--only print,labels,till]
    python bench/print_and_stores.py --database-url sqlite:///bench/out/stores.sqlite3 --profile print-warm

Without --database-url it creates bench/out/stores.sqlite3 (media, renditions and feeds under
bench/out/stores/) and loads `--products` demo products through `load_demo`; with it, the
catalogue there is reused (and loaded when it has no products). It then installs three profiles
from their presets, with filters adjusted to reach the volumes of the requirements:

- `print_catalogue`: the preset (footwear and electronics, complete for print/en_US, A4, 2 x 3
  grid, 600 x 600 JPEG renditions) narrowed by an `sku IN` filter to ~820 products: the first
  480 complete electronics products (one block each) and the variants of the first shoe models
  (one page-wide block each, their sizes as a table), about 100 pages. The demo draws one
  picture per colour; these products get a generated 1200 x 1200 picture of their own (through
  the catalogue services), so the catalogue embeds some 500 different images and a cold run
  makes as many renditions.
- `shelf_labels`: the preset (A4 sheets of 3 x 7) without its family filter and with the unit
  price optional (shown where a product has a net content), run with `skus=` of exactly
  `--labels` products complete for pos/ru_RU: every grocery product first (with unit prices),
  then electronics and apparel, as a store reprinting its labels after a price change. The
  demo's groceries are under 3 % of its products: 10,000 grocery labels alone would take a
  catalogue of some 370,000 products.
- `store_pos`: the preset as shipped (every enabled product complete for pos, CSV), on the
  whole catalogue.

Each measurement runs in a process of its own, so each has its own peak resident memory:

- `print-cold`: the renditions of the profile's image settings are deleted first, so the run
  makes them all; `print-warm`: the same export with the renditions cached.
- `print-raw`: a keyset scan of the same product rows (values and their models' values, the
  products' deepest categories), then ReportLab alone draws the same blocks on the same page
  size and grid: a cover, a contents page, a new page per category, per product block a
  rounded box, `drawImage` of the same rendition file, the name on up to two lines, the SKU, up
  to four attribute lines, the description (tags stripped, cut to 180 characters) wrapped into
  the lines left, the price; per shoe model a page-wide block with the image, price, name,
  attributes and a table of its variants (axis values, SKU, price), "+ N more" past 13 rows a
  grid row; header and footer on every page; the same Source Sans Pro TrueType fonts, embedded.
- `labels` and `labels-raw`: the same SKUs scanned by keyset (values and models' values), then
  ReportLab alone draws, per label on the same 3 x 7 A4 sheet: the brand, the name on up to
  two lines, the price at 22 pt, the unit price per kg or l where the product has a net
  content, the SKU, and an EAN-13 drawn as a white box, one rectangle per bar and the 13 digits.
- `till` and `till-raw`: a keyset scan of the same product rows (every enabled product, model
  values merged, the deepest category per product read per batch) written by `csv.writer`
  with the same columns (article, ean, description, price, vat_rate, unit, weighed, plu,
  department), `;`-separated UTF-8.

A raw figure's seconds cover its scan and its drawing or writing (`draw_seconds` alone too).
The raw baselines draw no former price, which the PIM reads from the price history.

Before each measurement the file system is synced, so the writes of one do not land in the
next one's fsync. Each figure is printed as one JSON line; after `--runs` rounds a summary line
gives the medians, the ratios PIM / raw (seconds for the same work) and whether each target is
met. `reportlab_accelerated` says whether ReportLab's C accelerator (the rl-accel package) was
importable: without it ReportLab encodes images and page streams in pure Python, a large part
of the PDF baselines' time. `--profile KIND` runs one measurement under cProfile and prints its
top functions; with `--single-process` a big export resolves every batch in its own process
instead of handing part of them to a helper process, so the profile sees all the work.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import os
import pstats
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

OUT = Path(__file__).resolve().parent / "out"
DEFAULT_DATABASE = OUT / "stores.sqlite3"
DEFAULT_INSTANCE = OUT / "stores"
KINDS = ("print-cold", "print-warm", "print-raw", "labels", "labels-raw", "till", "till-raw")
BATCH = 1000
# the print selection: complete electronics products (one block each), then shoe models to this many products
PRINT_SINGLES = 480
# targets of the requirements
TARGETS = {"print_seconds": 15.0, "print_ratio": 2.0, "print_rss_mb": 300.0, "labels_seconds": 30.0, "till_per_s": 20000.0}


def peak_rss_mb() -> float:
    """Return the peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def app_for(url: str, instance: Path):  # type: ignore[no-untyped-def]
    """Create the application on the benchmark's database, media and feeds folders."""
    from pim.app import create_app

    return create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(instance), "FEEDS_PATH": str(instance / "feeds")})


def timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run `work` and return its result, wall seconds and CPU seconds."""
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - started, time.process_time() - cpu


# --- the catalogue --------------------------------------------------------------------------


def setup(url: str, instance: Path, products: int, labels: int, print_products: int) -> dict[str, Any]:
    """Load the demo catalogue when the database has no products, then install the three profiles once."""
    from sqlalchemy import func, select

    from pim import db
    from pim.catalog.models import Product
    from pim.migrate import upgrade
    from pim.publishing.services import list_profiles

    engine = db.make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = app_for(url, instance)
    figures: dict[str, Any] = {"step": "setup"}
    with app.app_context():
        if not db.session.scalar(select(func.count()).select_from(Product)):
            from pim.demo import load_demo

            report, seconds, _cpu = timed(lambda: load_demo(products=products))
            figures.update({"loaded": report.created, "rejected": len(report.rejected), "load_seconds": round(seconds, 1)})
            db.session.remove()
        figures["products"] = db.session.scalar(select(func.count()).select_from(Product))
        installed = {profile.code for profile in list_profiles()}
        if "print_catalogue" not in installed:
            skus, seconds = install_print(print_products)
            figures.update({"print_selection": len(skus), "print_setup_seconds": round(seconds, 1)})
        if "shelf_labels" not in installed:
            install_labels()
        if "store_pos" not in installed:
            install_till()
        figures["labels_available"] = len(label_skus(labels))
    return figures


def complete_condition(channel: str, locale: str) -> Any:
    """Return a condition on Product: complete for a channel and locale (only incomplete pairs are stored)."""
    from sqlalchemy import exists, select

    from pim.catalog.models import Completeness, Product
    from pim.structure.snapshot import get_structure

    structure = get_structure()
    incomplete = (
        select(Completeness.product_id)
        .where(Completeness.product_id == Product.id)
        .where(Completeness.channel_id == structure.channels[channel].id, Completeness.locale_id == structure.locales[locale])
    )
    return Product.family_id.is_not(None) & ~exists(incomplete)


def print_selection(target: int) -> tuple[list[str], list[str], list[str]]:
    """Return the print selection's SKUs, its single products and its shoe colour models (which carry the images)."""
    from sqlalchemy import select

    from pim import db
    from pim.catalog.models import Product, ProductModel
    from pim.structure.models import Family

    complete = complete_condition("print", "en_US")
    family_id = {code: id_ for code, id_ in db.session.execute(select(Family.code, Family.id))}
    singles = list(
        db.session.scalars(
            select(Product.identifier)
            .where(Product.family_id == family_id["electronics"], Product.parent_id.is_(None), Product.is_enabled, complete)
            .order_by(Product.id)
            .limit(min(PRINT_SINGLES, target))
        )
    )
    skus = list(singles)
    colour_models: list[str] = []
    roots = db.session.scalars(select(ProductModel.id).where(ProductModel.parent_id.is_(None), ProductModel.code.like("SHOE%")).order_by(ProductModel.id))
    for root in roots:
        if len(skus) >= target:
            break
        subs = dict(db.session.execute(select(ProductModel.id, ProductModel.code).where(ProductModel.parent_id == root)).all())
        variants = list(
            db.session.scalars(select(Product.identifier).where(Product.parent_id.in_(list(subs)), Product.is_enabled, complete).order_by(Product.id))
        )
        if variants:
            skus.extend(variants)
            colour_models.extend(subs.values())
    return skus, singles, colour_models


def picture(number: int) -> bytes:
    """Draw a distinct 1200 x 1200 product picture (a shape in a colour of its own) as JPEG."""
    from PIL import Image, ImageDraw

    rng = random.Random(number)
    colour = (rng.randint(20, 230), rng.randint(20, 230), rng.randint(20, 230))
    image = Image.new("RGB", (1200, 1200), (246, 246, 244))
    draw = ImageDraw.Draw(image)
    left, top = rng.randint(80, 260), rng.randint(300, 520)
    draw.rounded_rectangle((left, top, 1200 - left, top + rng.randint(260, 420)), radius=rng.randint(40, 160), fill=colour)
    for _ in range(rng.randint(2, 5)):
        x, y, size = rng.randint(100, 900), rng.randint(150, 900), rng.randint(80, 260)
        draw.ellipse((x, y, x + size, y + size), fill=tuple(max(0, c - 60) for c in colour))
    draw.rectangle((rng.randint(100, 500), 180, rng.randint(600, 1100), 260), fill=(40, 40, 40))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def install_print(target: int) -> tuple[list[str], float]:
    """Give the print selection pictures of their own and install the print catalogue narrowed to it."""
    import yaml
    from sqlalchemy import select

    from pim import db
    from pim.actor import Actor, Source
    from pim.catalog.media import store_media
    from pim.catalog.models import ProductModel
    from pim.catalog.services import ProductInput, ProductModelInput, save_product_models, upsert_products
    from pim.publishing.services import apply_definition, install_preset, show_definition

    started = time.perf_counter()
    actor = Actor("bench", Source.IMPORT)
    skus, singles, colour_models = print_selection(target)
    number = 0

    def image_value() -> list[dict[str, Any]]:
        nonlocal number
        number += 1
        key = store_media(picture(number), f"bench_{number:05d}.jpg").key
        return [{"locale": None, "scope": None, "data": key}]

    for start in range(0, len(singles), BATCH):
        items = [ProductInput(sku, values={"image": image_value()}) for sku in singles[start : start + BATCH]]
        report = upsert_products(items, actor=actor)
        if report.rejected:
            raise SystemExit(f"giving the print products pictures failed: {report.rejected[:3]}")
    parents = dict(db.session.execute(select(ProductModel.code, ProductModel.parent_id).where(ProductModel.code.in_(colour_models))).all())
    root_codes = dict(db.session.execute(select(ProductModel.id, ProductModel.code).where(ProductModel.id.in_(set(parents.values())))).all())
    models = [ProductModelInput(code=code, parent=root_codes[parents[code]], values={"image": image_value()}) for code in colour_models]
    for result in save_product_models(models, actor=actor):
        if result.status == "rejected":
            raise SystemExit(f"giving the print models pictures failed: {result.errors[:3]}")
    install_preset("print_catalogue", actor=actor)
    definition = yaml.safe_load(show_definition("print_catalogue"))
    definition["filter"]["sku"] = [{"operator": "IN", "value": skus}]
    apply_definition(definition, actor=actor)
    return skus, time.perf_counter() - started


def install_labels() -> None:
    """Install the shelf labels for every family: the SKUs of a run choose the products.

    The preset is for groceries, which must show a unit price; electronics and apparel have no
    net content, so the unit price is made optional (shown where there is one).
    """
    import yaml

    from pim.actor import Actor
    from pim.publishing.services import apply_definition, install_preset, show_definition

    actor = Actor("bench")
    install_preset("shelf_labels", actor=actor)
    definition = yaml.safe_load(show_definition("shelf_labels"))
    definition["filter"].pop("family", None)
    unit_price = (definition.get("options") or {}).get("unit_price")
    if isinstance(unit_price, dict) and unit_price.get("required"):
        unit_price["required"] = False
    apply_definition(definition, actor=actor)


def install_till() -> None:
    """Install the till file as shipped."""
    from pim.actor import Actor
    from pim.publishing.services import install_preset

    install_preset("store_pos", actor=Actor("bench"))


def label_skus(count: int) -> list[str]:
    """Return `count` SKUs complete for pos/ru_RU: every grocery product first, then electronics and apparel, by id."""
    from sqlalchemy import select

    from pim import db
    from pim.catalog.models import Product
    from pim.structure.models import Family

    complete = complete_condition("pos", "ru_RU")
    family_id = {code: id_ for code, id_ in db.session.execute(select(Family.code, Family.id))}
    skus: list[str] = []
    for family in ("grocery", "electronics", "apparel", "shoes"):
        if len(skus) >= count:
            break
        skus.extend(
            db.session.scalars(
                select(Product.identifier)
                .where(Product.family_id == family_id[family], Product.is_enabled, complete)
                .order_by(Product.id)
                .limit(count - len(skus))
            )
        )
    return skus


def profile_definition(code: str) -> dict[str, Any]:
    """Return an installed profile's definition."""
    from pim.publishing.export import get_profile

    return dict(get_profile(code).definition)


# --- PIM exports ----------------------------------------------------------------------------


def pdf_pages(path: Path) -> int:
    """Count the pages of a PDF written by ReportLab (page objects are not compressed)."""
    return len(re.findall(rb"/Type /Page[^s]", path.read_bytes()))


def export(code: str, skus: list[str] | None = None) -> dict[str, Any]:
    """Run one export end to end and return its figures."""
    from pim import db
    from pim.publishing.export import run_export
    from pim.publishing.models import ExportRun

    result, seconds, cpu = timed(lambda: run_export(code, skus=skus))
    run = db.session.get(ExportRun, result.run_id)
    counts = run.counts if run is not None else {}
    main = result.folder / result.files[0]["name"] if result.folder and result.files else None
    figures: dict[str, Any] = {
        "exported": result.exported,
        "skipped": result.skipped,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "renditions_made": counts.get("renditions_made", 0),
        "renditions_cached": counts.get("renditions_cached", 0),
        "file_mb": round(main.stat().st_size / 1e6, 1) if main else 0,
    }
    if main is not None and main.suffix == ".pdf":
        figures["pages"] = pdf_pages(main)
    return figures


def print_export(cold: bool) -> dict[str, Any]:
    """Export the print catalogue, after deleting its renditions for a cold run."""
    from pim.catalog.media import media_root
    from pim.publishing.renditions import read_spec

    spec, _errors = read_spec(profile_definition("print_catalogue").get("images"))
    removed = 0
    if cold and spec is not None:
        folder = media_root() / "renditions" / spec.key
        removed = len(list(folder.glob("*"))) if folder.exists() else 0
        shutil.rmtree(folder, ignore_errors=True)
    figures = export("print_catalogue")
    figures["renditions_removed"] = removed
    figures["products_per_s"] = round(figures["exported"] / figures["seconds"])
    figures["pages_per_s"] = round(figures["pages"] / figures["seconds"], 1)
    return figures


def labels_export(count: int) -> dict[str, Any]:
    """Print `count` shelf labels chosen by SKU."""
    skus = label_skus(count)
    figures = export("shelf_labels", skus)
    figures["labels"] = figures["exported"]
    figures["per_s"] = round(figures["exported"] / figures["seconds"])
    return figures


def till_export() -> dict[str, Any]:
    """Write the till file of the whole catalogue."""
    figures = export("store_pos")
    figures["products"] = figures["exported"] + figures["skipped"]
    figures["per_s"] = round(figures["products"] / figures["seconds"])
    return figures


# --- raw scans ------------------------------------------------------------------------------


def scan(condition: Any) -> Iterator[tuple[list[Any], dict[int, Any]]]:
    """Yield batches of product rows by keyset, each with the product models their variants inherit from."""
    from sqlalchemy import select

    from pim import db
    from pim.catalog.models import Product, ProductModel

    models: dict[int, Any] = {}
    last = 0
    columns = (Product.id, Product.identifier, Product.parent_id, Product.values)
    while True:
        rows = db.session.execute(select(*columns).where(condition, Product.id > last).order_by(Product.id).limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1].id
        if len(models) > 4000:
            models.clear()
        wanted = {row.parent_id for row in rows if row.parent_id is not None} - set(models)
        while wanted:
            found = db.session.execute(
                select(ProductModel.id, ProductModel.code, ProductModel.parent_id, ProductModel.values).where(ProductModel.id.in_(wanted))
            )
            wanted = set()
            for model in found:
                models[model.id] = model
                if model.parent_id is not None and model.parent_id not in models:
                    wanted.add(model.parent_id)
        yield rows, models


def merged(row: Any, models: dict[int, Any]) -> tuple[dict[str, Any], str | None]:
    """Return a product's values with its models' values under them, and its root model's code."""
    chain = []
    model = models.get(row.parent_id) if row.parent_id is not None else None
    while model is not None:
        chain.append(model)
        model = models.get(model.parent_id) if model.parent_id is not None else None
    if not chain:
        return row.values, None
    values: dict[str, Any] = {}
    for model in reversed(chain):
        values.update(model.values)
    values.update(row.values)
    return values, chain[-1].code


def value(values: dict[str, Any], code: str, locale: str | None = None, scope: str | None = None) -> Any:
    """Read one value from a values document."""
    by_scope = values.get(code) or {}
    by_locale = by_scope.get(scope or "<all_channels>") or {}
    return by_locale.get(locale or "<all_locales>")


def price(values: dict[str, Any], scope: str, currency: str) -> Decimal | None:
    """Read a channel's price in a currency."""
    for amount in value(values, "price", scope=scope) or []:
        if amount.get("currency") == currency:
            return Decimal(str(amount["amount"]))
    return None


def deepest_categories(ids: list[int], levels: dict[int, tuple[int, str]]) -> dict[int, str]:
    """Return each product's deepest category code among the known ones."""
    from sqlalchemy import select

    from pim import db
    from pim.catalog.models import ProductCategory

    best: dict[int, tuple[int, str]] = {}
    for product_id, category_id in db.session.execute(
        select(ProductCategory.product_id, ProductCategory.category_id).where(ProductCategory.product_id.in_(ids))
    ):
        found = levels.get(category_id)
        if found is not None and (product_id not in best or found[0] > best[product_id][0]):
            best[product_id] = found
    return {product_id: code for product_id, (_level, code) in best.items()}


def category_levels(tree: str | None = None) -> dict[int, tuple[int, str]]:
    """Return (level, code) per category id, of one tree or of all."""
    from sqlalchemy import select

    from pim import db
    from pim.catalog.models import Category

    statement = select(Category.id, Category.level, Category.code, Category.path)
    rows = db.session.execute(statement).all()
    if tree is not None:
        root = next(row.id for row in rows if row.code == tree)
        rows = [row for row in rows if row.id != root and row.path.startswith(f"/{root}/")]
    return {row.id: (row.level, row.code) for row in rows}


def option_labels(locale: str) -> dict[tuple[str, str], str]:
    """Return the label of every attribute option in a locale."""
    from sqlalchemy import select

    from pim import db
    from pim.structure.models import Attribute, AttributeOption

    labels = {}
    for attribute, option, texts in db.session.execute(
        select(Attribute.code, AttributeOption.code, AttributeOption.labels).join(Attribute, Attribute.id == AttributeOption.attribute_id)
    ):
        labels[(attribute, option)] = (texts or {}).get(locale) or (texts or {}).get("en_US") or option
    return labels


# --- raw ReportLab --------------------------------------------------------------------------


def raw_fonts() -> tuple[str, str]:
    """Register the same TrueType fonts the exporters embed and return their names."""
    import font_source_sans_pro
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = Path(font_source_sans_pro.__file__).parent / "files"
    pdfmetrics.registerFont(TTFont("Raw-Regular", str(folder / "SourceSansPro-Regular.ttf")))
    pdfmetrics.registerFont(TTFont("Raw-Bold", str(folder / "SourceSansPro-Bold.ttf")))
    return "Raw-Regular", "Raw-Bold"


def wrap(text: str, font: str, size: float, width: float, lines: int) -> list[str]:
    """Wrap words greedily into at most `lines` lines of the width."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    out: list[str] = []
    line = ""
    for word in text.split():
        trial = f"{line} {word}" if line else word
        if stringWidth(trial, font, size) <= width or not line:
            line = trial
            continue
        out.append(line)
        if len(out) == lines:
            return out
        line = word
    if line and len(out) < lines:
        out.append(line)
    return out


_TAGS = re.compile(r"<[^>]+>")


def catalogue_blocks() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Scan the print selection and return its blocks (a product, or a shoe model with its variants) and category labels."""
    from sqlalchemy import select

    from pim import db
    from pim.catalog.models import Category, Product
    from pim.publishing.renditions import read_spec, rendition_path

    definition = profile_definition("print_catalogue")
    skus = definition["filter"]["sku"][0]["value"]
    spec, _errors = read_spec(definition.get("images"))
    assert spec is not None
    labels = option_labels("en_US")
    levels = category_levels("master")
    names = {code: (texts or {}).get("en_US", code) for code, texts in db.session.execute(select(Category.code, Category.labels))}
    blocks: dict[str, dict[str, Any]] = {}
    condition = Product.identifier.in_(skus) & Product.is_enabled
    for rows, models in scan(condition):
        # a variant is linked to its models' categories too: a model's block takes its first variant's section
        sections = deepest_categories([row.id for row in rows], levels)
        for row in rows:
            values, root = merged(row, models)
            image = value(values, "image")
            path = str(rendition_path(spec, image)) if image else None
            amount = price(values, "print", "EUR")
            text = f"€{amount:,.2f}" if amount is not None else ""
            key = root or row.identifier
            block = blocks.get(key)
            if block is None:
                attributes = []
                if value(values, "brand"):
                    attributes.append(f"Brand: {labels.get(('brand', value(values, 'brand')), '')}")
                if value(values, "material", "en_US"):
                    attributes.append(f"Material: {value(values, 'material', 'en_US')}")
                screen = value(values, "screen_size")
                if screen:
                    attributes.append(f"Screen: {screen['amount']} in")
                if value(values, "warranty_months") is not None:
                    attributes.append(f"Warranty: {value(values, 'warranty_months')} months")
                description = _TAGS.sub("", value(values, "description", "en_US", "print") or "")[:180]
                block = blocks[key] = {
                    "key": key,
                    "name": value(values, "name", "en_US") or key,
                    "price": text,
                    "image": path,
                    "description": description,
                    "attributes": attributes[:4],
                    "rows": [],
                    "section": sections.get(row.id, ""),
                    "is_group": root is not None,
                }
            if root is not None:
                colour = labels.get(("color", value(values, "color") or ""), "")
                size = labels.get(("size", value(values, "size") or ""), "")
                block["rows"].append((f"{colour} {size}", row.identifier, text))
    missing = [block["image"] for block in blocks.values() if block["image"] and not Path(block["image"]).exists()]
    if missing:
        raise SystemExit(f"{len(missing)} renditions are missing (first {missing[0]}); run print-warm first")
    return sorted(blocks.values(), key=lambda block: block["section"]), names


def draw_catalogue(blocks: list[dict[str, Any]], names: dict[str, str], target: Path) -> int:
    """Draw the blocks with ReportLab alone on A4 in a 2 x 3 grid, a new page per category; return the pages."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    regular, bold = raw_fonts()
    width, height = A4
    margin_x, margin_top, margin_bottom, heading, gutter, pad = 15 * mm, 20 * mm, 18 * mm, 16 * mm, 5 * mm, 3 * mm
    columns, rows_per_page = 2, 3
    grid_top = height - margin_top - heading
    cell_width = (width - 2 * margin_x - gutter) / columns
    cell_height = (grid_top - margin_bottom - 2 * gutter) / rows_per_page
    image_height = (cell_height - 2 * pad) * 0.45
    canvas = Canvas(str(target), pagesize=A4, pageCompression=1)
    pages = 0

    def new_page(section: str) -> None:
        nonlocal pages
        if pages:
            canvas.showPage()
        pages += 1
        canvas.setFont(bold, 9)
        canvas.drawString(margin_x, height - 13 * mm, "Autumn catalogue")
        canvas.setFont(regular, 9)
        canvas.drawRightString(width - margin_x, height - 13 * mm, names.get(section, section))
        canvas.setLineWidth(0.5)
        canvas.line(margin_x, height - 15 * mm, width - margin_x, height - 15 * mm)
        canvas.line(margin_x, 13 * mm, width - margin_x, 13 * mm)
        canvas.setFont(regular, 8.5)
        canvas.drawCentredString(width / 2, 8.5 * mm, f"Page {pages}")
        canvas.setFont(bold, 16)
        canvas.drawString(margin_x, height - margin_top - 11 * mm, names.get(section, section))

    def text_lines(lines: list[str], x: float, y: float, size: float, font: str) -> float:
        canvas.setFont(font, size)
        for line in lines:
            canvas.drawString(x, y - size, line)
            y -= size + 2
        return y

    def table(block: dict[str, Any], x: float, y: float, table_width: float, capacity: int) -> None:
        rows = block["rows"]
        shown = rows if len(rows) <= capacity else rows[: capacity - 1]
        canvas.setFont(bold, 7.5)
        y -= 7.5
        canvas.drawString(x, y, "Variant")
        canvas.drawString(x + table_width * 0.42, y, "SKU")
        canvas.drawRightString(x + table_width, y, "Price")
        canvas.line(x, y - 2.5, x + table_width, y - 2.5)
        canvas.setFont(regular, 7.5)
        for axes, sku, amount in shown:
            y -= 9.5
            canvas.drawString(x, y, axes)
            canvas.drawString(x + table_width * 0.42, y, sku)
            canvas.drawRightString(x + table_width, y, amount)
        if len(shown) < len(rows):
            canvas.drawString(x, y - 9.5, f"+ {len(rows) - len(shown)} more")

    canvas.setFont(bold, 32)
    canvas.drawString(margin_x, height - 55 * mm, "Autumn catalogue")
    canvas.setFont(regular, 16)
    canvas.drawString(margin_x, height - 70 * mm, "Footwear and electronics")
    sections = list(dict.fromkeys(block["section"] for block in blocks))
    new_page("")
    y = grid_top
    for section in sections:
        canvas.setFont(regular, 11)
        canvas.drawString(margin_x, y, names.get(section, section))
        canvas.drawRightString(width - margin_x, y, "1")
        y -= 18
    section = None
    row = column = 0
    for block in blocks:
        span = 0
        if block["is_group"]:
            span = min(rows_per_page, max(1, -(-(len(block["rows"]) + 1) // 13)))
        if block["section"] != section:
            section, row, column = block["section"], 0, 0
            new_page(section)
        if span:
            if column:
                row, column = row + 1, 0
            if row + span > rows_per_page:
                new_page(section)
                row = 0
            box_height = span * cell_height + (span - 1) * gutter
            x, bottom = margin_x, grid_top - row * (cell_height + gutter) - box_height
            box_width = width - 2 * margin_x
            canvas.roundRect(x, bottom, box_width, box_height, 2 * mm, stroke=1, fill=0)
            left = min(cell_width, 0.4 * box_width)
            top = bottom + box_height - pad
            if block["image"]:
                canvas.drawImage(
                    block["image"], x + pad, top - image_height * 1.2, left - 2 * pad, image_height * 1.2, preserveAspectRatio=True, anchor="c", mask="auto"
                )
            canvas.setFont(bold, 14)
            canvas.drawString(x + pad, top - image_height * 1.2 - 18, block["price"])
            y = text_lines(wrap(block["name"], bold, 10, box_width - left - 2 * pad, 2), x + left + pad, top, 10, bold)
            y = text_lines(block["attributes"], x + left + pad, y, 8, regular)
            table(block, x + left + pad, y - 4, box_width - left - 2 * pad, span * 13)
            row += span
            continue
        if row >= rows_per_page:
            new_page(section)
            row = 0
        x = margin_x + column * (cell_width + gutter)
        bottom = grid_top - row * (cell_height + gutter) - cell_height
        canvas.roundRect(x, bottom, cell_width, cell_height, 2 * mm, stroke=1, fill=0)
        inner = cell_width - 2 * pad
        top = bottom + cell_height - pad
        if block["image"]:
            canvas.drawImage(block["image"], x + pad, top - image_height, inner, image_height, preserveAspectRatio=True, anchor="c", mask="auto")
        y = text_lines(wrap(block["name"], bold, 10, inner, 2), x + pad, top - image_height - 4, 10, bold)
        y = text_lines([f"SKU: {block['key']}", *block["attributes"]], x + pad, y, 8, regular)
        room = int((y - bottom - pad - 24) // 10)
        text_lines(wrap(block["description"], regular, 8, inner, max(room, 0)), x + pad, y, 8, regular)
        canvas.setFont(bold, 14)
        canvas.drawString(x + pad, bottom + pad + 5, block["price"])
        column += 1
        if column == columns:
            row, column = row + 1, 0
    canvas.save()
    return pages + 1


def raw_catalogue(instance: Path) -> dict[str, Any]:
    """Scan the print selection and draw its blocks with ReportLab alone."""
    target = instance / "raw-catalogue.pdf"
    (blocks, names), scan_seconds, scan_cpu = timed(catalogue_blocks)
    pages, draw_seconds, draw_cpu = timed(lambda: draw_catalogue(blocks, names, target))
    seconds = scan_seconds + draw_seconds
    return {
        "blocks": len(blocks),
        "products": sum(max(1, len(block["rows"])) for block in blocks),
        "images": len({block["image"] for block in blocks if block["image"]}),
        "pages": pages,
        "seconds": round(seconds, 2),
        "scan_seconds": round(scan_seconds, 2),
        "draw_seconds": round(draw_seconds, 2),
        "cpu_seconds": round(scan_cpu + draw_cpu, 2),
        "pages_per_s": round(pages / seconds, 1),
        "draw_pages_per_s": round(pages / draw_seconds, 1),
        "file_mb": round(target.stat().st_size / 1e6, 1),
    }


def label_data(count: int) -> list[dict[str, Any]]:
    """Scan the label SKUs and return what each label prints."""
    from pim.catalog.models import Product

    skus = label_skus(count)
    labels = option_labels("ru_RU")
    out = []
    for rows, models in scan(Product.identifier.in_(skus) & Product.is_enabled):
        for row in rows:
            values, _root = merged(row, models)
            amount = price(values, "pos", "RUB")
            if amount is None:
                continue
            unit_price = ""
            weight, volume = value(values, "net_content"), value(values, "net_volume")
            if weight:
                unit_price = f"{amount / Decimal(weight['base_data']):.2f} ₽ / кг".replace(".", ",")
            elif volume:
                unit_price = f"{amount / (Decimal(volume['base_data']) * 1000):.2f} ₽ / л".replace(".", ",")
            out.append(
                {
                    "sku": row.identifier,
                    "name": value(values, "name", "ru_RU") or row.identifier,
                    "brand": labels.get(("brand", value(values, "brand") or ""), ""),
                    "price": f"{amount:,.2f} ₽".replace(",", " ").replace(".", ","),
                    "unit_price": unit_price,
                    "ean": value(values, "ean"),
                }
            )
    return out


def draw_labels(labels: list[dict[str, Any]], target: Path) -> int:
    """Draw the labels with ReportLab alone, 3 x 7 on A4 (70 x 42.3 mm); return the pages."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    from exporters.pdf import ean13_pattern

    regular, bold = raw_fonts()
    label_width, label_height, columns, rows = 70 * mm, 42.3 * mm, 3, 7
    left = (A4[0] - columns * label_width) / 2
    top = A4[1] - (A4[1] - rows * label_height) / 2
    module, bar_height, pad = 0.33 * mm, 15 * mm, 2 * mm
    canvas = Canvas(str(target), pagesize=A4, pageCompression=1)
    pages = 0
    for index, label in enumerate(labels):
        slot = index % (columns * rows)
        if slot == 0:
            if index:
                canvas.showPage()
            pages += 1
        row, column = divmod(slot, columns)
        x = left + column * label_width
        y = top - (row + 1) * label_height
        inner = label_width - 2 * pad
        canvas.setFillColorRGB(0.4, 0.4, 0.4)
        canvas.setFont(regular, 6.5)
        canvas.drawString(x + pad, y + label_height - pad - 6.5, label["brand"])
        canvas.setFillColorRGB(0, 0, 0)
        canvas.setFont(bold, 9.5)
        for number, line in enumerate(wrap(label["name"], bold, 9.5, inner, 2)):
            canvas.drawString(x + pad, y + label_height - pad - 18 - number * 10.5, line)
        canvas.setFont(bold, 22)
        canvas.drawString(x + pad, y + label_height - pad - 48, label["price"])
        canvas.setFont(regular, 7.5)
        if label["unit_price"]:
            canvas.drawString(x + pad, y + label_height - pad - 58, label["unit_price"])
        canvas.setFont(regular, 6.5)
        canvas.drawRightString(x + label_width - pad, y + label_height - pad - 58, f"Арт. {label['sku']}")
        if label["ean"]:
            pattern = ean13_pattern(label["ean"])
            base_x, base_y = x + pad / 2, y + pad / 2
            canvas.setFillColorRGB(1, 1, 1)
            canvas.rect(base_x, base_y, 113 * module, bar_height + 7 * module, stroke=0, fill=1)
            canvas.setFillColorRGB(0, 0, 0)
            start = 0
            while start < 95:
                if pattern[start] != "1":
                    start += 1
                    continue
                end = start
                while end < 95 and pattern[end] == "1":
                    end += 1
                canvas.rect(base_x + (11 + start) * module, base_y + 7 * module, (end - start) * module, bar_height, stroke=0, fill=1)
                start = end
            canvas.setFont(regular, 8.5 * module)
            for position, digit in enumerate(label["ean"]):
                canvas.drawCentredString(base_x + (4 + position * 7) * module, base_y + 0.6 * module, digit)
    canvas.save()
    return pages


def raw_labels(instance: Path, count: int) -> dict[str, Any]:
    """Scan the label SKUs and draw the labels with ReportLab alone."""
    target = instance / "raw-labels.pdf"
    labels, scan_seconds, scan_cpu = timed(lambda: label_data(count))
    pages, draw_seconds, draw_cpu = timed(lambda: draw_labels(labels, target))
    seconds = scan_seconds + draw_seconds
    return {
        "labels": len(labels),
        "pages": pages,
        "seconds": round(seconds, 2),
        "scan_seconds": round(scan_seconds, 2),
        "draw_seconds": round(draw_seconds, 2),
        "cpu_seconds": round(scan_cpu + draw_cpu, 2),
        "per_s": round(len(labels) / seconds),
        "file_mb": round(target.stat().st_size / 1e6, 1),
    }


def raw_till(instance: Path) -> dict[str, Any]:
    """Scan every enabled product by keyset and write the till columns with csv.writer."""
    from pim.catalog.models import Product

    target = instance / "raw-till.csv"

    def work() -> int:
        levels = category_levels()
        written = 0
        with open(target, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
            writer.writerow(["article", "ean", "description", "price", "vat_rate", "unit", "weighed", "plu", "department"])
            for rows, models in scan(Product.is_enabled):
                departments = deepest_categories([row.id for row in rows], levels)
                for row in rows:
                    values, _root = merged(row, models)
                    amount = price(values, "pos", "RUB")
                    description = value(values, "till_name") or value(values, "name", "ru_RU") or ""
                    writer.writerow(
                        [
                            row.identifier,
                            value(values, "ean") or "",
                            " ".join(description.split())[:40],
                            f"{amount:.2f}" if amount is not None else "",
                            value(values, "vat_rate") or "",
                            value(values, "sales_unit") or "piece",
                            "1" if value(values, "sold_by_weight") else "0",
                            value(values, "plu") or "",
                            departments.get(row.id, ""),
                        ]
                    )
                    written += 1
        return written

    written, seconds, cpu = timed(work)
    return {
        "products": written,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "per_s": round(written / seconds),
        "file_mb": round(target.stat().st_size / 1e6, 1),
    }


# --- running --------------------------------------------------------------------------------


def reportlab_accelerated() -> bool:
    """Tell whether ReportLab runs with its C accelerator (rl-accel) rather than its pure-Python fallbacks."""
    from reportlab.lib import rl_accel

    return not rl_accel.asciiBase85Encode.__name__.startswith("_py_")


def measure(kind: str, url: str, instance: Path, labels: int, single_process: bool = False) -> dict[str, Any]:
    """Run one measurement in this process and return its figures with the peak resident memory."""
    app = app_for(url, instance)
    with app.app_context():
        if single_process:
            from pim.publishing import export as pipeline

            if not hasattr(pipeline, "_may_use_helper"):
                raise SystemExit("this version of the export pipeline has no helper process to turn off")
            pipeline._may_use_helper = lambda: False
        work: dict[str, Callable[[], dict[str, Any]]] = {
            "print-cold": lambda: print_export(cold=True),
            "print-warm": lambda: print_export(cold=False),
            "print-raw": lambda: raw_catalogue(instance),
            "labels": lambda: labels_export(labels),
            "labels-raw": lambda: raw_labels(instance, labels),
            "till": till_export,
            "till-raw": lambda: raw_till(instance),
        }
        figures = {"kind": kind, **work[kind]()}
    if kind.startswith(("print", "labels")):
        figures["reportlab_accelerated"] = reportlab_accelerated()
    figures["peak_rss_mb"] = round(peak_rss_mb())
    # an export may resolve part of a big run in a helper process: its own peak, when there was one
    helper = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if helper:
        figures["helper_peak_rss_mb"] = round(helper)
    return figures


def profile(kind: str, url: str, instance: Path, labels: int, single_process: bool) -> None:
    """Run one measurement under cProfile; print the top functions by own and by cumulative time."""
    profiler = cProfile.Profile()
    figures = profiler.runcall(measure, kind, url, instance, labels, single_process)
    path = instance / f"{kind}.prof"
    profiler.dump_stats(str(path))
    print(json.dumps({**figures, "profile": str(path)}), flush=True)
    for order in ("tottime", "cumulative"):
        buffer = io.StringIO()
        pstats.Stats(str(path), stream=buffer).sort_stats(order).print_stats(25)
        print(buffer.getvalue(), file=sys.stderr)


def median_of(rows: list[dict[str, Any]], name: str) -> float | None:
    numbers = [row[name] for row in rows if isinstance(row.get(name), int | float)]
    return round(statistics.median(numbers), 2) if numbers else None


def summary(results: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Return the medians of every kind, the ratios PIM / raw and whether each target is met."""
    medians = {
        kind: {name: median_of(rows, name) for name in rows[0] if name not in ("kind", "run") and type(rows[0][name]) in (int, float)}
        for kind, rows in results.items()
        if rows
    }
    out: dict[str, Any] = {"summary": True, "runs": max((len(rows) for rows in results.values()), default=0), "medians": medians, "targets": {}}
    targets = out["targets"]
    flags = [row["reportlab_accelerated"] for rows in results.values() for row in rows if "reportlab_accelerated" in row]
    if flags:
        out["reportlab_accelerated"] = all(flags)

    def ratio(kind: str, raw: str) -> float | None:
        if kind in medians and raw in medians and medians[raw]["seconds"]:
            return round(medians[kind]["seconds"] / medians[raw]["seconds"], 2)
        return None

    for kind in ("print-warm", "print-cold"):
        if kind in medians:
            out[f"{kind}_ratio_to_raw"] = ratio(kind, "print-raw")
    if "print-warm" in medians:
        warm = medians["print-warm"]
        targets["print: warm <= 15 s"] = warm["seconds"] <= TARGETS["print_seconds"]
        targets["print: warm <= 2 x raw"] = out.get("print-warm_ratio_to_raw") is not None and out["print-warm_ratio_to_raw"] <= TARGETS["print_ratio"]
        targets["print: peak RSS < 300 MB"] = max(medians[k]["peak_rss_mb"] for k in ("print-warm", "print-cold") if k in medians) < TARGETS["print_rss_mb"]
    if "labels" in medians:
        out["labels_ratio_to_raw"] = ratio("labels", "labels-raw")
        targets["labels: 10,000 in <= 30 s"] = medians["labels"]["labels"] >= 10000 and medians["labels"]["seconds"] <= TARGETS["labels_seconds"]
    if "till" in medians:
        out["till_ratio_to_raw"] = ratio("till", "till-raw")
        targets["till: >= 20,000 products/s"] = medians["till"]["per_s"] >= TARGETS["till_per_s"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="Reuse this catalogue (loaded when it has no products).")
    parser.add_argument("--instance", default=str(DEFAULT_INSTANCE), help="Folder of the catalogue's media, renditions and feeds.")
    parser.add_argument("--products", type=int, default=100000, help="Demo products to load into a new catalogue.")
    parser.add_argument("--labels", type=int, default=10000)
    parser.add_argument("--print-products", type=int, default=820)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="print,labels,till", help="Which of print, labels, till to measure.")
    parser.add_argument("--profile", choices=KINDS, default=None, help="Run one measurement under cProfile and print its top functions.")
    parser.add_argument("--single-process", action="store_true", help="With --profile or --one: no helper process (a profile then sees all the work).")
    parser.add_argument("--one", choices=KINDS, default=None, help="Run one measurement in this process and print its figures.")
    parser.add_argument("--setup-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    instance = Path(args.instance).resolve()
    url = args.database_url or f"sqlite:///{DEFAULT_DATABASE}"
    if args.one:
        print(json.dumps(measure(args.one, url, instance, args.labels, args.single_process)), flush=True)
        return
    if args.profile:
        profile(args.profile, url, instance, args.labels, args.single_process)
        return
    if args.setup_only:
        print(json.dumps(setup(url, instance, args.products, args.labels, args.print_products)), flush=True)
        return
    if args.database_url is None:
        OUT.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEFAULT_DATABASE}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(instance, ignore_errors=True)
    instance.mkdir(parents=True, exist_ok=True)
    base = [sys.executable, __file__, "--database-url", url, "--instance", str(instance), "--labels", str(args.labels)]
    started = time.perf_counter()
    run_child([*base, "--setup-only", "--products", str(args.products), "--print-products", str(args.print_products)], "setup")
    wanted = set(args.only.split(","))
    kinds = [kind for kind in KINDS if kind.split("-")[0] in wanted]
    results: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for number in range(1, args.runs + 1):
        for kind in kinds:
            os.sync()
            figures = run_child([*base, "--one", kind], kind)
            figures["run"] = number
            results[kind].append(figures)
    report = summary(results)
    report["total_seconds"] = round(time.perf_counter() - started)
    print(json.dumps(report), flush=True)


def run_child(command: list[str], what: str) -> dict[str, Any]:
    """Run one step in a child process, print its JSON line and return it."""
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ)
    if done.returncode != 0:
        sys.exit(f"{what} failed:\n{done.stderr[-4000:]}")
    line = done.stdout.strip().splitlines()[-1]
    print(line, flush=True)
    return json.loads(line)


if __name__ == "__main__":
    main()
