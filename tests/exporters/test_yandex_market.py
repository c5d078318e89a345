"""Yandex.Market YML feed: golden output, schema, Yandex's samples, every rule, streaming."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from exporters import get_format
from exporters.base import FeedSettings, Money, Param, Record, RecordGroup
from exporters.yandex_market import YML_SCHEMA_PATH, YandexMarketFeed, YmlSettingsError, validate_yml
from tests.conftest import SHARED_DATA
from tests.exporters.sinks import FolderSink, rendered_as_in_a_run, rub

GOLDEN = Path(__file__).parent / "golden" / "yandex_market"
SAMPLES = SHARED_DATA / "channels"
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'


def northwind_settings(**changes: Any) -> FeedSettings:
    settings = FeedSettings(
        code="yandex_market",
        title="Нортвинд",
        link="https://shop.example",
        locale="ru_RU",
        currency="RUR",
        generated_at="2026-03-01T14:37+03:00",
        categories=[
            ("1", None, "Обувь"),
            ("12", "1", "Кеды"),
            ("2", None, "Продукты"),
            ("21", "2", "Сыры & молочные продукты"),
        ],
        options={"shop_name": "Northwind", "company": "ООО «Нортвинд»", "url": "https://shop.example", "platform": "Northwind PIM"},
    )
    return replace(settings, **changes)


def alta_sneaker(colour: str, colour_ru: str, size: int, gtin: str, *, available: bool = True) -> Record:
    sku = f"ALTA-{colour}-{size}"
    return Record(
        key=sku,
        group="alta",
        group_number=1001,
        fields={
            "available": available,
            "name": f"Кеды Northwind Alta кожаные, {colour_ru}, р. {size}",
            "url": f"https://shop.example/p/alta?v={colour.lower()}-{size}&utm_source=market",
            "price": rub("8990.00"),
            "oldprice": rub("11990"),
            "categoryId": "12",
            "vendor": "Northwind",
            "vendorCode": f"ALTA-{colour}",
            "picture": [f"https://shop.example/img/alta-{colour.lower()}-1.jpg", f"https://shop.example/img/alta-{colour.lower()}-2.jpg"],
            "description": (
                "<h3>Northwind Alta</h3><p>Кеды из натуральной кожи &amp; замши на резиновой подошве.</p>"
                '<ul><li>Верх: кожа «наппа»</li><li>Подошва: "вулканизированная" резина</li></ul><br/>'
                "<p>Leather sneakers; a ]]> sequence must not end the CDATA.\x07</p>"
            ),
            "sales_notes": "Оплата при получении",
            "manufacturer_warranty": True,
            "country_of_origin": "Вьетнам",
            "param": [Param("Цвет", colour_ru), Param("Размер", str(size), "RU"), Param("Материал верха", "кожа")],
            "barcode": [gtin],
            "delivery": True,
            "pickup": True,
            "store": False,
            "weight": Decimal("0.900"),
            "dimensions": "33/22/12",
        },
    )


def russian_cheese() -> Record:
    return Record(
        key="SYR-ROSS-VES",
        fields={
            "id": "SYR-ROSS-VES",
            "available": True,
            "type": "vendor.model",
            "typePrefix": "Сыр полутвёрдый",
            "vendor": "Вкусная ферма",
            "model": "Российский 50% весовой, 1 кг",
            "url": "https://shop.example/p/syr-rossiyskiy",
            "price": rub("749.90"),
            "categoryId": 21,
            "picture": "https://shop.example/img/syr-rossiyskiy.jpg",
            "description": 'Жирность ≥ 50% & вкус <сливочный>, "мягкий"\x0b; sold by weight\ufffe, price per kg.\ud800',
            "param": [Param("Жирность", Decimal("50.0"), "%"), Param("Весовой товар", True)],
            "barcode": ["2400001234561", "4607654321008"],
            "delivery": True,
            "pickup": True,
            "store": True,
            "weight": Decimal("1.000"),
            "age": 0,
        },
    )


def northwind_records() -> list[Record]:
    return [
        alta_sneaker("WHT", "белые", 42, "4601234567893"),
        alta_sneaker("WHT", "белые", 43, "4601234567909", available=False),
        alta_sneaker("BLK", "чёрные", 42, "4601234567916"),
        russian_cheese(),
    ]


def write_feed(records: Any, folder: Path, settings: FeedSettings | None = None) -> Path:
    sink = FolderSink(folder)
    feed = YandexMarketFeed()
    settings = settings or northwind_settings()
    try:
        feed.write(iter(records), settings, sink)
    finally:
        sink.close()
    return folder / feed.file_name(settings)


def offers_of(path: Path) -> list[etree._Element]:
    return etree.parse(str(path)).getroot().findall("shop/offers/offer")


# --- the document -----------------------------------------------------------------------


@pytest.mark.parametrize("rendered", [False, True], ids=["as_given", "rendered"])
def test_feed_matches_golden_file(tmp_path: Path, request: pytest.FixtureRequest, rendered: bool) -> None:
    records = northwind_records()
    if rendered:
        # offers rendered while the run resolves them, as an export does
        records = rendered_as_in_a_run(YandexMarketFeed(), list(records), northwind_settings())
    written = write_feed(records, tmp_path).read_bytes()
    golden = GOLDEN / "northwind.xml"
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(written)
    assert written == golden.read_bytes()


def test_feed_is_registered_with_its_file_type() -> None:
    feed = get_format("yandex_market")
    assert isinstance(feed, YandexMarketFeed)
    assert (feed.media_type, feed.extension, feed.is_grouped, feed.supports_delta) == ("application/xml", "xml", False, False)
    assert feed.file_name(northwind_settings()) == "yandex_market.xml"


def test_feed_starts_with_the_declaration_yandex_requires(tmp_path: Path) -> None:
    written = write_feed(northwind_records(), tmp_path).read_bytes()
    assert written.startswith(DECLARATION + b'\n<yml_catalog date="2026-03-01T14:37+03:00">')


def test_feed_validates_against_the_schema(tmp_path: Path) -> None:
    assert validate_yml(write_feed(northwind_records(), tmp_path)) == []


def test_feed_without_offers_validates(tmp_path: Path) -> None:
    assert validate_yml(write_feed([], tmp_path)) == []


def test_feed_dated_now_in_utc_when_no_date_is_given(tmp_path: Path) -> None:
    path = write_feed(northwind_records(), tmp_path, northwind_settings(generated_at=""))
    assert etree.parse(str(path)).getroot().get("date").endswith("+00:00")
    assert validate_yml(path) == []


def test_feed_declares_shop_currency_and_category_tree(tmp_path: Path) -> None:
    shop = etree.parse(str(write_feed(northwind_records(), tmp_path))).getroot().find("shop")
    assert [shop.findtext(tag) for tag in ("name", "company", "url", "platform")] == ["Northwind", "ООО «Нортвинд»", "https://shop.example", "Northwind PIM"]
    assert [dict(currency.attrib) for currency in shop.iterfind("currencies/currency")] == [{"id": "RUR", "rate": "1"}]
    assert [(c.get("id"), c.get("parentId"), c.text) for c in shop.iterfind("categories/category")] == [
        ("1", None, "Обувь"),
        ("12", "1", "Кеды"),
        ("2", None, "Продукты"),
        ("21", "2", "Сыры & молочные продукты"),
    ]


def test_shop_falls_back_to_feed_title_and_link(tmp_path: Path) -> None:
    path = write_feed(northwind_records(), tmp_path, northwind_settings(options={}))
    shop = etree.parse(str(path)).getroot().find("shop")
    assert [shop.findtext(tag) for tag in ("name", "company", "url")] == ["Нортвинд", "Нортвинд", "https://shop.example"]
    assert shop.find("platform") is None


def test_shop_writes_its_optional_contact_elements_in_schema_order(tmp_path: Path) -> None:
    options = {"shop_name": "Northwind", "platform": "Northwind PIM", "version": "2.1", "agency": "Агентство «Бета»", "email": "market@shop.example"}
    path = write_feed(northwind_records(), tmp_path, northwind_settings(options=options))
    shop = etree.parse(str(path)).getroot().find("shop")
    assert [child.tag for child in shop][:7] == ["name", "company", "url", "platform", "version", "agency", "email"]
    assert validate_yml(path) == []


def test_feed_keeps_rub_when_rub_is_the_declared_currency(tmp_path: Path) -> None:
    path = write_feed(northwind_records(), tmp_path, northwind_settings(currency="RUB"))
    root = etree.parse(str(path)).getroot()
    assert root.find("shop/currencies/currency").get("id") == "RUB"
    assert {offer.findtext("currencyId") for offer in offers_of(path)} == {"RUB"}
    assert validate_yml(path) == []


def test_rouble_prices_are_declared_as_rur_when_the_feed_says_rur(tmp_path: Path) -> None:
    assert {offer.findtext("currencyId") for offer in offers_of(write_feed(northwind_records(), tmp_path))} == {"RUR"}


def test_variants_share_their_model_number_as_group_id(tmp_path: Path) -> None:
    offers = offers_of(write_feed(northwind_records(), tmp_path))
    assert [(offer.get("id"), offer.get("group_id")) for offer in offers] == [
        ("ALTA-WHT-42", "1001"),
        ("ALTA-WHT-43", "1001"),
        ("ALTA-BLK-42", "1001"),
        ("SYR-ROSS-VES", None),
    ]


def test_explicit_group_id_wins_over_model_number(tmp_path: Path) -> None:
    sneaker = alta_sneaker("WHT", "белые", 42, "4601234567893")
    sneaker.fields["group_id"] = 77
    assert offers_of(write_feed([sneaker], tmp_path))[0].get("group_id") == "77"


def test_offer_elements_follow_yandex_example_order(tmp_path: Path) -> None:
    cheese = offers_of(write_feed([russian_cheese()], tmp_path))[0]
    assert [child.tag for child in cheese] == [
        "typePrefix",
        "model",
        "url",
        "price",
        "currencyId",
        "categoryId",
        "vendor",
        "picture",
        "description",
        "param",
        "param",
        "barcode",
        "barcode",
        "store",
        "pickup",
        "delivery",
        "weight",
        "age",
    ]


def test_numbers_are_written_with_a_dot_and_no_exponent(tmp_path: Path) -> None:
    cheese = russian_cheese()
    cheese.fields["price"] = rub("1E+3")
    cheese.fields["weight"] = Decimal("2.50E-1")
    offer = offers_of(write_feed([cheese], tmp_path))[0]
    assert (offer.findtext("price"), offer.findtext("weight")) == ("1000", "0.25")
    assert offers_of(write_feed([russian_cheese()], tmp_path))[0].findtext("price") == "749.90"


def test_grouped_items_are_written_as_their_variants(tmp_path: Path) -> None:
    group = RecordGroup(key="alta", fields={}, variants=northwind_records()[:2])
    assert [offer.get("id") for offer in offers_of(write_feed([group], tmp_path))] == ["ALTA-WHT-42", "ALTA-WHT-43"]


# --- text safety --------------------------------------------------------------------------


def test_markup_description_is_cdata_and_survives_a_cdata_terminator(tmp_path: Path) -> None:
    sneaker = alta_sneaker("WHT", "белые", 42, "4601234567893")
    path = write_feed([sneaker], tmp_path)
    assert b"<description><![CDATA[<h3>Northwind Alta</h3>" in path.read_bytes()
    expected = sneaker.fields["description"].replace("\x07", "")
    assert offers_of(path)[0].findtext("description") == expected


def test_markup_description_is_one_cdata_section(tmp_path: Path) -> None:
    sneaker = broken({"description": "<p>Кеды из кожи & замши</p><br/>"})
    path = write_feed([sneaker], tmp_path)
    assert "<description><![CDATA[<p>Кеды из кожи & замши</p><br/>]]></description>".encode() in path.read_bytes()
    assert validate_yml(path) == []


def test_plain_description_is_escaped_text_without_forbidden_characters(tmp_path: Path) -> None:
    path = write_feed([russian_cheese()], tmp_path)
    assert 'Жирность ≥ 50% &amp; вкус &lt;сливочный&gt;, "мягкий"; sold by weight, price per kg.'.encode() in path.read_bytes()


HOSTILE_TEXTS = [
    "Кеды & <script>alert('x')</script> \"quoted\"",
    "]]>]]]]><![CDATA[<p>nested</p>",
    "\x00\x01\x08\x0b\x0c\x0e\x1f\x7f control",
    "\ud83d surrogate \ufffe\uffff non-characters",
    "<p>unclosed <b>bold & <br> broken",
    "emoji 👟 and Cyrillic ё Ё and tab\tnewline\nreturn\r",
]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
@pytest.mark.parametrize("field", ["name", "description", "vendor", "sales_notes"])
def test_feed_stays_well_formed_and_valid_whatever_the_text(tmp_path: Path, field: str, text: str) -> None:
    sneaker = alta_sneaker("WHT", "белые", 42, "4601234567893")
    sneaker.fields[field] = text[:50]
    sneaker.fields["param"] = [Param(text, text, text)]
    path = write_feed([sneaker], tmp_path)
    assert validate_yml(path) == []


# --- Yandex's own sample feeds and the schema ----------------------------------------------


@pytest.mark.parametrize("sample", ["yandex-yml-example-simplified.xml", "yandex-yml-example-vendor-model.xml"])
def test_yandex_sample_feed_validates_against_the_schema(sample: str) -> None:
    assert validate_yml(SAMPLES / sample) == []


@pytest.mark.parametrize(
    ("before", "after", "complaint"),
    [
        (b"<categoryId>10103</categoryId>", b"<categoryId>999</categoryId>", "offerCategoryRef"),
        (b'<category id="10101" parentId="101">', b'<category id="10101" parentId="777">', "categoryParentRef"),
        (b"<currencyId>RUR</currencyId>", b"<currencyId>USD</currencyId>", "offerCurrencyRef"),
        (b'<currency id="RUR" rate="1"/>', b'<currency id="GBP" rate="1"/>', "GBP"),
        (b"<price>1490</price>", b"<price>1490,00</price>", "price"),
        (b"<price>1490</price>", b"<price>1.49E3</price>", "price"),
        (b"<store>true</store>", b"<store>yes</store>", "store"),
        (b"<barcode>4670028540756</barcode>", b"<barcode>46700-28540756</barcode>", "barcode"),
        (b'<offer id="110103000002"', b'<offer id="110103000002" group_id="1234567890"', "group_id"),
        (b'<offer id="110103000002"', b'<offer id="110103000001"', "offerIdUnique"),
        (b'days="1" order-before="18"', b'days="2\xe2\x80\x944" order-before="18:00:00"', "days"),
        (b"<url>https://yetanothershop.ru</url>", b"<url>yetanothershop.ru</url>", "url"),
        (b'<yml_catalog date="2023-12-11T20:53:47+03:00">', b'<yml_catalog date="11.12.2023">', "date"),
    ],
)
def test_schema_refuses_what_yandex_refuses(tmp_path: Path, before: bytes, after: bytes, complaint: str) -> None:
    sample = (SAMPLES / "yandex-yml-example-simplified.xml").read_bytes()
    assert before in sample
    broken = tmp_path / "broken.xml"
    broken.write_bytes(sample.replace(before, after, 1))
    errors = validate_yml(broken)
    assert errors and all(error.startswith("line ") for error in errors)
    assert any(complaint in error for error in errors)


def test_validation_reports_malformed_xml_with_its_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_bytes(DECLARATION + b'\n<yml_catalog date="2026-03-01T14:37+03:00">\n<shop>\n</yml_catalog>\n')
    assert validate_yml(broken)[0].startswith("line 4:")


def test_schema_file_ships_next_to_the_module() -> None:
    assert YML_SCHEMA_PATH.is_file() and YML_SCHEMA_PATH.parent.name == "schemas"


# --- record rules -------------------------------------------------------------------------


def test_good_records_have_no_problems() -> None:
    feed = YandexMarketFeed()
    assert [feed.check(record, northwind_settings()) for record in northwind_records()] == [[], [], [], []]


def broken(changes: dict[str, Any], base: Record | None = None) -> Record:
    record = base or alta_sneaker("WHT", "белые", 42, "4601234567893")
    for name, value in changes.items():
        if value is None:
            record.fields.pop(name, None)
        else:
            record.fields[name] = value
    return record


RULE_CASES = [
    pytest.param({"id": "ALTA WHT 42"}, "id", "invalid", id="id-with-space"),
    pytest.param({"id": "ALTA#42"}, "id", "invalid", id="id-with-hash"),
    pytest.param({"id": "A" * 81}, "id", "too_long", id="id-too-long"),
    pytest.param({"available": "yes"}, "available", "invalid", id="available-not-boolean"),
    pytest.param({"type": "vendor"}, "type", "not_allowed", id="unknown-type"),
    pytest.param({"group_id": "1001"}, "group_id", "invalid", id="group-id-text"),
    pytest.param({"group_id": 1_000_000_000}, "group_id", "invalid", id="group-id-ten-digits"),
    pytest.param({"group_id": -5}, "group_id", "invalid", id="group-id-negative"),
    pytest.param({"name": None}, "name", "required", id="simplified-without-name"),
    pytest.param({"name": "К" * 151}, "name", "too_long", id="name-too-long"),
    pytest.param({"name": " \x00\x1f\ufffe "}, "name", "required", id="name-of-forbidden-characters-only"),
    pytest.param({"type": "vendor.model", "vendor": "Northwind", "model": "\x07"}, "model", "required", id="model-of-control-characters-only"),
    pytest.param({"categoryId": "\x0b"}, "categoryId", "required", id="category-of-control-characters-only"),
    pytest.param({"type": "vendor.model", "vendor": None, "model": "Alta"}, "vendor", "required", id="vendor-model-without-vendor"),
    pytest.param({"type": "vendor.model"}, "model", "required", id="vendor-model-without-model"),
    pytest.param({"url": "/p/alta"}, "url", "invalid_url", id="relative-url"),
    pytest.param({"url": "ftp://shop.example/p"}, "url", "invalid_url", id="ftp-url"),
    pytest.param({"url": "https://shop.example/" + "a" * 500}, "url", "too_long", id="url-too-long"),
    pytest.param({"price": None}, "price", "required", id="no-price"),
    pytest.param({"price": Decimal("8990")}, "price", "invalid", id="price-without-currency"),
    pytest.param({"price": rub("0"), "oldprice": None}, "price", "not_positive", id="price-zero"),
    pytest.param({"price": rub("0.004"), "oldprice": None}, "price", "not_positive", id="price-rounds-to-zero"),
    pytest.param({"price": rub("-1"), "oldprice": None}, "price", "invalid", id="price-negative"),
    pytest.param({"oldprice": rub("8990")}, "oldprice", "oldprice_not_higher", id="oldprice-equal"),
    pytest.param({"oldprice": rub("7990")}, "oldprice", "oldprice_not_higher", id="oldprice-lower"),
    pytest.param({"oldprice": Money(Decimal("200"), "EUR")}, "oldprice", "currency_mismatch", id="oldprice-other-currency"),
    pytest.param({"currencyId": "GBP"}, "currencyId", "not_allowed", id="currency-unknown-to-yandex"),
    pytest.param({"currencyId": "USD"}, "currencyId", "currency_mismatch", id="currency-not-the-price-currency"),
    pytest.param({"price": Money(Decimal("99"), "GBP"), "oldprice": None}, "currencyId", "not_allowed", id="price-in-foreign-currency"),
    pytest.param({"categoryId": None}, "categoryId", "required", id="no-category"),
    pytest.param({"picture": [f"https://shop.example/img/{n}.jpg" for n in range(11)]}, "picture", "too_many", id="eleven-pictures"),
    pytest.param({"picture": ["img/alta.jpg"]}, "picture", "invalid_url", id="relative-picture"),
    pytest.param({"picture": ["https://shop.example/" + "p" * 500 + ".jpg"]}, "picture", "too_long", id="picture-url-too-long"),
    pytest.param({"delivery": "да"}, "delivery", "invalid", id="delivery-not-boolean"),
    pytest.param({"pickup": 1}, "pickup", "invalid", id="pickup-not-boolean"),
    pytest.param({"store": "true"}, "store", "invalid", id="store-not-boolean"),
    pytest.param({"manufacturer_warranty": "true"}, "manufacturer_warranty", "invalid", id="warranty-not-boolean"),
    pytest.param({"description": "<p>" + "т" * 3001 + "</p>"}, "description", "too_long", id="description-too-long"),
    pytest.param({"description": "<p>Кеды</p><script>alert(1)</script>"}, "description", "not_allowed", id="description-with-script"),
    pytest.param({"description": '<p>Кеды <a href="https://x.example">тут</a></p>'}, "description", "not_allowed", id="description-with-link"),
    pytest.param({"sales_notes": "Оплата при получении наличными или картой курьеру, без предоплаты"}, "sales_notes", "too_long", id="sales-notes-too-long"),
    pytest.param({"barcode": ["4601234567890"]}, "barcode", "invalid_gtin", id="barcode-wrong-check-digit"),
    pytest.param({"barcode": ["46012345678"]}, "barcode", "invalid_gtin", id="barcode-eleven-digits"),
    pytest.param({"barcode": ["46O1234567893"]}, "barcode", "invalid_gtin", id="barcode-with-letter"),
    pytest.param({"param": [Param("", "белый")]}, "param", "invalid", id="param-without-name"),
    pytest.param({"param": [Param("Цвет", "")]}, "param", "invalid", id="param-without-value"),
    pytest.param({"param": [("Цвет", "белый")]}, "param", "invalid", id="param-not-a-param"),
    pytest.param({"weight": 0.9}, "weight", "invalid", id="weight-float"),
    pytest.param({"weight": Decimal("0")}, "weight", "invalid", id="weight-zero"),
    pytest.param({"dimensions": "33x22x12"}, "dimensions", "invalid", id="dimensions-with-x"),
    pytest.param({"dimensions": "33,5/22/12"}, "dimensions", "invalid", id="dimensions-with-comma"),
    pytest.param({"age": 7}, "age", "not_allowed", id="age-not-a-rating"),
    pytest.param({"age": "18"}, "age", "invalid", id="age-text"),
]


@pytest.mark.parametrize(("changes", "field", "code"), RULE_CASES)
def test_record_breaking_a_rule_gets_its_problem(changes: dict[str, Any], field: str, code: str) -> None:
    problems = YandexMarketFeed().check(broken(changes))
    assert (field, code) in [(problem.field, problem.code) for problem in problems]


def test_group_number_beyond_nine_digits_is_a_group_id_problem() -> None:
    sneaker = alta_sneaker("WHT", "белые", 42, "4601234567893")
    sneaker.group_number = 10_000_000_000
    assert [(p.field, p.code) for p in YandexMarketFeed().check(sneaker)] == [("group_id", "invalid")]


def test_offer_id_takes_marketplace_punctuation_and_cyrillic() -> None:
    assert YandexMarketFeed().check(broken({"id": "Кеды/ALTA_(42)[W]=1,5.\\-"})) == []


def test_offer_id_falls_back_to_the_sku_under_the_same_rule() -> None:
    record = Record(key="ALTA WHT 42", fields=dict(alta_sneaker("WHT", "белые", 42, "4601234567893").fields))
    assert [(p.field, p.code) for p in YandexMarketFeed().check(record)] == [("id", "invalid")]


def test_restricted_in_store_barcode_is_accepted() -> None:
    assert YandexMarketFeed().check(broken({"barcode": ["2400001234561"]})) == []


def test_field_refused_by_its_plain_rule_gets_one_problem() -> None:
    problems = YandexMarketFeed().check(broken({"id": "A" * 81}))
    assert [(p.field, p.code) for p in problems] == [("id", "too_long")]


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"categoryId": "13"}, "categoryId", "unknown_category"),
        ({"price": Money(Decimal("120"), "EUR"), "oldprice": None}, "currencyId", "undeclared_currency"),
    ],
)
def test_record_against_feed_settings_gets_its_problem(changes: dict[str, Any], field: str, code: str) -> None:
    feed = YandexMarketFeed()
    record = broken(changes)
    assert (field, code) not in [(p.field, p.code) for p in feed.check(record)]
    assert (field, code) in [(p.field, p.code) for p in feed.check(record, northwind_settings())]


def test_writer_leaves_out_an_offer_outside_the_category_tree(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    stray = broken({"categoryId": "13"}, alta_sneaker("BLK", "чёрные", 43, "4601234567916"))
    path = write_feed([*northwind_records(), stray], tmp_path)
    assert [offer.get("id") for offer in offers_of(path)] == ["ALTA-WHT-42", "ALTA-WHT-43", "ALTA-BLK-42", "SYR-ROSS-VES"]
    assert "ALTA-BLK-43" in caplog.text
    assert validate_yml(path) == []


# --- settings -----------------------------------------------------------------------------


SETTINGS_CASES = [
    pytest.param({"currency": "USD"}, "base currency", id="usd-as-base"),
    pytest.param({"currency": "EUR"}, "base currency", id="eur-as-base"),
    pytest.param({"currency": "GBP"}, "not one Yandex accepts", id="unknown-currency"),
    pytest.param({"categories": []}, "no categories", id="no-categories"),
    pytest.param({"categories": [("1", None, "Обувь"), ("12", "9", "Кеды")]}, "parent 9", id="dangling-parent"),
    pytest.param({"categories": [("1", None, "Обувь"), ("1", None, "Кеды")]}, "declared twice", id="duplicate-category"),
    pytest.param({"categories": [("1", None, "  ")]}, "no label", id="category-without-label"),
    pytest.param({"categories": [("1 2", None, "Обувь")]}, "without spaces", id="category-id-with-space"),
    pytest.param({"options": {"shop_name": "Northwind Обувь и Аксессуары"}}, "shop name", id="shop-name-too-long"),
    pytest.param({"title": "", "options": {}}, "shop name", id="no-shop-name"),
    pytest.param({"options": {"shop_name": "Northwind", "url": "https://shop.example/" + "a" * 40}}, "shop url", id="shop-url-too-long"),
    pytest.param({"link": "shop.example", "options": {}}, "must be an absolute", id="shop-url-not-absolute"),
    pytest.param({"generated_at": "2026-03-01 14:37"}, "RFC 3339", id="date-without-zone"),
    pytest.param({"options": {"shop_name": "Northwind", "email": "sales at shop.example"}}, "e-mail", id="bad-email"),
]


@pytest.mark.parametrize(("changes", "message"), SETTINGS_CASES)
def test_bad_settings_raise_before_anything_is_written(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    sink = FolderSink(tmp_path)
    with pytest.raises(YmlSettingsError, match=message):
        YandexMarketFeed().write(iter(northwind_records()), northwind_settings(**changes), sink)
    assert sink.files == {}


@pytest.mark.parametrize("currency", ["RUR", "RUB", "BYN", "UAH", "KZT"])
def test_each_base_currency_makes_a_valid_feed(tmp_path: Path, currency: str) -> None:
    records = [broken({"price": Money(Decimal("8990"), currency), "oldprice": None})]
    path = write_feed(records, tmp_path, northwind_settings(currency=currency))
    assert etree.parse(str(path)).getroot().find("shop/currencies/currency").get("id") == currency
    assert validate_yml(path) == []


# --- streaming ----------------------------------------------------------------------------


def many_offers(count: int) -> Iterator[Record]:
    for number in range(count):
        yield Record(
            key=f"ALTA-{number:06d}",
            group="alta",
            group_number=1000 + number // 10,
            fields={
                "name": f"Кеды Northwind Alta кожаные, р. {36 + number % 10}",
                "url": f"https://shop.example/p/alta-{number}",
                "price": rub("8990"),
                "categoryId": "12",
                "description": f"<p>Кеды из натуральной кожи, артикул {number}.</p>",
                "param": [Param("Размер", str(36 + number % 10), "RU")],
            },
        )


def test_twenty_thousand_records_stream_without_being_kept(tmp_path: Path) -> None:
    tracemalloc.start()
    try:
        path = write_feed(many_offers(20_000), tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Each record takes about a kilobyte; keeping 20,000 of them would need some twenty megabytes.
    assert peak < 2_000_000
    assert path.read_bytes().count(b"<offer ") == 20_000
