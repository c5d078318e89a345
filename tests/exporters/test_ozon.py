"""OZON product import request bodies: shape, chunking, archive bodies, rules, text safety, memory."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from exporters.base import FORMATS, FeedSettings, Money, Param, Record
from exporters.ozon import OzonImportFeed, items_per_request
from tests.exporters.sinks import FolderSink, rub

GOLDEN = Path(__file__).parent / "golden" / "ozon"

# The item fields of `v3ImportProductsRequestItem` as the channel reference lists them (section 4.3).
DOCUMENTED_ITEM_FIELDS = {
    "offer_id",
    "name",
    "description_category_id",
    "new_description_category_id",
    "type_id",
    "price",
    "old_price",
    "currency_code",
    "vat",
    "barcode",
    "depth",
    "width",
    "height",
    "dimension_unit",
    "weight",
    "weight_unit",
    "images",
    "primary_image",
    "images360",
    "color_image",
    "attributes",
    "complex_attributes",
    "pdf_list",
    "promotions",
    "geo_names",
    "service_type",
}
DOCUMENTED_ATTRIBUTE_FIELDS = {"id", "complex_id", "values"}
DOCUMENTED_VALUE_FIELDS = {"dictionary_value_id", "value"}


def shoe(sku: str, colour: str, colour_id: int, size: str, barcode: str) -> Record:
    """Return a variant of a leather sneaker model, as the profile maps it to OZON's fields."""
    slug = sku.lower()
    return Record(
        key=sku,
        group="SHOE-ALTA",
        group_number=1,
        fields={
            "name": f"Кеды Northwind Alta кожаные {colour}",
            "description_category_id": 17028922,
            "type_id": 91565,
            "price": rub("8990.00"),
            "old_price": rub("11990"),
            "vat": "0.2",
            "barcode": barcode,
            "depth": 330,
            "width": 220,
            "height": 120,
            "dimension_unit": "mm",
            "weight": 900,
            "weight_unit": "g",
            "images": [f"https://cdn.example.com/{slug}-1.jpg", f"https://cdn.example.com/{slug}-2.jpg"],
            "color_image": f"https://cdn.example.com/{slug}-swatch.jpg",
            "attributes": [
                Param("Бренд в одежде и обуви", "Northwind", id=31, value_id=971001),
                Param("Название модели", "Northwind Alta", id=9048),
                Param("Цвет товара", colour, id=10096, value_id=colour_id),
                Param("Российский размер", size, id=4295),
                Param("Аннотация", "Кеды из натуральной кожи & замши — <b>не</b> промокают, «городская» модель.", id=4191),
            ],
        },
    )


def coffee() -> Record:
    """Return coffee beans sold by weight, with an in-store barcode and two countries of origin."""
    return Record(
        key="COFFEE-SANTOS-1KG",
        fields={
            "offer_id": "КОФЕ-SANTOS-1000",
            "name": "Кофе в зёрнах Arabica Santos, 1 кг",
            "description_category_id": 17027495,
            "type_id": 970680329,
            "price": rub("1249.505"),
            "vat": Decimal("0.10"),
            "barcode": "2012345678903",
            "depth": 25,
            "width": 12,
            "height": 8,
            "dimension_unit": "cm",
            "weight": 1040,
            "weight_unit": "g",
            "images": ["https://cdn.example.com/coffee-santos.jpg"],
            "attributes": [
                Param("Бренд", "Torrefazione", id=85, value_id=5060050),
                Param("Страна-изготовитель", ["Бразилия", "Колумбия"], id=4389, value_id=[90295, 90296]),
                Param("Вес товара, г", Decimal("1000.0"), id=4383, unit="г"),
                Param("Без кофеина", False, id=9390),
            ],
        },
    )


def hostile_tea() -> Record:
    """Return an English product whose texts hold HTML, quotes, control and XML-forbidden characters."""
    return Record(
        key="TEA-EARL-GREY",
        fields={
            "name": 'Tea "Earl Grey" <b>&</b> bergamot\x00\x07 100 g \ud800\ufffe\x7f — 😀',
            "description_category_id": 17027492,
            "type_id": 970661099,
            "price": Money(Decimal("4.9"), "EUR"),
            "old_price": Money(Decimal("6.00"), "EUR"),
            "vat": "0",
            "barcode": "5012345678900",
            "depth": 4,
            "width": 3,
            "height": 2,
            "dimension_unit": "in",
            "weight": 1,
            "weight_unit": "lb",
            "primary_image": "https://cdn.example.com/tea.jpg?size=big&v=2",
            "images": ["https://cdn.example.com/tea-back.jpg"],
            "attributes": [Param("Аннотация", "Loose leaf <script>alert('x')</script>\r\nTab\there\x1b[31m", id=4191)],
        },
    )


def catalogue() -> list[Record]:
    return [
        shoe("SHOE-ALTA-WHT-42", "белый", 61571, "42", "4601234567893"),
        shoe("SHOE-ALTA-WHT-43", "белый", 61571, "43", "4601234567909"),
        shoe("SHOE-ALTA-BLK-42", "черный", 61574, "42", "4601234567916"),
        coffee(),
        hostile_tea(),
    ]


def assert_golden(request: pytest.FixtureRequest, sink: FolderSink, case: str) -> None:
    """Compare every file written for a case with its golden file, or rewrite them on request."""
    produced = {name: sink.read(name) for name in sink.names}
    if request.config.getoption("--update-golden"):
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for stale in GOLDEN.glob(f"{case}-*.json"):
            stale.unlink()
        for name, data in produced.items():
            (GOLDEN / name).write_bytes(data)
    expected = {path.name: path.read_bytes() for path in GOLDEN.glob(f"{case}-*.json")}
    assert produced == expected


def write(records: Iterator[Record] | list[Record], tmp_path: Path, code: str = "ozon_ru", **options: Any) -> FolderSink:
    sink = FolderSink(tmp_path)
    OzonImportFeed().write(iter(records), FeedSettings(code=code, currency="RUB", options=options), sink)
    return sink


def numbered(code: str, count: int) -> Record:
    record = coffee()
    return Record(key=f"{code}-{count:05d}", fields={**record.fields, "offer_id": f"{code}-{count:05d}"})


def test_format_is_registered_under_its_code() -> None:
    assert FORMATS["ozon"] is OzonImportFeed
    feed = OzonImportFeed()
    assert (feed.media_type, feed.extension, feed.supports_delta, feed.is_grouped) == ("application/json", "json", True, False)


def test_catalogue_matches_golden_file(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    sink = write(catalogue(), tmp_path, code="catalogue")
    assert sink.names == ["catalogue-0001.json"]
    assert_golden(request, sink, "catalogue")


def test_delta_with_deleted_products_matches_golden_files(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    gone = Record(key="SHOE-ALTA-RED-41", fields={}, is_deleted=True)
    gone_with_offer_id = Record(key="COFFEE-OLD", fields={"offer_id": "КОФЕ-OLD-250"}, is_deleted=True)
    sink = write([gone, catalogue()[0], gone_with_offer_id], tmp_path, code="delta")
    assert sink.names == ["delta-0001.json", "delta-archive-0001.json"]
    assert sink.bodies()[1] == {"offer_id": ["SHOE-ALTA-RED-41", "КОФЕ-OLD-250"]}
    assert_golden(request, sink, "delta")


def test_main_file_is_the_first_request_body(tmp_path: Path) -> None:
    sink = write(catalogue(), tmp_path)
    assert OzonImportFeed().file_name(FeedSettings(code="ozon_ru")) == sink.names[0] == "ozon_ru-0001.json"


def test_empty_run_writes_one_body_without_items(tmp_path: Path) -> None:
    sink = write([], tmp_path)
    assert sink.names == ["ozon_ru-0001.json"]
    assert sink.bodies() == [{"items": []}]


@pytest.mark.parametrize(("count", "sizes"), [(100, [100]), (101, [100, 1]), (200, [100, 100]), (250, [100, 100, 50])])
def test_bodies_hold_at_most_one_hundred_items(tmp_path: Path, count: int, sizes: list[int]) -> None:
    sink = write((numbered("OFFER", number) for number in range(count)), tmp_path)
    assert [len(body["items"]) for body in sink.bodies()] == sizes
    assert sink.names == [f"ozon_ru-{number:04d}.json" for number in range(1, len(sizes) + 1)]
    offer_ids = [item["offer_id"] for body in sink.bodies() for item in body["items"]]
    assert offer_ids == [f"OFFER-{number:05d}" for number in range(count)]


def test_profile_can_lower_items_per_request(tmp_path: Path) -> None:
    sink = write((numbered("OFFER", number) for number in range(100)), tmp_path, items_per_request=40)
    assert [len(body["items"]) for body in sink.bodies()] == [40, 40, 20]


def test_profile_cannot_raise_items_per_request_above_one_hundred() -> None:
    assert items_per_request(FeedSettings(code="ozon_ru", options={"items_per_request": 500})) == 100


@pytest.mark.parametrize("wanted", [0, -1, "50", 2.5, True])
def test_items_per_request_must_be_a_positive_whole_number(wanted: Any) -> None:
    with pytest.raises(ValueError, match="items_per_request"):
        items_per_request(FeedSettings(code="ozon_ru", options={"items_per_request": wanted}))


def test_deleted_products_go_to_archive_bodies_of_at_most_one_hundred(tmp_path: Path) -> None:
    deleted = (Record(key=f"GONE-{number:04d}", fields={}, is_deleted=True) for number in range(101))
    sink = write(deleted, tmp_path)
    assert sink.names == ["ozon_ru-0001.json", "ozon_ru-archive-0001.json", "ozon_ru-archive-0002.json"]
    imports, archive_first, archive_second = sink.bodies()
    assert len(archive_first["offer_id"]) == 100
    assert archive_second == {"offer_id": ["GONE-0100"]}
    assert imports == {"items": []}


def test_item_keys_are_documented_fields(tmp_path: Path) -> None:
    items = write(catalogue(), tmp_path).bodies()[0]["items"]
    for item in items:
        assert set(item) <= DOCUMENTED_ITEM_FIELDS
        for attribute in item["attributes"]:
            assert set(attribute) == DOCUMENTED_ATTRIBUTE_FIELDS
            assert attribute["complex_id"] == 0
            for value in attribute["values"]:
                assert set(value) <= DOCUMENTED_VALUE_FIELDS
                assert "value" in value


def test_item_carries_required_fields_typed_as_ozon_documents(tmp_path: Path) -> None:
    item = write([catalogue()[0]], tmp_path).bodies()[0]["items"][0]
    assert item["offer_id"] == "SHOE-ALTA-WHT-42"
    assert (item["description_category_id"], item["type_id"]) == (17028922, 91565)
    assert (item["price"], item["old_price"], item["currency_code"], item["vat"]) == ("8990", "11990", "RUB", "0.2")
    assert (item["depth"], item["width"], item["height"], item["dimension_unit"]) == (330, 220, 120, "mm")
    assert (item["weight"], item["weight_unit"]) == (900, "g")


def test_prices_are_strings_rounded_half_up_to_two_decimals(tmp_path: Path) -> None:
    items = write(catalogue(), tmp_path).bodies()[0]["items"]
    assert [(item["price"], item["currency_code"]) for item in items[3:]] == [("1249.51", "RUB"), ("4.9", "EUR")]


def test_offer_id_defaults_to_the_sku(tmp_path: Path) -> None:
    items = write(catalogue(), tmp_path).bodies()[0]["items"]
    assert [item["offer_id"] for item in items] == ["SHOE-ALTA-WHT-42", "SHOE-ALTA-WHT-43", "SHOE-ALTA-BLK-42", "КОФЕ-SANTOS-1000", "TEA-EARL-GREY"]


def test_attribute_without_dictionary_id_has_only_a_value(tmp_path: Path) -> None:
    attributes = write([catalogue()[0]], tmp_path).bodies()[0]["items"][0]["attributes"]
    assert attributes[0] == {"id": 31, "complex_id": 0, "values": [{"dictionary_value_id": 971001, "value": "Northwind"}]}
    assert attributes[1] == {"id": 9048, "complex_id": 0, "values": [{"value": "Northwind Alta"}]}


def test_list_value_becomes_several_values_of_a_collection_attribute(tmp_path: Path) -> None:
    attributes = write([coffee()], tmp_path).bodies()[0]["items"][0]["attributes"]
    assert attributes[1]["values"] == [{"dictionary_value_id": 90295, "value": "Бразилия"}, {"dictionary_value_id": 90296, "value": "Колумбия"}]
    assert attributes[2]["values"] == [{"value": "1000"}]
    assert attributes[3]["values"] == [{"value": "false"}]


def test_russian_text_is_written_as_utf8_without_escapes(tmp_path: Path) -> None:
    data = write(catalogue(), tmp_path).read("ozon_ru-0001.json")
    assert "Кеды Northwind Alta кожаные белый".encode() in data
    assert b"\\u" not in data


def test_hostile_text_stays_valid_json_without_control_characters(tmp_path: Path) -> None:
    data = write([hostile_tea()], tmp_path).read("ozon_ru-0001.json")
    item = orjson.loads(data)["items"][0]
    assert item["name"] == 'Tea "Earl Grey" <b>&</b> bergamot 100 g  — 😀'
    assert item["attributes"][0]["values"][0]["value"] == "Loose leaf <script>alert('x')</script>\r\nTab\there[31m"
    assert item["primary_image"] == "https://cdn.example.com/tea.jpg?size=big&v=2"


def test_any_character_in_text_gives_valid_json(tmp_path: Path) -> None:
    every = "".join(map(chr, range(0x3000))) + "\ud800\udfff\ufffe\uffff\U0001f600\U0010ffff"
    record = with_fields(name=every[:500], attributes=[Param("Аннотация", every, id=4191)])
    item = orjson.loads(write([record], tmp_path).read("ozon_ru-0001.json"))["items"][0]
    kept = item["attributes"][0]["values"][0]["value"]
    assert kept == "".join(
        char for char in every if char in "\t\n\r" or not (char < " " or char == "\x7f" or "\ud800" <= char <= "\udfff" or char in "\ufffe\uffff")
    )


def test_good_records_have_no_problems() -> None:
    feed = OzonImportFeed()
    assert [feed.check(record) for record in catalogue()] == [[]] * 5


def with_fields(**changes: Any) -> Record:
    record = shoe("SHOE-ALTA-WHT-42", "белый", 61571, "42", "4601234567893")
    fields = {**record.fields, **changes}
    return Record(key=record.key, fields={name: value for name, value in fields.items() if value is not None})


ONE_URL = "https://cdn.example.com/a.jpg"


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"offer_id": "A" * 51}, "offer_id", "too_long"),
        ({"name": "Кеды " * 101}, "name", "too_long"),
        ({"description_category_id": None}, "description_category_id", "required"),
        ({"description_category_id": "17028922"}, "description_category_id", "invalid"),
        ({"type_id": None}, "type_id", "required"),
        ({"price": None}, "price", "required"),
        ({"price": "8990"}, "price", "invalid"),
        ({"price": rub("0.004")}, "price", "invalid"),
        ({"price": rub("-1")}, "price", "invalid"),
        ({"price": Money(Decimal("89.90"), "GBP"), "old_price": None}, "currency_code", "not_allowed"),
        ({"old_price": rub("8990")}, "old_price", "invalid"),
        ({"old_price": rub("7990")}, "old_price", "invalid"),
        ({"old_price": Money(Decimal("119.90"), "EUR")}, "old_price", "invalid"),
        ({"vat": "0.18"}, "vat", "not_allowed"),
        ({"vat": "20%"}, "vat", "not_allowed"),
        ({"barcode": "4601234567894"}, "barcode", "invalid_gtin"),
        ({"barcode": "46012345678X3"}, "barcode", "invalid_gtin"),
        ({"depth": None}, "depth", "required"),
        ({"depth": 0}, "depth", "invalid"),
        ({"width": -220}, "width", "invalid"),
        ({"height": Decimal("12.5")}, "height", "invalid"),
        ({"dimension_unit": None}, "dimension_unit", "required"),
        ({"dimension_unit": "m"}, "dimension_unit", "not_allowed"),
        ({"weight": None}, "weight", "required"),
        ({"weight": 0}, "weight", "invalid"),
        ({"weight": 1_000_001}, "weight", "too_large"),
        ({"weight": 1001, "weight_unit": "kg"}, "weight", "too_large"),
        ({"weight": 2205, "weight_unit": "lb"}, "weight", "too_large"),
        ({"weight_unit": "oz"}, "weight_unit", "not_allowed"),
        ({"weight_unit": None}, "weight_unit", "required"),
        ({"images": [ONE_URL] * 31}, "images", "too_many"),
        ({"images": [ONE_URL] * 30, "primary_image": ONE_URL}, "images", "too_many"),
        ({"images": ["/media/alta.jpg"]}, "images", "invalid_url"),
        ({"primary_image": "ftp://cdn.example.com/a.jpg"}, "primary_image", "invalid_url"),
        ({"color_image": "alta swatch.jpg"}, "color_image", "invalid_url"),
        ({"attributes": [Param("Бренд", "Northwind")]}, "attributes", "invalid"),
        ({"attributes": ["Northwind"]}, "attributes", "invalid"),
        ({"attributes": [Param("Страна", ["Бразилия", "Колумбия"], id=4389, value_id=90295)]}, "attributes", "invalid"),
        ({"attributes": [Param("Страна", ["Бразилия", "Колумбия"], id=4389, value_id=[90295])]}, "attributes", "invalid"),
    ],
)
def test_rule_breaking_record_gets_one_problem(changes: dict[str, Any], field: str, code: str) -> None:
    problems = OzonImportFeed().check(with_fields(**changes))
    assert [(problem.field, problem.code) for problem in problems] == [(field, code)]


@pytest.mark.parametrize(
    "changes",
    [
        {"weight": 1_000_000},
        {"weight": 1000, "weight_unit": "kg"},
        {"weight": 2204, "weight_unit": "lb"},
        {"images": [ONE_URL] * 30},
        {"images": [ONE_URL] * 29, "primary_image": ONE_URL},
        {"barcode": "2012345678903"},
        {"vat": Decimal("0.20")},
        {"vat": 0},
        {"vat": "0.22"},
        {"offer_id": "A" * 50},
        {"price": rub("0.005"), "old_price": None},
        {"price": Money(Decimal("89.90"), "CNY"), "old_price": Money(Decimal("99.90"), "CNY")},
    ],
)
def test_record_at_the_limits_has_no_problems(changes: dict[str, Any]) -> None:
    assert OzonImportFeed().check(with_fields(**changes)) == []


def test_sku_standing_in_for_offer_id_is_checked_for_length() -> None:
    record = with_fields(offer_id=None)
    record.key = "SHOE-" + "A" * 46
    assert [(problem.field, problem.code) for problem in OzonImportFeed().check(record)] == [("offer_id", "too_long")]


def test_deleted_record_needs_only_its_offer_id() -> None:
    feed = OzonImportFeed()
    assert feed.check(Record(key="SHOE-ALTA-RED-41", fields={}, is_deleted=True)) == []
    too_long = feed.check(Record(key="SHOE", fields={"offer_id": "A" * 51}, is_deleted=True))
    assert [(problem.field, problem.code) for problem in too_long] == [("offer_id", "too_long")]


def test_writing_twenty_thousand_records_keeps_memory_flat(tmp_path: Path) -> None:
    template = shoe("SHOE-ALTA-WHT-42", "белый", 61571, "42", "4601234567893").fields
    template["attributes"] = template["attributes"][1:2]

    def records() -> Iterator[Record]:
        for number in range(20_000):
            yield Record(key=f"SHOE-{number:05d}", fields={**template, "name": f"Кеды Northwind Alta {number} " + "ж" * 200})

    tracemalloc.start()
    try:
        sink = write(records(), tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(sink.names) == 200
    assert peak < 3_000_000
