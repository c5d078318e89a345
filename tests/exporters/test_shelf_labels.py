"""Shelf labels: barcodes a scanner reads on sheets and rolls, prices and unit prices as shoppers read them, deltas."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pymupdf
import pypdf
import pytest
import zxingcpp
from PIL import Image
from reportlab.lib.units import mm

from exporters import get_format
from exporters.base import FeedSettings, Measure, Record
from exporters.shelf_labels import LabelLayout, Sheet, ShelfLabels, unit_price_text
from tests.exporters.sinks import FolderSink, eur, rub


def settings(locale: str = "ru_RU", **options: Any) -> FeedSettings:
    return FeedSettings("labels_store_12", title="Магазин № 12", locale=locale, currency="RUB", options=options)


def grocery() -> list[Record]:
    """A Russian store's labels: packed coffee on sale, milk, cheese sold by weight with an in-store code, tea, sugar."""
    return [
        Record(
            "COFFEE-ARABICA-750",
            {
                "name": "Кофе в зёрнах «Арабика Бразилия», 750 г",
                "price": rub("299"),
                "old_price": rub("349"),
                "ean": "4600682000013",
                "brand": "Северный ветер",
                "net_weight": Measure(Decimal("0.75"), "KILOGRAM"),
            },
        ),
        Record(
            "MILK-32-930",
            {"name": "Молоко пастеризованное 3,2 %, 930 мл", "price": rub("89.90"), "ean": "4006381333931", "net_volume": Measure(Decimal("0.93"), "LITER")},
        ),
        Record("CHEESE-GOUDA", {"name": "Сыр «Гауда» 45 %, весовой", "price": rub("1299"), "ean": "2000000000008", "unit": "kg"}),
        Record(
            "TEA-GREEN-100", {"name": "Чай зелёный листовой, 100 г", "price": rub("159"), "ean": "2012345000001", "net_weight": Measure(Decimal("100"), "GRAM")}
        ),
        Record("SUGAR-1KG", {"name": "Сахар-песок, 1 кг", "price": rub("79.50"), "ean": "0012345678905", "net_weight": Measure(Decimal("1"), "KILOGRAM")}),
    ]


def write(records: Iterator[Record] | list[Record], folder: Path, feed_settings: FeedSettings | None = None) -> Path:
    sink = FolderSink(folder)
    ShelfLabels().write(iter(records), feed_settings or settings(), sink)
    sink.close()
    return folder / "labels_store_12.pdf"


def render(path: Path, page: int = 0) -> Image.Image:
    pixmap = pymupdf.open(path)[page].get_pixmap(dpi=300)
    return Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)


def decode(image: Image.Image) -> list[tuple[str, str]]:
    # read at the rendered print resolution only: zxing's extra passes over downscaled copies
    # (about 2 px per module) can misread a sound symbol
    return sorted((result.text, result.format.name) for result in zxingcpp.read_barcodes(image, try_downscale=False))


def page_texts(path: Path) -> list[str]:
    """Return each page's text with non-breaking spaces as spaces (the PDF draws them with the space glyph)."""
    return [page.extract_text().replace("\u00a0", " ") for page in pypdf.PdfReader(path).pages]


# --- format --------------------------------------------------------------------------------


def test_shelf_labels_are_a_pdf_format_with_deltas_printed_on_demand() -> None:
    feed = get_format("shelf_labels")
    assert isinstance(feed, ShelfLabels)
    assert (feed.media_type, feed.extension, feed.supports_delta, feed.is_grouped, feed.prints_on_demand) == ("application/pdf", "pdf", True, False, True)


def test_grocery_labels_pass_every_rule() -> None:
    feed = ShelfLabels()
    assert {record.key: feed.check(record, settings()) for record in grocery()} == {record.key: [] for record in grocery()}


# --- barcodes ------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["a4_3x7", "a4_3x8"])
def test_every_barcode_on_a_sheet_is_read_by_a_scanner(tmp_path: Path, preset: str) -> None:
    path = write(grocery(), tmp_path, settings(preset=preset))
    assert decode(render(path)) == sorted((as13, "EAN13") for as13 in ("4600682000013", "4006381333931", "2000000000008", "2012345000001", "0012345678905"))


def test_roll_prints_one_label_per_page_of_the_label_size_each_scannable(tmp_path: Path) -> None:
    records = grocery()[:3]
    path = write(records, tmp_path, settings(preset="roll"))
    reader = pypdf.PdfReader(path)
    assert len(reader.pages) == 3
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx((58 * mm, 40 * mm), abs=0.01)
    assert [decode(render(path, number)) for number in range(3)] == [[(record.fields["ean"], "EAN13")] for record in records]


def test_narrow_label_scales_the_barcode_down_to_what_still_scans(tmp_path: Path) -> None:
    options = {"preset": "roll", "label": {"width_mm": 33, "height_mm": 38}}
    layout = LabelLayout.for_label(33 * mm, 38 * mm)
    assert 0.8 <= layout.module / (0.33 * mm) < 0.9
    path = write(grocery()[:1], tmp_path, settings(**options))
    assert decode(render(path)) == [("4600682000013", "EAN13")]


def test_label_too_narrow_for_a_barcode_names_the_width_it_needs(tmp_path: Path) -> None:
    small = settings(preset="roll", label={"width_mm": 30, "height_mm": 40})
    coffee = grocery()[0]
    problems = ShelfLabels().check(coffee, small)
    assert [(problem.field, problem.code) for problem in problems] == [("ean", "label_too_small")]
    assert "at least 31.8 mm wide" in problems[0].message
    # a label without an EAN still fits
    assert ShelfLabels().check(Record("BREAD", {"name": "Хлеб", "price": rub("45")}), small) == []
    path = write([coffee], tmp_path, small)
    assert decode(render(path)) == []
    text = page_texts(path)[0]
    assert "299,00 ₽" in text and "349,00 ₽" in text and "COFFEE-ARABICA-750" in text


# --- what a label says ---------------------------------------------------------------------


def test_label_text_has_cyrillic_name_prices_and_unit_price(tmp_path: Path) -> None:
    text = page_texts(write(grocery(), tmp_path))[0]
    assert "Кофе в зёрнах «Арабика Бразилия», 750 г" in text
    assert "Северный ветер" in text
    assert "299,00 ₽" in text
    assert "349,00 ₽" in text
    assert "398,67 ₽ / кг" in text
    assert "96,67 ₽ / л" in text
    assert "1 299,00 ₽ / кг" in text
    assert "Арт. COFFEE-ARABICA-750" in text


def test_old_price_is_struck_through(tmp_path: Path) -> None:
    path = write(grocery()[:1], tmp_path)
    page = pymupdf.open(path)[0]
    (box,) = page.search_for("349,00")
    lines = [item for drawing in page.get_drawings() for item in drawing["items"] if item[0] == "l"]
    assert any(
        abs(start.y - end.y) < 0.1 and box.y0 < start.y < box.y1 and min(start.x, end.x) <= box.x0 + 1 and max(start.x, end.x) >= box.x1 - 1
        for _, start, end in lines
    )


def test_old_price_not_above_the_price_is_not_shown(tmp_path: Path) -> None:
    coffee = grocery()[0]
    coffee.fields["old_price"] = rub("299")
    text = page_texts(write([coffee], tmp_path))[0]
    assert text.count("299,00 ₽") == 1


@pytest.mark.parametrize(
    ("locale", "fields", "choice", "expected"),
    [
        ("ru_RU", {"price": rub("299"), "net_weight": Measure(Decimal("0.75"), "KILOGRAM")}, {}, "398,67\u00a0₽ / кг"),
        ("ru_RU", {"price": rub("299"), "net_weight": Measure(Decimal("750"), "GRAM")}, {}, "398,67\u00a0₽ / кг"),
        ("ru_RU", {"price": rub("299"), "net_weight": Measure(Decimal("750"), "GRAM")}, {"weight": "100g"}, "39,87\u00a0₽ / 100 г"),
        ("ru_RU", {"price": rub("89.90"), "net_volume": Measure(Decimal("930"), "MILLILITER")}, {"volume": "100ml"}, "9,67\u00a0₽ / 100 мл"),
        ("ru_RU", {"price": rub("349"), "net_volume": Measure(Decimal("75"), "CENTILITER")}, {}, "465,33\u00a0₽ / л"),
        ("ru_RU", {"price": rub("1290"), "net_length": Measure(Decimal("250"), "CENTIMETER")}, {}, "516,00\u00a0₽ / м"),
        ("ru_RU", {"price": rub("2490"), "net_area": Measure(Decimal("1.8"), "SQUARE_METER")}, {}, "1\u00a0383,33\u00a0₽ / м²"),
        ("en_US", {"price": eur("4.99"), "net_weight": Measure(Decimal("0.4"), "KILOGRAM")}, {}, "€12.48 / kg"),
        ("de_DE", {"price": eur("1.29"), "net_volume": Measure(Decimal("500"), "MILLILITER")}, {"volume": "100ml"}, "0,26\u00a0€ / 100 ml"),
        ("de_DE", {"price": eur("12.90"), "net_area": Measure(Decimal("5000"), "SQUARE_CENTIMETER")}, {}, "25,80\u00a0€ / m²"),
        ("ru_RU", {"price": rub("1299"), "unit": "kg"}, {}, ""),
        ("ru_RU", {"price": rub("45")}, {}, ""),
    ],
)
def test_unit_price(locale: str, fields: dict[str, Any], choice: dict[str, str], expected: str) -> None:
    assert unit_price_text(Record("SKU-1", {"name": "Товар", **fields}), locale, choice) == expected


def test_per_100_g_option_prints_on_the_label(tmp_path: Path) -> None:
    text = page_texts(write(grocery()[:1], tmp_path, settings(unit_price={"weight": "100g"})))[0]
    assert "39,87 ₽ / 100 г" in text


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"net_weight": Measure(Decimal("1.5"), "POUND")}, "net_weight", "invalid_unit"),
        ({"net_weight": Measure(Decimal("0"), "KILOGRAM")}, "net_weight", "invalid"),
        ({"net_weight": "750 г"}, "net_weight", "invalid"),
        ({"old_price": eur("349")}, "old_price", "invalid"),
        ({"unit": "pack"}, "unit", "not_allowed"),
        ({"price": None}, "price", "required"),
        ({"price": rub("0")}, "price", "invalid"),
        ({"name": ""}, "name", "required"),
    ],
)
def test_record_breaking_a_rule_gets_one_problem_for_its_field(fields: dict[str, Any], field: str, code: str) -> None:
    coffee = grocery()[0]
    coffee.fields.update(fields)
    assert [(problem.field, problem.code) for problem in ShelfLabels().check(coffee, settings())] == [(field, code)]


@pytest.mark.parametrize(
    ("ean", "code"),
    [("4600682000014", "invalid_gtin"), ("460068200001", "invalid_gtin"), ("96385074", "barcode_unsupported"), ("14600682000010", "barcode_unsupported")],
)
def test_label_with_a_bad_ean_is_printed_without_a_barcode_and_noted(tmp_path: Path, ean: str, code: str) -> None:
    coffee, milk = grocery()[:2]
    coffee.fields["ean"] = ean
    assert ShelfLabels().check(coffee, settings()) == []
    labels = ShelfLabels()
    sink = FolderSink(tmp_path)
    labels.write(iter([coffee, milk]), settings(), sink)
    sink.close()
    text = page_texts(tmp_path / "labels_store_12.pdf")[0]
    assert "Арт. COFFEE-ARABICA-750" in text and "299,00 ₽" in text
    # only the good EAN scans: the wrong one is never "repaired" into another number
    assert decode(render(tmp_path / "labels_store_12.pdf")) == [("4006381333931", "EAN13")]
    assert [(sku, problem.field, problem.code) for sku, problem in labels.warnings] == [("COFFEE-ARABICA-750", "ean", code)]
    assert "printed without a barcode" in labels.warnings[0][1].message


def test_characters_the_font_lacks_are_marked_and_noted(tmp_path: Path) -> None:
    tea = grocery()[3]
    tea.fields["name"] = "Чай 龍井 «Лунцзин», 100 г"
    labels = ShelfLabels()
    sink = FolderSink(tmp_path)
    labels.write(iter([tea]), settings(), sink)
    sink.close()
    assert "Чай ?? «Лунцзин»" in page_texts(tmp_path / "labels_store_12.pdf")[0]
    [(sku, problem)] = labels.warnings
    assert (sku, problem.field, problem.code) == ("TEA-GREEN-100", "name", "glyph_missing")
    assert "龍 (U+9F8D)" in problem.message


def test_upc_a_and_gtin14_with_indicator_zero_print_as_ean13(tmp_path: Path) -> None:
    records = [
        replace(grocery()[0], fields={**grocery()[0].fields, "ean": "012345678905"}),
        replace(grocery()[1], fields={**grocery()[1].fields, "ean": "04006381333931"}),
    ]
    assert [ShelfLabels().check(record, settings()) for record in records] == [[], []]
    assert decode(render(write(records, tmp_path))) == [("0012345678905", "EAN13"), ("4006381333931", "EAN13")]


# --- sheets --------------------------------------------------------------------------------


def test_sheet_fills_pages_of_its_grid(tmp_path: Path) -> None:
    base = grocery()[1]
    records = [replace(base, key=f"MILK-{number:03d}") for number in range(25)]
    path = write(records, tmp_path, settings(preset="a4_3x8"))
    texts = page_texts(path)
    assert len(texts) == math.ceil(25 / 24)
    assert texts[0].count("Арт. MILK-") == 24 and texts[1].count("Арт. MILK-") == 1


def test_letter_sheet_of_custom_labels(tmp_path: Path) -> None:
    options = {"label": {"width_mm": 66.7, "height_mm": 25.4}, "sheet": {"page": "Letter", "columns": 3, "rows": 10, "gap_x_mm": 3.2}}
    sheet = Sheet.from_options(options)
    assert sheet.page == (612, 792)
    assert sheet.margin_left == pytest.approx((612 - 3 * 66.7 * mm - 2 * 3.2 * mm) / 2)
    reader = pypdf.PdfReader(write(grocery(), tmp_path, settings(**options)))
    assert (float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)) == (612, 792)


def test_labels_run_row_by_row_from_the_top_left() -> None:
    sheet = Sheet.from_options({"preset": "a4_3x7"})
    assert sheet.per_page == 21
    first, second, fourth = sheet.position(0), sheet.position(1), sheet.position(3)
    assert first[0] == pytest.approx(0) and first[1] + 42.3 * mm == pytest.approx(297 * mm - sheet.margin_top)
    assert second == pytest.approx((70 * mm, first[1]))
    assert fourth == pytest.approx((0, first[1] - 42.3 * mm))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"preset": "a4_4x10"}, "Unknown label preset 'a4_4x10'"),
        ({"preset": "a4_3x8", "sheet": {"rows": 9}}, "3 x 9 labels of 70 x 37 mm do not fit on A4"),
        ({"label": {"width_mm": "70"}}, "width_mm must be a number"),
        ({"sheet": {"page": "A3"}}, "Unknown page size 'A3'"),
        ({"unit_price": {"weight": "g"}}, "unit_price.weight must be kg or 100g"),
    ],
)
def test_wrong_layout_options_are_refused_before_anything_is_written(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write(grocery(), tmp_path, settings(**options))


# --- deltas and empty runs -----------------------------------------------------------------


def test_delta_run_prints_no_label_for_a_removed_product(tmp_path: Path) -> None:
    records = grocery()[:3]
    records.insert(1, Record("TEA-BLACK-200", {}, is_deleted=True))
    records[2] = replace(records[2], is_deleted=True)
    feed_settings = replace(settings(), is_delta=True)
    path = write(records, tmp_path, feed_settings)
    text = page_texts(path)[0]
    assert "Арт. COFFEE-ARABICA-750" in text and "Арт. CHEESE-GOUDA" in text
    assert "MILK-32-930" not in text and "TEA-BLACK-200" not in text
    assert decode(render(path)) == [("2000000000008", "EAN13"), ("4600682000013", "EAN13")]


@pytest.mark.parametrize("records", [[], [Record("COFFEE-ARABICA-750", {}, is_deleted=True)]])
def test_run_without_labels_is_one_page_saying_so(tmp_path: Path, records: list[Record]) -> None:
    texts = page_texts(write(records, tmp_path))
    assert [text.strip() for text in texts] == ["Нет этикеток для печати."]


def test_labels_are_drawn_as_they_stream_in(tmp_path: Path) -> None:
    seen = []

    def generate() -> Iterator[Record]:
        for number in range(300):
            seen.append(number)
            yield replace(grocery()[1], key=f"MILK-{number:03d}")

    path = write(generate(), tmp_path)
    assert len(seen) == 300
    assert len(pypdf.PdfReader(path).pages) == math.ceil(300 / 21)


def test_a_required_unit_price_skips_packed_goods_without_net_content() -> None:
    coffee, _milk, cheese, *_ = grocery()
    del coffee.fields["net_weight"]
    required = settings(unit_price={"weight": "kg", "volume": "l", "required": True})

    assert [(p.field, p.code) for p in ShelfLabels().check(coffee, required)] == [("net_weight", "unit_price_missing")]
    # goods sold loose are priced per kg already, and without the option nothing is required
    assert ShelfLabels().check(cheese, required) == []
    assert ShelfLabels().check(coffee, settings()) == []
