"""Google Merchant Center feed: golden files, the specification's rules, well-formed and streaming output."""

from __future__ import annotations

import random
import weakref
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from exporters import get_format
from exporters.base import FeedSettings, Measure, Money, Record, gtin_problem, xml_text
from exporters.google_merchant import GoogleMerchantFeed
from tests.conftest import SHARED_DATA
from tests.exporters.sinks import FolderSink, eur, rendered_as_in_a_run, rub

GOLDEN = Path(__file__).parent / "golden" / "google_merchant"
G = "{http://base.google.com/ns/1.0}"
REQUIRED = ("id", "title", "description", "link", "image_link", "availability", "price")
# Partner XML is never trusted: no entities, no DTD, no network.
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def shoe_records() -> list[Record]:
    """Sneakers in two colours and two sizes, and a kids' boot with only a manufacturer part number."""
    shared = {
        "description": (
            'Low-top sneaker in full-grain leather & natural rubber sole.\nFits "true to size"; '
            "half sizes < 42 should take the next size up.\x0b Cleaning: wipe with a damp cloth\ufffe."
        ),
        "brand": "Northwind",
        "condition": "new",
        "google_product_category": 187,
        "product_type": "Shoes > Sneakers > Leather",
        "size_system": "EU",
        "gender": "unisex",
        "age_group": "adult",
        "material": "Leather",
        "custom_label_0": "spring-2026",
    }
    return [
        Record(
            "SHOE-ALTA-WHT-42",
            {
                **shared,
                "id": "SHOE-ALTA-WHT-42",
                "title": "Northwind Alta leather sneaker, white, 42",
                "link": "https://shop.example/p/alta?v=wht-42&utm_source=google",
                "image_link": "https://shop.example/img/alta-wht.jpg",
                "additional_image_link": ["https://shop.example/img/alta-wht-side.jpg", "https://shop.example/img/alta-wht-sole.jpg"],
                "availability": "in_stock",
                "price": eur("119.90"),
                "sale_price": eur("89.9"),
                "sale_price_effective_date": "2026-03-01T00:00+0100/2026-03-15T23:59+0100",
                "gtin": "4006381333931",
                "color": "White",
                "size": "42",
                "shipping_weight": Measure(Decimal("0.950"), "KILOGRAM"),
            },
            group="SHOE-ALTA",
            group_number=1,
        ),
        Record(
            "SHOE-ALTA-WHT-43",
            {
                **shared,
                "id": "SHOE-ALTA-WHT-43",
                "title": "Northwind Alta leather sneaker, white, 43",
                "link": "https://shop.example/p/alta?v=wht-43&utm_source=google",
                "image_link": "https://shop.example/img/alta-wht.jpg",
                "availability": "out_of_stock",
                "price": eur("119.90"),
                "gtin": "4006381333948",
                "color": "White",
                "size": "43",
                "shipping_weight": Measure(Decimal("0.98"), "KILOGRAM"),
            },
            group="SHOE-ALTA",
            group_number=1,
        ),
        Record(
            "SHOE-ALTA-BLK-42",
            {
                **shared,
                "id": "SHOE-ALTA-BLK-42",
                "title": "Northwind Alta leather sneaker, black, 42",
                "link": "https://shop.example/p/alta?v=blk-42&utm_source=google",
                "image_link": "https://shop.example/img/alta-blk.jpg",
                "availability": "backorder",
                "availability_date": "2026-04-20T09:00+0200",
                "price": eur("119.90"),
                "gtin": "4006381333955",
                "color": "Black",
                "size": "42",
                "shipping_weight": Measure(Decimal("0.95"), "KILOGRAM"),
            },
            group="SHOE-ALTA",
            group_number=1,
        ),
        Record(
            "BOOT-TUNDRA-K30",
            {
                "id": "BOOT-TUNDRA-K30",
                "title": "Tundra kids' winter boot <waterproof>, 30",
                "description": "Lined winter boot for children: 'Tundra' keeps feet dry down to -20 °C.",
                "link": "https://shop.example/p/tundra-kids?v=30",
                "image_link": "https://shop.example/img/tundra-kids.png",
                "availability": "preorder",
                "availability_date": "2026-09-01",
                "price": eur("64.50"),
                "brand": "Tundra",
                "mpn": "TND-K-30",
                "condition": "new",
                "google_product_category": "187",
                "color": "Navy/Red",
                "size": "30",
                "size_system": "EU",
                "gender": "unisex",
                "age_group": "kids",
                "shipping_weight": Measure(Decimal("1.2"), "POUND"),
                "custom_label_1": "winter",
            },
        ),
    ]


def grocery_records() -> list[Record]:
    """A Russian grocer's feed: packed coffee with a GTIN and cheese cut and weighed in the store."""
    return [
        Record(
            "COFFEE-ARABICA-250",
            {
                "id": "COFFEE-ARABICA-250",
                "title": "Кофе в зёрнах «Арабика Бразилия», 250 г",
                "description": "Обжарка средняя, 100 % арабика & ни грамма робусты.\r\nВкус: орех, шоколад; кислотность < 3 из 5.\x00",
                "link": "https://magazin.example/kofe/arabika-250",
                "image_link": "https://magazin.example/img/arabika-250.webp",
                "availability": "in_stock",
                "price": rub("649"),
                "sale_price": rub("549.00"),
                "brand": "Северный ветер",
                "gtin": "4601234567893",
                "condition": "new",
                "google_product_category": 1868,
                "product_type": "Бакалея > Кофе > В зёрнах",
                "unit_pricing_measure": Measure(Decimal("250"), "GRAM"),
                "unit_pricing_base_measure": Measure(Decimal("100"), "GRAM"),
                "shipping_weight": Measure(Decimal("270"), "GRAM"),
            },
        ),
        Record(
            "CHEESE-GOUDA-300",
            {
                "id": "CHEESE-GOUDA-300",
                "title": 'Сыр "Гауда" 45 %, весовой, ~300 г',
                "description": "Полутвёрдый сыр, выдержка 3 месяца. Цена за упаковку около 300 г; точный вес\u0007 — на этикетке.",
                "link": "https://magazin.example/syr/gauda",
                "image_link": "https://magazin.example/img/gauda.jpg",
                "availability": "in_stock",
                "price": rub("389.70"),
                "brand": "Сырная лавка",
                "condition": "new",
                "google_product_category": "429",
                "unit_pricing_measure": Measure(Decimal("300"), "GRAM"),
                "unit_pricing_base_measure": Measure(Decimal("1"), "KILOGRAM"),
                "shipping_weight": Measure(Decimal("0.32"), "KILOGRAM"),
                "custom_label_0": "весовой",
            },
        ),
    ]


def render(records: Iterator[Record] | list[Record], folder: Path, settings: FeedSettings | None = None) -> bytes:
    """Write the records as a feed under the folder and return the file's bytes."""
    settings = settings or FeedSettings("google_de", title="Northwind shoes", link="https://shop.example", description="Daily product feed")
    sink = FolderSink(folder)
    GoogleMerchantFeed().write(iter(records), settings, sink)
    sink.close()
    return (folder / "google_de.xml").read_bytes()


def assert_matches_golden(request: pytest.FixtureRequest, produced: bytes, case: str) -> None:
    path = GOLDEN / f"{case}.xml"
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(produced)
    assert produced == path.read_bytes()


def test_google_merchant_is_registered_as_an_xml_feed_without_delta() -> None:
    feed = get_format("google_merchant")
    assert isinstance(feed, GoogleMerchantFeed)
    assert (feed.media_type, feed.extension, feed.supports_delta, feed.is_grouped) == ("application/xml", "xml", False, False)


GOLDEN_CASES = [
    ("shoes_eur", shoe_records, FeedSettings("shoes_eur", title="Northwind & Co. <shoes>", link="https://shop.example", description="Daily product feed")),
    (
        "grocery_rub",
        grocery_records,
        FeedSettings(
            "grocery_rub", title="Магазин «Северный ветер»", link="https://magazin.example", description="Товары на сегодня", locale="ru_RU", currency="RUB"
        ),
    ),
]


@pytest.mark.parametrize("rendered", [False, True], ids=["as_given", "rendered"])
@pytest.mark.parametrize(("case", "records", "settings"), GOLDEN_CASES)
def test_write_matches_golden_file(request: pytest.FixtureRequest, tmp_path: Path, case: str, records: Any, settings: FeedSettings, rendered: bool) -> None:
    sink = FolderSink(tmp_path)
    feed = GoogleMerchantFeed()
    items = rendered_as_in_a_run(feed, list(records()), settings) if rendered else records()
    feed.write(iter(items), settings, sink)
    sink.close()
    assert_matches_golden(request, (tmp_path / f"{case}.xml").read_bytes(), case)


@pytest.mark.parametrize("records", [shoe_records, grocery_records])
def test_golden_records_pass_every_rule(records: Any) -> None:
    feed = GoogleMerchantFeed()
    assert {record.key: feed.check(record) for record in records()} == {record.key: [] for record in records()}


def test_every_item_has_the_required_elements(tmp_path: Path) -> None:
    root = etree.fromstring(render(shoe_records() + grocery_records(), tmp_path), SAFE_PARSER)
    assert root.tag == "rss" and root.get("version") == "2.0"
    assert [child.tag for child in root.find("channel")][:3] == ["title", "link", "description"]
    items = root.findall("channel/item")
    assert len(items) == 6
    for item in items:
        assert all(item.find(G + name) is not None for name in REQUIRED), etree.tostring(item)
        assert all(child.tag.startswith(G) for child in item)


def test_item_without_gtin_or_mpn_says_identifier_exists_no(tmp_path: Path) -> None:
    root = etree.fromstring(render(shoe_records() + grocery_records(), tmp_path), SAFE_PARSER)
    stated = {item.findtext(G + "id"): item.findtext(G + "identifier_exists") for item in root.iter("item")}
    assert stated["CHEESE-GOUDA-300"] == "no"
    assert stated["BOOT-TUNDRA-K30"] is None
    assert stated["SHOE-ALTA-WHT-42"] is None


def test_item_group_id_falls_back_to_the_product_model(tmp_path: Path) -> None:
    records = shoe_records()
    records[1].fields["item_group_id"] = "ALTA-SPRING"
    root = etree.fromstring(render(records, tmp_path), SAFE_PARSER)
    groups = [item.findtext(G + "item_group_id") for item in root.iter("item")]
    assert groups == ["SHOE-ALTA", "ALTA-SPRING", "SHOE-ALTA", None]


def test_empty_fields_are_left_out(tmp_path: Path) -> None:
    record = shoe_records()[0]
    record.fields.update(color="", item_group_id="", material=None, additional_image_link=["", "https://shop.example/img/alta-wht-side.jpg"])
    item = etree.fromstring(render([record], tmp_path), SAFE_PARSER).find("channel/item")
    assert (item.find(G + "color"), item.find(G + "material")) == (None, None)
    assert item.findtext(G + "item_group_id") == "SHOE-ALTA"
    assert [element.text for element in item.iter(G + "additional_image_link")] == ["https://shop.example/img/alta-wht-side.jpg"]


def test_deleted_records_are_left_out(tmp_path: Path) -> None:
    records = shoe_records()
    records[0] = replace(records[0], is_deleted=True)
    root = etree.fromstring(render(records, tmp_path), SAFE_PARSER)
    assert [item.findtext(G + "id") for item in root.iter("item")] == ["SHOE-ALTA-WHT-43", "SHOE-ALTA-BLK-42", "BOOT-TUNDRA-K30"]


def test_prices_use_the_currency_minor_unit(tmp_path: Path) -> None:
    record = shoe_records()[0]
    record.fields.update(price=Money(Decimal("12800"), "JPY"), sale_price=Money(Decimal("9999.5"), "JPY"))
    root = etree.fromstring(render([record], tmp_path), SAFE_PARSER)
    assert (root.findtext(f"channel/item/{G}price"), root.findtext(f"channel/item/{G}sale_price")) == ("12800 JPY", "10000 JPY")


HOSTILE = "\x00\x01\x08\x0b\x0c\x0e\x1f\x7f\t\r\n&<>\"']]>&amp;\ud800\udfff\ufffe\uffff\u2028Ωжё😀\u200b"


def test_output_is_well_formed_whatever_the_text(tmp_path: Path) -> None:
    randomness = random.Random(20260301)
    base = shoe_records()[0]
    records = []
    for number in range(300):
        title = "".join(randomness.choice(HOSTILE) for _ in range(randomness.randint(0, 40)))
        description = "".join(randomness.choice(HOSTILE) for _ in range(randomness.randint(0, 200)))
        records.append(replace(base, key=f"R{number}", fields={**base.fields, "id": f"R{number}", "title": title, "description": description}))
    root = etree.fromstring(render(records, tmp_path), SAFE_PARSER)
    items = root.findall("channel/item")
    assert [(item.findtext(G + "title") or "", item.findtext(G + "description") or "") for item in items] == [
        (xml_text(record.fields["title"]), xml_text(record.fields["description"])) for record in records
    ]


class WatchedFields(dict):
    """A record's fields that the test can watch being freed (a plain dict takes no weak reference)."""


def test_writing_20000_records_keeps_neither_records_nor_output_in_memory(tmp_path: Path) -> None:
    required = {name: value for name, value in grocery_records()[0].fields.items() if name in REQUIRED}
    path = tmp_path / "google_de.xml"
    written: list[weakref.ref[WatchedFields]] = []
    seen_at_15000: list[tuple[int, int]] = []

    def generate() -> Iterator[Record]:
        for number in range(20_000):
            if number == 15_000:
                seen_at_15000.append((sum(ref() is not None for ref in written), path.stat().st_size))
            fields = WatchedFields(required, id=f"COFFEE-{number:06d}", mpn=f"ARB-{number}")
            written.append(weakref.ref(fields))
            yield Record(fields["id"], fields)

    sink = FolderSink(tmp_path)
    GoogleMerchantFeed().write(generate(), FeedSettings("google_de"), sink)
    sink.close()
    output = path.read_bytes()
    assert output.count(b"<item>") == 20_000
    records_alive, bytes_written = seen_at_15000[0]
    assert records_alive <= 2
    assert bytes_written > len(output) // 2


def good_record() -> Record:
    return shoe_records()[0]


REMOVE = object()
LONG_URL = "https://shop.example/" + "a" * 1980


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"id": REMOVE}, "id", "required"),
        ({"id": "X" * 51}, "id", "too_long"),
        ({"title": ""}, "title", "required"),
        ({"title": "T" * 151}, "title", "too_long"),
        ({"description": REMOVE}, "description", "required"),
        ({"description": "d" * 5001}, "description", "too_long"),
        ({"link": REMOVE}, "link", "required"),
        ({"link": "shop.example/p/alta"}, "link", "invalid_url"),
        ({"link": LONG_URL}, "link", "too_long"),
        ({"image_link": REMOVE}, "image_link", "required"),
        ({"image_link": "ftp://shop.example/img/alta.jpg"}, "image_link", "invalid_url"),
        ({"additional_image_link": [f"https://shop.example/img/{n}.jpg" for n in range(11)]}, "additional_image_link", "too_many"),
        ({"additional_image_link": ["https://shop.example/img/1.jpg", "img/2.jpg"]}, "additional_image_link", "invalid_url"),
        ({"availability": REMOVE}, "availability", "required"),
        ({"availability": "in stock"}, "availability", "not_allowed"),
        ({"availability": "preorder"}, "availability_date", "required"),
        ({"availability_date": "next Tuesday"}, "availability_date", "invalid"),
        ({"price": REMOVE}, "price", "required"),
        ({"price": "119.90 EUR"}, "price", "invalid"),
        ({"price": eur("-1"), "sale_price": REMOVE}, "price", "invalid"),
        ({"sale_price": eur("119.90")}, "sale_price", "invalid"),
        ({"sale_price": Money(Decimal("89.90"), "USD")}, "sale_price", "invalid"),
        ({"sale_price_effective_date": "2026-03-01T00:00+0100/2026-03-15T23:59:59.000000+01:00"}, "sale_price_effective_date", "too_long"),
        ({"sale_price_effective_date": "2026-03-01"}, "sale_price_effective_date", "invalid"),
        ({"sale_price_effective_date": "2026-03-15/2026-03-01"}, "sale_price_effective_date", "invalid"),
        ({"brand": "B" * 71}, "brand", "too_long"),
        ({"gtin": "4006381333932"}, "gtin", "invalid_gtin"),
        ({"gtin": "2000123000008"}, "gtin", "invalid_gtin"),
        ({"gtin": ["4006381333931", "4006381333948"]}, "gtin", "invalid"),
        ({"mpn": "M" * 71}, "mpn", "too_long"),
        ({"identifier_exists": "no"}, "identifier_exists", "invalid"),
        ({"identifier_exists": False}, "identifier_exists", "invalid"),
        ({"identifier_exists": True, "gtin": REMOVE}, "identifier_exists", "invalid"),
        ({"condition": "damaged"}, "condition", "not_allowed"),
        ({"product_type": "p" * 751}, "product_type", "too_long"),
        ({"item_group_id": "G" * 51}, "item_group_id", "too_long"),
        ({"color": "c" * 101}, "color", "too_long"),
        ({"size": "s" * 101}, "size", "too_long"),
        ({"size_system": "RU"}, "size_system", "not_allowed"),
        ({"size_type": "slim"}, "size_type", "not_allowed"),
        ({"gender": "men"}, "gender", "not_allowed"),
        ({"age_group": "teen"}, "age_group", "not_allowed"),
        ({"material": "m" * 201}, "material", "too_long"),
        ({"pattern": "p" * 101}, "pattern", "too_long"),
        ({"shipping_weight": "950 g"}, "shipping_weight", "invalid"),
        ({"shipping_weight": Measure(Decimal("1"), "LITER")}, "shipping_weight", "invalid"),
        ({"unit_pricing_measure": Measure(Decimal("3"), "CARAT")}, "unit_pricing_measure", "invalid"),
        (
            {"unit_pricing_measure": Measure(Decimal("250"), "GRAM"), "unit_pricing_base_measure": Measure(Decimal("3"), "KILOGRAM")},
            "unit_pricing_base_measure",
            "invalid",
        ),
        (
            {"unit_pricing_measure": Measure(Decimal("250"), "GRAM"), "unit_pricing_base_measure": Measure(Decimal("1"), "LITER")},
            "unit_pricing_base_measure",
            "invalid",
        ),
        (
            {"unit_pricing_measure": Measure(Decimal("250"), "GRAM"), "unit_pricing_base_measure": Measure(Decimal("1"), "PARSEC")},
            "unit_pricing_base_measure",
            "invalid",
        ),
        ({"unit_pricing_base_measure": Measure(Decimal("1"), "KILOGRAM")}, "unit_pricing_measure", "required"),
        ({"custom_label_4": "l" * 101}, "custom_label_4", "too_long"),
    ],
)
def test_record_breaking_a_rule_gets_one_problem_for_its_field(changes: dict[str, Any], field: str, code: str) -> None:
    record = good_record()
    for name, value in changes.items():
        if value is REMOVE:
            del record.fields[name]
        else:
            record.fields[name] = value
    assert [(problem.field, problem.code) for problem in GoogleMerchantFeed().check(record)] == [(field, code)]


def test_product_model_code_longer_than_an_item_group_id_is_reported() -> None:
    record = replace(good_record(), group="MODEL-" + "9" * 45)
    assert [(problem.field, problem.code) for problem in GoogleMerchantFeed().check(record)] == [("item_group_id", "too_long")]


def test_good_record_has_no_problem() -> None:
    assert GoogleMerchantFeed().check(good_record()) == []


def test_legacy_sample_feed_parses_and_its_gtins_validate() -> None:
    root = etree.parse(str(SHARED_DATA / "channels" / "google-merchant-example-feed-legacy.xml"), SAFE_PARSER).getroot()
    items = root.findall("channel/item")
    assert len(items) == 6
    assert all(item.findtext(G + "id") for item in items)
    gtins = [element.text.strip() for element in root.iter(G + "gtin")]
    assert len(gtins) == 4
    assert {gtin: gtin_problem(gtin, is_global=False) for gtin in gtins} == dict.fromkeys(gtins)
