"""Store tills, shelf labels, the printed catalogue and designers' data merge, published from the demo catalogue."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pymupdf
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select, update

from pim import db
from pim.catalog.models import Product
from pim.catalog.services import get_product, update_product
from pim.errors import Invalid
from pim.publishing.export import explain, run_export
from pim.publishing.services import install_preset
from pim.versioning.models import Version
from tests.pim.publishing.conftest import prices

pytestmark = pytest.mark.usefixtures("demo_products")


def till_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def pdf_text(path: Path) -> str:
    """Return the text of a PDF with non-breaking spaces as plain spaces."""
    text = "\n".join(page.extract_text() for page in PdfReader(path).pages)
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def barcodes(path: Path) -> list[str]:
    """Decode every EAN-13 printed in a PDF, page by page, as a scanner would read a 300 dpi print."""
    found = []
    with pymupdf.open(path) as document:
        for page in document:
            image = Image.open(io.BytesIO(page.get_pixmap(dpi=300).tobytes("png")))
            found.extend(code.text for code in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.EAN13, try_downscale=False))
    return found


def groceries(count: int) -> list[Product]:
    """Return grocery products complete for the stores (they get labels), first ones first."""
    rows = db.session.scalars(select(Product).where(Product.identifier.like("GR%")).order_by(Product.id)).all()
    complete = [row for row in rows if explain("shelf_labels", row.identifier)["in_feed"]]
    assert len(complete) >= count
    return complete[:count]


def ean_of(product: Product) -> str:
    return product.values["ean"]["<all_channels>"]["<all_locales>"]


def change_pos_price(sku: str, amount: str, actor: Any) -> None:
    update_product(sku, values={"price": prices("pos", RUB=amount)}, actor=actor)


# --- till item files --------------------------------------------------------------------------


def test_till_file_lists_every_complete_product_with_its_vat_rate_and_store_price(actor):
    install_preset("store_pos", actor=actor)

    result = run_export("store_pos")

    rows = till_rows(result.folder / "store_pos.csv")
    assert len(rows) == result.exported > 0
    by_article = {row["article"]: row for row in rows}
    grocery = next(row for article, row in by_article.items() if article.startswith("GR"))
    shoe = next(row for article, row in by_article.items() if article.startswith("SHOE"))
    assert (grocery["vat_rate"], shoe["vat_rate"]) == ("10", "20")
    pos_price = get_product(grocery["article"]).values["price"]["pos"]["<all_locales>"][0]
    assert grocery["price"] == pos_price["amount"] and pos_price["currency"] == "RUB"
    assert all(len(row["description"]) <= 40 for row in rows)
    assert grocery["department"] in ("dairy", "bakery", "beverages", "pantry")


def test_till_delta_carries_only_the_changed_item(actor):
    install_preset("store_pos", actor=actor)
    first = till_rows(run_export("store_pos").folder / "store_pos.csv")
    sku = first[3]["article"]
    change_pos_price(sku, "777.00", actor)

    result = run_export("store_pos", is_delta=True)

    rows = till_rows(result.folder / "store_pos.csv")
    assert [(row["action"], row["article"], row["price"]) for row in rows] == [("U", sku, "777.00")]


# --- shelf labels -----------------------------------------------------------------------------


def test_labels_carry_scannable_barcodes_of_their_products(actor):
    install_preset("shelf_labels", actor=actor)
    chosen = groceries(4)

    # SKUs typed in other case name the same products
    result = run_export("shelf_labels", skus=[p.identifier.lower() for p in chosen])

    assert result.exported == 4
    labels = result.folder / "shelf_labels.pdf"
    assert sorted(barcodes(labels)) == sorted(ean_of(p) for p in chosen)
    assert "/ кг" in pdf_text(labels) or "/ л" in pdf_text(labels)


def test_a_label_with_a_wrong_check_digit_is_printed_without_barcode_and_reported(actor):
    install_preset("shelf_labels", actor=actor)
    good, bad = groceries(2)
    wrong = ean_of(bad)[:-1] + str((int(ean_of(bad)[-1]) + 1) % 10)
    update_product(bad.identifier, values={"ean": [{"locale": None, "scope": None, "data": wrong}]}, actor=actor)

    explained = explain("shelf_labels", bad.identifier)
    result = run_export("shelf_labels", skus=[good.identifier, bad.identifier])

    assert explained["in_feed"] and [w["reason"] for w in explained["warnings"]] == ["invalid_gtin"]
    assert "printed without a barcode" in explained["warnings"][0]["message"]
    assert explain("shelf_labels", good.identifier)["warnings"] == []
    assert (result.exported, result.skipped, result.warnings) == (2, 0, 1)
    assert result.warning_reasons == {"invalid_gtin": 1}
    labels = result.folder / "shelf_labels.pdf"
    assert barcodes(labels) == [ean_of(good)]
    assert bad.identifier in pdf_text(labels)
    with open(result.report_path, newline="", encoding="utf-8") as handle:
        [row] = list(csv.DictReader(handle))
    assert (row["sku"], row["reason"], row["field"], row["outcome"]) == (bad.identifier, "invalid_gtin", "ean", "published")
    assert f"ean {wrong} has a wrong check digit" in row["message"] and "without a barcode" in row["message"]


def test_a_price_campaign_prints_exactly_the_labels_it_changed(actor):
    install_preset("shelf_labels", actor=actor)
    full = run_export("shelf_labels")
    changed = groceries(3)
    for product in changed:
        change_pos_price(product.identifier, "99.00", actor)
    # a change a label does not show prints nothing
    update_product(groceries(4)[3].identifier, values={"keywords": [{"locale": "en_US", "scope": None, "data": "breakfast"}]}, actor=actor)

    result = run_export("shelf_labels", is_delta=True)

    assert full.exported > 3
    assert result.exported == 3
    assert sorted(barcodes(result.folder / "shelf_labels.pdf")) == sorted(ean_of(p) for p in changed)
    assert pdf_text(result.folder / "shelf_labels.pdf").count("99,00 ₽") >= 3
    assert run_export("shelf_labels", is_delta=True).exported == 0


def test_labels_of_chosen_skus_leave_the_others_due(actor):
    install_preset("shelf_labels", actor=actor)
    run_export("shelf_labels")
    first, second = groceries(2)
    change_pos_price(first.identifier, "55.00", actor)
    change_pos_price(second.identifier, "56.00", actor)

    run_export("shelf_labels", skus=[first.identifier])
    result = run_export("shelf_labels", is_delta=True)

    assert barcodes(result.folder / "shelf_labels.pdf") == [ean_of(second)]


def test_a_reduced_price_shows_the_lowest_price_of_the_30_days_before(actor):
    install_preset("shelf_labels", actor=actor)
    [product] = groceries(1)
    change_pos_price(product.identifier, "250.00", actor)
    change_pos_price(product.identifier, "199.00", actor)
    latest = db.session.scalar(
        select(Version.version).where(Version.resource_type == "product", Version.resource_id == product.id).order_by(Version.version.desc())
    )
    # the demo price until 40 days ago, then 250.00 (longer ago than the 30 days), reduced to 199.00 now
    for version, days in ((latest - 2, 60), (latest - 1, 40)):
        db.session.execute(
            update(Version)
            .where(Version.resource_type == "product", Version.resource_id == product.id, Version.version == version)
            .values(logged_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days))
        )

    record = explain("shelf_labels", product.identifier)["record"]["fields"]
    text = pdf_text(run_export("shelf_labels", skus=[product.identifier]).folder / "shelf_labels.pdf")

    assert (record["price"], record.get("old_price")) == ("199.00 RUB", "250.00 RUB")
    assert "199,00 ₽" in text and "250,00 ₽" in text


def test_chosen_skus_are_refused_for_a_whole_feed_and_when_unknown(actor):
    install_preset("store_pos", actor=actor)
    install_preset("shelf_labels", actor=actor)

    with pytest.raises(Invalid, match="publishes whole feeds"):
        run_export("store_pos", skus=["GR00000001"])
    with pytest.raises(Invalid, match="NO-SUCH-SKU"):
        run_export("shelf_labels", skus=["NO-SUCH-SKU"])


# --- print --------------------------------------------------------------------------------------


def test_print_catalogue_has_a_contents_page_and_embeds_each_picture_once(actor):
    install_preset("print_catalogue", actor=actor)

    result = run_export("print_catalogue")

    path = result.folder / "print_catalogue.pdf"
    reader = PdfReader(path)
    contents = reader.pages[1].extract_text()
    assert "Contents" in contents and "Footwear" in contents
    assert len(reader.pages) > 3
    images = set()
    for page in reader.pages:
        resources = page.get("/Resources") or {}
        for ref in (resources.get("/XObject") or {}).values():
            if ref.get_object().get("/Subtype") == "/Image":
                images.add(ref.idnum)
    # one picture per colour in the demo: far fewer images than product blocks
    assert 0 < len(images) <= 12
    assert result.exported > len(images)


def test_data_merge_names_image_files_that_exist(actor):
    install_preset("print_datamerge", actor=actor)

    result = run_export("print_datamerge")

    raw = (result.folder / "print_datamerge.txt").read_bytes()
    assert raw.startswith(b"\xff\xfe")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-16")), delimiter="\t"))
    assert len(rows) == result.exported
    assert "@image" in rows[0]
    pictures = {row["@image"] for row in rows if row["@image"]}
    assert pictures and all(Path(picture).is_file() for picture in pictures)
    assert all(row["price"].startswith("€") for row in rows)
