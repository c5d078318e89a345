"""Wildberries card upload bodies: cards merged by colour, group and body limits, rules, text safety, memory."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from exporters.base import FORMATS, FeedSettings, Money, Param, Record, RecordGroup
from exporters.wildberries import MAX_REQUEST_BYTES, WildberriesCardsFeed, max_request_bytes
from tests.exporters.sinks import FolderSink, rub

GOLDEN = Path(__file__).parent / "golden" / "wildberries"

# The fields of `/content/v2/cards/upload` as the channel reference lists them (section 5.2).
DOCUMENTED_GROUP_FIELDS = {"subjectID", "variants"}
DOCUMENTED_CARD_FIELDS = {"vendorCode", "title", "description", "brand", "dimensions", "characteristics", "sizes", "kizMarked", "wholesale"}
DOCUMENTED_DIMENSION_FIELDS = {"length", "width", "height", "weightBrutto"}
DOCUMENTED_SIZE_FIELDS = {"techSize", "wbSize", "price", "skus"}
DOCUMENTED_CHARACTERISTIC_FIELDS = {"id", "value"}


def card_groups(sink: FolderSink) -> list[Any]:
    """Return the card groups of every request body the feed wrote, in order."""
    return [group for body in sink.bodies() for group in body]


def shoe(colour: str, size: str, barcode: str, *, subject: int = 105) -> Record:
    """Return one size of one colour of a leather sneaker, as the profile maps it to Wildberries' fields."""
    code = {"белый": "WHT", "черный": "BLK"}.get(colour, colour.upper())
    return Record(
        key=f"SHOE-ALTA-{code}-{size}",
        group="SHOE-ALTA",
        group_number=1,
        fields={
            "vendorCode": f"SHOE-ALTA-{code}",
            "subjectID": subject,
            "title": "Кеды кожаные Alta",
            "description": "Кеды из натуральной кожи & замши на резиновой подошве — «городская» модель.",
            "brand": "Northwind",
            "length": 33,
            "width": 22,
            "height": 12,
            "weightBrutto": Decimal("0.900"),
            "characteristics": [
                Param("Цвет", colour, id=14177449),
                Param("Состав", ["кожа натуральная", "резина"], id=14177451),
                Param("Высота подошвы", Decimal("3.50"), unit="см", id=15001403),
                Param("Количество предметов в упаковке", 2, id=14177452),
            ],
            "techSize": size,
            "wbSize": size,
            "price": rub("8990.00"),
            "sku": barcode,
        },
    )


def shoe_model(*variants: Record) -> RecordGroup:
    return RecordGroup(key="SHOE-ALTA", fields={"subjectID": 105, "brand": "Northwind"}, variants=list(variants), axes=("color", "size"))


def coffee() -> Record:
    """Return packed coffee beans, a product without a model or sizes, priced with kopecks."""
    return Record(
        key="COFFEE-SANTOS-1KG",
        fields={
            "vendorCode": "КОФЕ-SANTOS-1000",
            "subjectID": 3091,
            "title": "Кофе в зёрнах Arabica Santos, 1 кг",
            "brand": "Torrefazione",
            "length": 25,
            "width": 12,
            "height": 8,
            "weightBrutto": Decimal("1.04"),
            "characteristics": [Param("Страна производства", "Бразилия", id=14177441), Param("Вес товара без упаковки (г)", 1000, id=14177453)],
            "price": rub("1249.50"),
            "sku": "2012345678903",
        },
    )


def hostile_tea() -> Record:
    """Return an English product whose texts hold HTML, quotes, control and XML-forbidden characters."""
    return Record(
        key="TEA-EARL-GREY",
        fields={
            "vendorCode": "TEA-EARL-GREY",
            "subjectID": 3092,
            "title": 'Tea "Earl Grey" <b>&</b> bergamot\x00\x07 100 g \ud800\ufffe\x7f — 😀',
            "description": "Loose leaf <script>alert('x')</script>\r\nTab\there\x1b[31m",
            "characteristics": [Param("Вкус", "bergamot & lemon\x0b", id=14177460)],
            "price": rub("499.49"),
            "sku": "5012345678900",
        },
    )


def catalogue() -> list[Record | RecordGroup]:
    model = shoe_model(
        shoe("белый", "42", "4601234567893"),
        shoe("белый", "43", "4601234567909"),
        shoe("черный", "42", "4601234567916"),
    )
    return [model, coffee(), hostile_tea()]


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


def write(
    items: Iterator[Record | RecordGroup] | list[Record | RecordGroup],
    tmp_path: Path,
    code: str = "wb_ru",
    feed: WildberriesCardsFeed | None = None,
    **options: Any,
) -> FolderSink:
    sink = FolderSink(tmp_path)
    (feed or WildberriesCardsFeed()).write(iter(items), FeedSettings(code=code, currency="RUB", options=options), sink)
    return sink


def standalone(number: int, *, padding: int = 0) -> Record:
    record = coffee()
    fields = {**record.fields, "vendorCode": f"COFFEE-{number:05d}", "description": "ж" * padding}
    return Record(key=f"COFFEE-{number:05d}", fields=fields)


def colours(count: int) -> RecordGroup:
    return shoe_model(*(shoe(f"c{number:02d}", "42", "4601234567893") for number in range(count)))


def test_format_is_registered_under_its_code() -> None:
    assert FORMATS["wildberries"] is WildberriesCardsFeed
    feed = WildberriesCardsFeed()
    assert (feed.media_type, feed.extension, feed.is_grouped, feed.rejected) == ("application/json", "json", True, [])


def test_catalogue_matches_golden_file(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    sink = write(catalogue(), tmp_path, code="catalogue")
    assert sink.names == ["catalogue-0001.json"]
    assert_golden(request, sink, "catalogue")


def test_main_file_is_the_first_request_body(tmp_path: Path) -> None:
    sink = write(catalogue(), tmp_path)
    assert WildberriesCardsFeed().file_name(FeedSettings(code="wb_ru")) == sink.names[0] == "wb_ru-0001.json"


def test_empty_run_writes_one_empty_body(tmp_path: Path) -> None:
    sink = write([], tmp_path)
    assert sink.names == ["wb_ru-0001.json"]
    assert sink.read("wb_ru-0001.json") == b"[]\n"


def test_sizes_of_one_colour_merge_into_one_card(tmp_path: Path) -> None:
    group = card_groups(write(catalogue(), tmp_path))[0]
    assert group["subjectID"] == 105
    white, black = group["variants"]
    assert (white["vendorCode"], black["vendorCode"]) == ("SHOE-ALTA-WHT", "SHOE-ALTA-BLK")
    assert white["sizes"] == [
        {"techSize": "42", "wbSize": "42", "price": 8990, "skus": ["4601234567893"]},
        {"techSize": "43", "wbSize": "43", "price": 8990, "skus": ["4601234567909"]},
    ]
    assert black["sizes"] == [{"techSize": "42", "wbSize": "42", "price": 8990, "skus": ["4601234567916"]}]


def test_product_without_model_is_a_group_of_one_card_with_one_size(tmp_path: Path) -> None:
    group = card_groups(write([coffee()], tmp_path))[0]
    assert group["subjectID"] == 3091
    [card] = group["variants"]
    assert card["sizes"] == [{"price": 1250, "skus": ["2012345678903"]}]


def test_numbers_keep_their_exact_decimal_digits(tmp_path: Path) -> None:
    data = write(catalogue(), tmp_path).read("wb_ru-0001.json")
    assert b'"dimensions":{"length":33,"width":22,"height":12,"weightBrutto":0.9}' in data
    assert b'{"id":15001403,"value":3.5}' in data
    assert b'{"id":14177452,"value":2}' in data


def test_text_characteristics_are_lists_of_strings(tmp_path: Path) -> None:
    card = card_groups(write(catalogue(), tmp_path))[0]["variants"][0]
    assert card["characteristics"][:2] == [{"id": 14177449, "value": ["белый"]}, {"id": 14177451, "value": ["кожа натуральная", "резина"]}]


@pytest.mark.parametrize(("amount", "roubles"), [("8990.50", 8991), ("8990.49", 8990), ("0.50", 1), ("12", 12)])
def test_price_is_whole_roubles_rounded_half_up(tmp_path: Path, amount: str, roubles: int) -> None:
    record = coffee()
    record.fields["price"] = rub(amount)
    assert card_groups(write([record], tmp_path))[0]["variants"][0]["sizes"][0]["price"] == roubles


def test_model_fields_fill_what_variants_leave_empty(tmp_path: Path) -> None:
    variant = shoe("белый", "42", "4601234567893")
    del variant.fields["brand"]
    card = card_groups(write([shoe_model(variant)], tmp_path))[0]["variants"][0]
    assert card["brand"] == "Northwind"


def test_keys_are_documented_fields(tmp_path: Path) -> None:
    for group in card_groups(write(catalogue(), tmp_path)):
        assert set(group) == DOCUMENTED_GROUP_FIELDS
        for card in group["variants"]:
            assert "vendorCode" in card
            assert set(card) <= DOCUMENTED_CARD_FIELDS
            assert set(card.get("dimensions", {})) <= DOCUMENTED_DIMENSION_FIELDS
            for size in card["sizes"]:
                assert set(size) <= DOCUMENTED_SIZE_FIELDS
            for characteristic in card.get("characteristics", []):
                assert set(characteristic) == DOCUMENTED_CHARACTERISTIC_FIELDS


def test_russian_text_is_written_as_utf8_without_escapes(tmp_path: Path) -> None:
    data = write(catalogue(), tmp_path).read("wb_ru-0001.json")
    assert "Кеды кожаные Alta".encode() in data
    assert b"\\u" not in data


def test_hostile_text_stays_valid_json_without_control_characters(tmp_path: Path) -> None:
    card = orjson.loads(write([hostile_tea()], tmp_path).read("wb_ru-0001.json"))[0]["variants"][0]
    assert card["title"] == 'Tea "Earl Grey" <b>&</b> bergamot 100 g  — 😀'
    assert card["description"] == "Loose leaf <script>alert('x')</script>\r\nTab\there[31m"
    assert card["characteristics"] == [{"id": 14177460, "value": ["bergamot & lemon"]}]


def test_any_character_in_text_gives_valid_json(tmp_path: Path) -> None:
    every = "".join(map(chr, range(0x3000))) + "\ud800\udfff\ufffe\uffff\U0001f600\U0010ffff"
    record = coffee()
    record.fields.update(description=every, characteristics=[Param("Вкус", [every], id=14177460)])
    card = orjson.loads(write([record], tmp_path).read("wb_ru-0001.json"))[0]["variants"][0]
    expected = "".join(
        char for char in every if char in "\t\n\r" or not (char < " " or char == "\x7f" or "\ud800" <= char <= "\udfff" or char in "\ufffe\uffff")
    )
    assert card["description"] == card["characteristics"][0]["value"][0] == expected


def test_group_of_thirty_colours_is_one_object(tmp_path: Path) -> None:
    groups = card_groups(write([colours(30)], tmp_path))
    assert [len(group["variants"]) for group in groups] == [30]


def test_group_of_thirty_one_colours_is_split_into_objects_of_thirty(tmp_path: Path) -> None:
    groups = card_groups(write([colours(31)], tmp_path))
    assert [(group["subjectID"], len(group["variants"])) for group in groups] == [(105, 30), (105, 1)]
    assert groups[1]["variants"][0]["vendorCode"] == "SHOE-ALTA-C30"


@pytest.mark.parametrize(("count", "sizes"), [(100, [100]), (101, [100, 1]), (200, [100, 100]), (250, [100, 100, 50])])
def test_bodies_hold_at_most_one_hundred_groups(tmp_path: Path, count: int, sizes: list[int]) -> None:
    sink = write((standalone(number) for number in range(count)), tmp_path)
    assert [len(body) for body in sink.bodies()] == sizes
    assert sink.names == [f"wb_ru-{number:04d}.json" for number in range(1, len(sizes) + 1)]
    vendor_codes = [group["variants"][0]["vendorCode"] for group in card_groups(sink)]
    assert vendor_codes == [f"COFFEE-{number:05d}" for number in range(count)]


def test_new_body_starts_before_the_byte_cap_would_be_passed(tmp_path: Path) -> None:
    cap = 2_000
    sink = write((standalone(number, padding=number * 7) for number in range(60)), tmp_path, max_request_bytes=cap)
    assert len(sink.names) > 2
    sizes = [len(sink.read(name)) for name in sink.names]
    assert max(sizes) <= cap
    for previous, following in zip(sink.names, sink.names[1:], strict=False):
        # The next body's first object would not have fitted after a comma in the previous body.
        first_object = orjson.dumps(orjson.loads(sink.read(following))[0])
        assert len(sink.read(previous)) + 1 + len(first_object) > cap
    assert [group["variants"][0]["vendorCode"] for group in card_groups(sink)] == [f"COFFEE-{number:05d}" for number in range(60)]


def test_body_may_reach_the_byte_cap_exactly(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    probe.mkdir()
    single = len(write([standalone(0)], probe).read("wb_ru-0001.json"))
    # A body is "[" + objects joined by "," + "]\n"; two objects of equal size fill this cap to the byte.
    exact = single + 1 + (single - 3)
    assert [len(body) for body in write([standalone(0), standalone(1)], tmp_path, max_request_bytes=exact).bodies()] == [2]
    assert [len(body) for body in write([standalone(0), standalone(1)], tmp_path, max_request_bytes=exact - 1).bodies()] == [1, 1]


def test_group_larger_than_the_byte_cap_is_rejected(tmp_path: Path) -> None:
    feed = WildberriesCardsFeed()
    big = shoe_model(shoe("белый", "42", "4601234567893"), shoe("белый", "43", "4601234567909"))
    big.variants[0].fields["description"] = "Кеды из натуральной кожи. " * 40
    sink = write([coffee(), big, hostile_tea()], tmp_path, feed=feed, max_request_bytes=1_500)
    assert [group["variants"][0]["vendorCode"] for group in card_groups(sink)] == ["КОФЕ-SANTOS-1000", "TEA-EARL-GREY"]
    assert [(key, problem.field, problem.code) for key, problem in feed.rejected] == [
        ("SHOE-ALTA-WHT-42", "variants", "too_large"),
        ("SHOE-ALTA-WHT-43", "variants", "too_large"),
    ]


def test_byte_cap_cannot_be_raised_above_ten_megabytes() -> None:
    assert max_request_bytes(FeedSettings(code="wb_ru", options={"max_request_bytes": 50_000_000})) == MAX_REQUEST_BYTES
    assert max_request_bytes(FeedSettings(code="wb_ru")) == MAX_REQUEST_BYTES


@pytest.mark.parametrize("wanted", [0, 3, "1000", 1.5e6, True])
def test_byte_cap_must_be_a_whole_number_of_bytes(wanted: Any) -> None:
    with pytest.raises(ValueError, match="max_request_bytes"):
        max_request_bytes(FeedSettings(code="wb_ru", options={"max_request_bytes": wanted}))


def test_group_with_two_subjects_is_rejected_for_every_record(tmp_path: Path) -> None:
    feed = WildberriesCardsFeed()
    mixed = shoe_model(shoe("белый", "42", "4601234567893"), shoe("черный", "42", "4601234567916", subject=106))
    sink = write([mixed, coffee()], tmp_path, feed=feed)
    assert [group["subjectID"] for group in card_groups(sink)] == [3091]
    assert [(key, problem.field, problem.code) for key, problem in feed.rejected] == [
        ("SHOE-ALTA-WHT-42", "subjectID", "inconsistent"),
        ("SHOE-ALTA-BLK-42", "subjectID", "inconsistent"),
    ]
    assert "105 (SHOE-ALTA-WHT-42), 106 (SHOE-ALTA-BLK-42)" in feed.rejected[0][1].message


def test_size_twice_in_one_card_is_rejected_for_every_record(tmp_path: Path) -> None:
    feed = WildberriesCardsFeed()
    twice = shoe("белый", "42", "4601234567909")
    twice.key = "SHOE-ALTA-WHT-42-B"
    duplicated = shoe_model(shoe("белый", "42", "4601234567893"), twice, shoe("черный", "42", "4601234567916"))
    sink = write([duplicated, coffee()], tmp_path, feed=feed)
    assert [group["subjectID"] for group in card_groups(sink)] == [3091]
    assert [(key, problem.field, problem.code) for key, problem in feed.rejected] == [
        ("SHOE-ALTA-WHT-42", "techSize", "duplicate"),
        ("SHOE-ALTA-WHT-42-B", "techSize", "duplicate"),
        ("SHOE-ALTA-BLK-42", "techSize", "duplicate"),
    ]


def test_same_size_in_different_colours_is_accepted(tmp_path: Path) -> None:
    feed = WildberriesCardsFeed()
    write(catalogue(), tmp_path, feed=feed)
    assert feed.rejected == []


def test_rejected_is_cleared_by_the_next_write(tmp_path: Path) -> None:
    feed = WildberriesCardsFeed()
    write([shoe_model(shoe("белый", "42", "4601234567893"), shoe("черный", "42", "4601234567916", subject=106))], tmp_path, feed=feed)
    assert len(feed.rejected) == 2
    write([coffee()], tmp_path, feed=feed)
    assert feed.rejected == []


def test_good_records_have_no_problems() -> None:
    feed = WildberriesCardsFeed()
    records = [*catalogue()[0].variants, coffee(), hostile_tea()]  # type: ignore[union-attr]
    assert [feed.check(record) for record in records] == [[]] * 5


def with_fields(**changes: Any) -> Record:
    record = shoe("белый", "42", "4601234567893")
    fields = {**record.fields, **changes}
    return Record(key=record.key, fields={name: value for name, value in fields.items() if value is not None})


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"vendorCode": None}, "vendorCode", "required"),
        ({"subjectID": None}, "subjectID", "required"),
        ({"subjectID": "105"}, "subjectID", "invalid"),
        ({"title": None}, "title", "required"),
        ({"price": None}, "price", "required"),
        ({"price": 8990}, "price", "invalid"),
        ({"price": Money(Decimal("89.90"), "EUR")}, "price", "not_allowed"),
        ({"price": rub("0.49")}, "price", "invalid"),
        ({"price": rub("-10")}, "price", "invalid"),
        ({"sku": "4601234567894"}, "sku", "invalid_gtin"),
        ({"sku": "460123456"}, "sku", "invalid_gtin"),
        ({"length": 0}, "length", "invalid"),
        ({"width": -22}, "width", "invalid"),
        ({"height": Decimal("12.5")}, "height", "invalid"),
        ({"weightBrutto": Decimal("0")}, "weightBrutto", "invalid"),
        ({"weightBrutto": Decimal("NaN")}, "weightBrutto", "invalid"),
        ({"weightBrutto": "0.9"}, "weightBrutto", "invalid"),
        ({"characteristics": [Param("Цвет", "белый")]}, "characteristics", "invalid"),
        ({"characteristics": [Param("Водонепроницаемые", True, id=14177470)]}, "characteristics", "invalid"),
        ({"characteristics": [Param("Высота подошвы", Decimal("Infinity"), id=15001403)]}, "characteristics", "invalid"),
        ({"characteristics": ["белый"]}, "characteristics", "invalid"),
    ],
)
def test_rule_breaking_record_gets_one_problem(changes: dict[str, Any], field: str, code: str) -> None:
    problems = WildberriesCardsFeed().check(with_fields(**changes))
    assert [(problem.field, problem.code) for problem in problems] == [(field, code)]


@pytest.mark.parametrize(
    "changes",
    [
        {"sku": "2012345678903"},
        {"price": rub("0.50")},
        {"techSize": None, "wbSize": None, "sku": None},
        {"weightBrutto": 1},
        {"characteristics": [Param("Количество", 2, id=14177452), Param("Состав", ("кожа",), id=14177451)]},
    ],
)
def test_record_at_the_limits_has_no_problems(changes: dict[str, Any]) -> None:
    assert WildberriesCardsFeed().check(with_fields(**changes)) == []


def test_writing_twenty_thousand_records_keeps_memory_flat(tmp_path: Path) -> None:
    template = shoe("белый", "42", "4601234567893").fields
    template["characteristics"] = template["characteristics"][:1]

    def models() -> Iterator[RecordGroup]:
        # 2,000 models of 5 colours in 2 sizes: 20,000 records.
        for model in range(2_000):
            variants = [
                Record(
                    key=f"M{model:04d}-{colour}-{size}", fields={**template, "vendorCode": f"M{model:04d}-{colour}", "techSize": size, "description": "ж" * 200}
                )
                for colour in range(5)
                for size in ("42", "43")
            ]
            yield RecordGroup(key=f"M{model:04d}", fields={}, variants=variants)

    tracemalloc.start()
    try:
        sink = write(models(), tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(sink.names) == 20
    assert peak < 3_000_000
