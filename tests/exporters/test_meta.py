"""Meta catalogue CSV: golden files, the catalogue's rules, exact or spreadsheet-safe cells, streaming output."""

from __future__ import annotations

import csv
import io
import random
import weakref
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from exporters import get_format
from exporters.base import FeedSettings, Measure, Money, Record
from exporters.meta import MetaCatalogFeed
from tests.exporters.sinks import FolderSink, eur, rub

GOLDEN = Path(__file__).parent / "golden" / "meta"
COLUMNS = [
    "id",
    "title",
    "description",
    "availability",
    "condition",
    "price",
    "sale_price",
    "sale_price_effective_date",
    "link",
    "image_link",
    "additional_image_link",
    "brand",
    "gtin",
    "mpn",
    "item_group_id",
    "color",
    "size",
    "gender",
    "age_group",
    "material",
    "pattern",
    "google_product_category",
    "fb_product_category",
    "product_type",
    "shipping_weight",
    "custom_label_0",
    "custom_label_1",
    "custom_label_2",
    "custom_label_3",
    "custom_label_4",
]


def shoe_records() -> list[Record]:
    """Sneakers in two colours and sizes, and a kids' boot known only by its manufacturer part number."""
    shared = {
        "description": 'Low-top sneaker in full-grain leather & natural rubber sole.\nFits "true to size"; half sizes < 42 take the next size up.\x1b',
        "condition": "new",
        "brand": "Northwind",
        "gender": "unisex",
        "age_group": "adult",
        "material": "Leather",
        "google_product_category": 187,
        "fb_product_category": "421",
        "product_type": "Shoes > Sneakers > Leather",
        "custom_label_0": "spring-2026",
    }
    return [
        Record(
            "SHOE-ALTA-WHT-42",
            {
                **shared,
                "id": "SHOE-ALTA-WHT-42",
                "title": "Northwind Alta leather sneaker, white, 42",
                "availability": "in stock",
                "price": eur("119.90"),
                "sale_price": eur("89.9"),
                "sale_price_effective_date": "2026-03-01T00:00+01:00/2026-03-15T23:59+01:00",
                "link": "https://shop.example/p/alta?v=wht-42&utm_source=meta",
                "image_link": "https://shop.example/img/alta-wht.jpg",
                "additional_image_link": ["https://shop.example/img/alta-wht-side.jpg", "https://shop.example/img/alta-wht-sole.jpg"],
                "gtin": "4006381333931",
                "color": "white",
                "size": "42",
                "shipping_weight": Measure(Decimal("0.950"), "KILOGRAM"),
            },
            group="SHOE-ALTA",
            group_number=1,
        ),
        Record(
            "SHOE-ALTA-BLK-43",
            {
                **shared,
                "id": "SHOE-ALTA-BLK-43",
                "title": "Northwind Alta leather sneaker, black, 43",
                "availability": "out of stock",
                "price": eur("119.90"),
                "link": "https://shop.example/p/alta?v=blk-43&utm_source=meta",
                "image_link": "https://shop.example/img/alta-blk.jpg",
                "gtin": "4006381333962",
                "color": "black",
                "size": 43,
                "shipping_weight": Measure(Decimal("0.98"), "KILOGRAM"),
            },
            group="SHOE-ALTA",
            group_number=1,
        ),
        Record(
            "BOOT-TUNDRA-K30",
            {
                "id": "BOOT-TUNDRA-K30",
                "title": "Tundra kids' winter boot, waterproof, 30",
                "description": "Lined winter boot for children: 'Tundra' keeps feet dry down to -20 °C.",
                "availability": "preorder",
                "condition": "new",
                "price": eur("64.50"),
                "link": "https://shop.example/p/tundra-kids?v=30",
                "image_link": "https://shop.example/img/tundra-kids.png",
                "mpn": "TND-K-30",
                "item_group_id": "TUNDRA-KIDS",
                "color": "navy/red",
                "size": "30",
                "gender": "unisex",
                "age_group": "kids",
                "shipping_weight": Measure(Decimal("1.2"), "POUND"),
                "custom_label_1": "winter",
            },
        ),
    ]


def grocery_records() -> list[Record]:
    """A Russian grocer's catalogue: packed coffee with a GTIN and cheese weighed in the store."""
    return [
        Record(
            "COFFEE-ARABICA-250",
            {
                "id": "COFFEE-ARABICA-250",
                "title": "Кофе в зёрнах «Арабика Бразилия», 250 г",
                "description": "Обжарка средняя, 100 % арабика & ни грамма робусты.\r\nВкус: орех, шоколад; кислотность < 3 из 5.\x00",
                "availability": "in stock",
                "condition": "new",
                "price": rub("649"),
                "sale_price": rub("549.00"),
                "link": "https://magazin.example/kofe/arabika-250",
                "image_link": "https://magazin.example/img/arabika-250.jpg",
                "brand": "Северный ветер",
                "gtin": "4601234567893",
                "google_product_category": 1868,
                "fb_product_category": 24,
                "product_type": "Бакалея > Кофе > В зёрнах",
                "shipping_weight": Measure(Decimal("270"), "GRAM"),
                "custom_label_0": "-20% по выходным",
            },
        ),
        Record(
            "CHEESE-GOUDA-300",
            {
                "id": "CHEESE-GOUDA-300",
                "title": '=Сыр "Гауда" 45 %, весовой, ~300 г',
                "description": "Полутвёрдый сыр, выдержка 3 месяца. Цена за упаковку около 300 г; точный вес\u0007 — на этикетке.",
                "availability": "available for order",
                "condition": "new",
                "price": rub("389.70"),
                "link": "https://magazin.example/syr/gauda",
                "image_link": "https://magazin.example/img/gauda.jpg",
                "brand": "@Сырная лавка",
                "google_product_category": "429",
                "fb_product_category": "13",
                "shipping_weight": Measure(Decimal("0.32"), "KILOGRAM"),
                "custom_label_0": "+весовой",
            },
        ),
    ]


def render(records: Iterator[Record] | list[Record], folder: Path, *, is_for_people: bool = False) -> bytes:
    """Write the records as a catalogue under the folder and return the file's bytes."""
    sink = FolderSink(folder)
    MetaCatalogFeed().write(iter(records), FeedSettings("meta_de", is_for_people=is_for_people), sink)
    sink.close()
    return (folder / "meta_de.csv").read_bytes()


def read_rows(output: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(output.decode("utf-8"), newline="")))


def assert_matches_golden(request: pytest.FixtureRequest, produced: bytes, case: str) -> None:
    path = GOLDEN / f"{case}.csv"
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(produced)
    assert produced == path.read_bytes()


def test_meta_is_registered_as_a_csv_feed_without_delta() -> None:
    feed = get_format("meta")
    assert isinstance(feed, MetaCatalogFeed)
    assert (feed.media_type, feed.extension, feed.supports_delta, feed.is_grouped) == ("text/csv", "csv", False, False)


@pytest.mark.parametrize(
    ("case", "records", "is_for_people"),
    [("shoes_eur", shoe_records, False), ("grocery_rub", grocery_records, False), ("grocery_rub_for_people", grocery_records, True)],
)
def test_write_matches_golden_file(request: pytest.FixtureRequest, tmp_path: Path, case: str, records: Any, is_for_people: bool) -> None:
    assert_matches_golden(request, render(records(), tmp_path, is_for_people=is_for_people), case)


@pytest.mark.parametrize("records", [shoe_records, grocery_records])
def test_golden_records_pass_every_rule(records: Any) -> None:
    feed = MetaCatalogFeed()
    assert {record.key: feed.check(record) for record in records()} == {record.key: [] for record in records()}


def test_empty_feed_is_the_header_of_every_column_in_utf8_with_crlf(tmp_path: Path) -> None:
    assert render([], tmp_path) == (",".join(COLUMNS) + "\r\n").encode()


def test_rows_follow_the_header_with_every_column(tmp_path: Path) -> None:
    output = render(shoe_records(), tmp_path)
    assert not output.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(output.decode("utf-8"), newline="")))
    assert rows[0] == COLUMNS
    assert [len(row) for row in rows[1:]] == [len(COLUMNS)] * 3


def test_typed_values_are_written_as_meta_reads_them(tmp_path: Path) -> None:
    first, second, boot = read_rows(render(shoe_records(), tmp_path))
    assert (first["price"], first["sale_price"], first["shipping_weight"]) == ("119.90 EUR", "89.90 EUR", "0.95 kg")
    assert first["additional_image_link"] == "https://shop.example/img/alta-wht-side.jpg,https://shop.example/img/alta-wht-sole.jpg"
    assert (second["size"], second["google_product_category"], second["sale_price"]) == ("43", "187", "")
    assert (boot["gtin"], boot["mpn"], boot["shipping_weight"]) == ("", "TND-K-30", "1.2 lb")


def test_image_list_is_one_quoted_cell(tmp_path: Path) -> None:
    output = render(shoe_records()[:1], tmp_path)
    assert b',"https://shop.example/img/alta-wht-side.jpg,https://shop.example/img/alta-wht-sole.jpg",' in output


def test_item_group_id_falls_back_to_the_product_model(tmp_path: Path) -> None:
    rows = read_rows(render(shoe_records(), tmp_path))
    assert [row["item_group_id"] for row in rows] == ["SHOE-ALTA", "SHOE-ALTA", "TUNDRA-KIDS"]


def test_deleted_records_are_left_out(tmp_path: Path) -> None:
    records = shoe_records()
    records[1] = replace(records[1], is_deleted=True)
    assert [row["id"] for row in read_rows(render(records, tmp_path))] == ["SHOE-ALTA-WHT-42", "BOOT-TUNDRA-K30"]


def test_machine_feed_keeps_values_that_look_like_formulas_exact(tmp_path: Path) -> None:
    coffee, cheese = read_rows(render(grocery_records(), tmp_path))
    assert (coffee["custom_label_0"], cheese["title"], cheese["brand"], cheese["custom_label_0"]) == (
        "-20% по выходным",
        '=Сыр "Гауда" 45 %, весовой, ~300 г',
        "@Сырная лавка",
        "+весовой",
    )


def test_feed_for_people_neutralises_formulas(tmp_path: Path) -> None:
    coffee, cheese = read_rows(render(grocery_records(), tmp_path, is_for_people=True))
    assert (coffee["custom_label_0"], cheese["title"], cheese["brand"], cheese["custom_label_0"]) == (
        "'-20% по выходным",
        '\'=Сыр "Гауда" 45 %, весовой, ~300 г',
        "'@Сырная лавка",
        "'+весовой",
    )
    assert (coffee["title"], coffee["price"]) == ("Кофе в зёрнах «Арабика Бразилия», 250 г", "649.00 RUB")


HOSTILE = "\x00\x01\x08\x0b\x0c\x0e\x1f\x7f\t\r\n,;|\"'&<>=+-@\ud800\udfff\ufffe\uffff\u2028Ωжё😀\u200b"


def expected_cell(text: str) -> str:
    """Return the text Meta should receive: control characters and lone surrogates removed."""
    return "".join(char for char in text if not ("\x00" <= char <= "\x1f" and char not in "\t\r\n") and char != "\x7f" and not "\ud800" <= char <= "\udfff")


def test_every_row_reads_back_whatever_the_text(tmp_path: Path) -> None:
    randomness = random.Random(20260301)
    base = shoe_records()[0]
    records = []
    for number in range(300):
        title = "".join(randomness.choice(HOSTILE) for _ in range(randomness.randint(0, 40)))
        description = "".join(randomness.choice(HOSTILE) for _ in range(randomness.randint(0, 200)))
        records.append(replace(base, key=f"R{number}", fields={**base.fields, "id": f"R{number}", "title": title, "description": description}))
    rows = read_rows(render(records, tmp_path))
    assert [(row["title"], row["description"]) for row in rows] == [
        (expected_cell(record.fields["title"]), expected_cell(record.fields["description"])) for record in records
    ]


class WatchedFields(dict):
    """A record's fields that the test can watch being freed (a plain dict takes no weak reference)."""


def test_writing_20000_records_keeps_neither_records_nor_output_in_memory(tmp_path: Path) -> None:
    coffee = grocery_records()[0].fields
    path = tmp_path / "meta_de.csv"
    written: list[weakref.ref[WatchedFields]] = []
    seen_at_15000: list[tuple[int, int]] = []

    def generate() -> Iterator[Record]:
        for number in range(20_000):
            if number == 15_000:
                seen_at_15000.append((sum(ref() is not None for ref in written), path.stat().st_size))
            fields = WatchedFields(coffee, id=f"COFFEE-{number:06d}")
            written.append(weakref.ref(fields))
            yield Record(fields["id"], fields)

    output = render(generate(), tmp_path)
    assert output.count(b"\r\nCOFFEE-") == 20_000
    records_alive, bytes_written = seen_at_15000[0]
    assert records_alive <= 2
    assert bytes_written > len(output) // 2


REMOVE = object()


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"id": REMOVE}, "id", "required"),
        ({"id": "X" * 101}, "id", "too_long"),
        ({"title": ""}, "title", "required"),
        ({"title": "T" * 201}, "title", "too_long"),
        ({"description": REMOVE}, "description", "required"),
        ({"description": "d" * 10000}, "description", "too_long"),
        ({"description": "<p>Low-top <b>leather</b> sneaker.</p>"}, "description", "invalid"),
        ({"description": "Low-top sneaker in black &amp; white."}, "description", "invalid"),
        ({"availability": REMOVE}, "availability", "required"),
        ({"availability": "in_stock"}, "availability", "not_allowed"),
        ({"condition": REMOVE}, "condition", "required"),
        ({"condition": "damaged"}, "condition", "not_allowed"),
        ({"price": REMOVE}, "price", "required"),
        ({"price": "119.90 EUR"}, "price", "invalid"),
        ({"sale_price": eur("119.90")}, "sale_price", "invalid"),
        ({"sale_price": Money(Decimal("89.90"), "USD")}, "sale_price", "invalid"),
        ({"sale_price_effective_date": "2026-03-01"}, "sale_price_effective_date", "invalid"),
        ({"link": REMOVE}, "link", "required"),
        ({"link": "shop.example/p/alta"}, "link", "invalid_url"),
        ({"image_link": REMOVE}, "image_link", "required"),
        ({"image_link": "ftp://shop.example/img/alta.jpg"}, "image_link", "invalid_url"),
        ({"additional_image_link": [f"https://shop.example/img/{n}.jpg" for n in range(21)]}, "additional_image_link", "too_many"),
        ({"additional_image_link": ["img/side.jpg"]}, "additional_image_link", "invalid_url"),
        ({"additional_image_link": ["https://shop.example/img/w_500,h_500/side.jpg"]}, "additional_image_link", "invalid"),
        ({"additional_image_link": [f"https://shop.example/img/{'x' * 100}-{n}.jpg" for n in range(19)]}, "additional_image_link", "too_long"),
        ({"brand": REMOVE, "gtin": REMOVE}, "brand", "required"),
        ({"gtin": "4006381333932"}, "gtin", "invalid_gtin"),
        ({"gtin": "2000123000008"}, "gtin", "invalid_gtin"),
        ({"gender": "men"}, "gender", "not_allowed"),
        ({"age_group": "teenager"}, "age_group", "not_allowed"),
        ({"product_type": "p" * 751}, "product_type", "too_long"),
        ({"shipping_weight": "0.95 kg"}, "shipping_weight", "invalid"),
        ({"shipping_weight": Measure(Decimal("1"), "LITER")}, "shipping_weight", "invalid"),
        ({"custom_label_3": "l" * 101}, "custom_label_3", "too_long"),
    ],
)
def test_record_breaking_a_rule_gets_one_problem_for_its_field(changes: dict[str, Any], field: str, code: str) -> None:
    record = shoe_records()[0]
    for name, value in changes.items():
        if value is REMOVE:
            del record.fields[name]
        else:
            record.fields[name] = value
    assert [(problem.field, problem.code) for problem in MetaCatalogFeed().check(record)] == [(field, code)]


def test_plain_text_with_lone_ampersand_and_less_than_is_accepted() -> None:
    record = shoe_records()[0]
    record.fields["description"] = "Black & white; sizes < 42 & > 38 run small."
    assert MetaCatalogFeed().check(record) == []
