"""Publishing definitions: every problem listed at once, YAML round trips, and each transform."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
import yaml

from exporters import get_format
from exporters.base import Money
from pim.catalog.services import ProductInput, update_product
from pim.errors import Invalid
from pim.jobs.schedule import find_schedule
from pim.publishing.definition import CompileContext, ProductView, compile_field, compile_record, read_definition
from pim.publishing.export import explain
from pim.publishing.services import apply_definition, install_preset, list_presets, load_preset, show_definition
from pim.structure.snapshot import ALL_CHANNELS, ALL_LOCALES
from tests.pim.publishing.conftest import headphones_values, picture_key, save_products

# A second Yandex.Market feed for the Saint Petersburg shop, as a merchandiser writes it.
SPB_FEED: dict[str, Any] = {
    "code": "yandex_spb",
    "label": {"en_US": "Yandex.Market Saint Petersburg", "ru_RU": "Яндекс.Маркет, Санкт-Петербург"},
    "channel": "marketplace",
    "format": "yandex_market",
    "locale": "ru_RU",
    "currency": "RUB",
    "filter": {"enabled": [{"operator": "=", "value": True}]},
    "schedule": "30 4 * * *",
    "keep": 3,
    "base_url": "https://spb.shop.example.com",
    "options": {"shop_name": "Demo shop SPb", "company": "Demo shop LLC", "url": "https://spb.shop.example.com"},
    "fields": {
        "name": {"template": "{brand} {name}", "truncate": 150},
        "url": {"url": "/products/{sku}"},
        "price": {"attribute": "price", "price": {"percent": 5, "round": "1"}},
        "categoryId": {"category": "id"},
        "vendor": {"attribute": "brand"},
        "description": {"attribute": "description", "html": "keep", "truncate": 3000},
        "weight": {"attribute": "weight", "convert": "KILOGRAM", "as": "decimal"},
        "param": {"params": [{"name": "Цвет", "attribute": "color"}, {"name": "Масса нетто", "attribute": "net_content", "convert": "GRAM", "unit": "г"}]},
    },
    "categories": {"mapping": {"footwear": 187, "electronics": 222}},
}


def spb_feed(**changes: Any) -> dict[str, Any]:
    """Return a copy of the Saint Petersburg feed's definition with top-level settings changed."""
    definition = copy.deepcopy(SPB_FEED)
    definition.update(changes)
    return definition


def with_field(name: str, spec: Any) -> dict[str, Any]:
    """Return the Saint Petersburg feed with one field set (or removed when spec is None)."""
    definition = spb_feed()
    if spec is None:
        del definition["fields"][name]
    else:
        definition["fields"][name] = spec
    return definition


def problems_of(caught: pytest.ExceptionInfo[Invalid]) -> list[tuple[str, str, str]]:
    return [(e.field, e.code, e.message) for e in caught.value.errors]


def has_problem(problems: list[tuple[str, str, str]], field: str, code: str, fragment: str) -> bool:
    return any(f == field and c == code and fragment in m for f, c, m in problems)


# --- checking -------------------------------------------------------------------------------


def test_apply_definition_lists_every_problem_at_once(demo_catalog, actor):
    definition = spb_feed(code="yandex-spb", locale="de_DE", currency="EUR", schedule="61 4 * * *")
    fields = definition["fields"]
    del fields["price"]
    fields["name"] = {"template": "{brand} {colour}"}
    fields["vendor"] = {"attribute": "maker"}
    fields["shoe_size"] = {"attribute": "size"}
    fields["description"] = {"attribute": "description", "truncate": -1, "html": "markdown"}
    fields["weight"] = {"attribute": "weight", "convert": "LITER"}
    fields["vendorCode"] = {"attribute": "material", "option": "label"}
    fields["sales_notes"] = {"attribute": "weight", "price": {"percent": 5}}
    fields["oldprice"] = {"attribute": "price", "price": {"percent": 5, "round": "0.5"}}

    with pytest.raises(Invalid) as caught:
        apply_definition(definition, actor=actor)

    problems = problems_of(caught)
    expected = [
        ("code", "required", "no hyphens"),
        ("locale", "unknown_locale", "de_DE"),
        ("currency", "unknown_currency", "EUR"),
        ("schedule", "invalid_format", "61 4 * * *"),
        ("fields.name", "unknown", "{colour}"),
        ("fields.vendor", "unknown", "maker"),
        ("fields.price", "required", "price"),
        ("fields.shoe_size", "unknown", "shoe_size"),
        ("fields.description", "invalid_format", "truncate"),
        ("fields.description", "invalid_format", "html"),
        ("fields.weight", "unknown_unit", "LITER"),
        ("fields.vendorCode", "invalid_format", "option"),
        ("fields.sales_notes", "invalid_format", "price"),
        ("fields.oldprice", "invalid_format", "round"),
    ]
    missing = [item for item in expected if not has_problem(problems, *item)]
    assert not missing, f"not reported: {missing}; reported: {problems}"


@pytest.mark.parametrize(
    ("definition", "field", "code", "fragment"),
    [
        pytest.param(spb_feed(code="yandex-spb"), "code", "required", "no hyphens", id="hyphen-in-code"),
        pytest.param(spb_feed(channel="moon_shop"), "channel", "unknown_channel", "moon_shop", id="unknown-channel"),
        pytest.param(spb_feed(format="telex"), "format", "unknown", "telex", id="unknown-format"),
        pytest.param(spb_feed(locale="de_DE"), "locale", "unknown_locale", "de_DE", id="locale-not-of-channel"),
        pytest.param(spb_feed(currency="EUR"), "currency", "unknown_currency", "EUR", id="currency-not-of-channel"),
        pytest.param(spb_feed(keep=0), "keep", "invalid_format", "keep", id="keep-zero"),
        pytest.param(spb_feed(base_url="shop.example.com"), "base_url", "invalid_format", "absolute", id="relative-base-url"),
        pytest.param(spb_feed(colour="white"), "colour", "unknown", "colour", id="unknown-setting"),
        pytest.param(spb_feed(options=["shop"]), "options", "invalid_format", "mapping", id="options-not-a-mapping"),
        pytest.param(spb_feed(format="webshop", options={"jsonld": "no"}), "options.jsonld", "invalid_format", "true or false", id="webshop-file-switch"),
        pytest.param(spb_feed(format="webshop", options={"csv_columns": "sku,name"}), "options.csv_columns", "invalid_format", "columns", id="webshop-columns"),
        pytest.param(with_field("name", {"template": "{brand} {colour}"}), "fields.name", "unknown", "{colour}", id="template-unknown-attribute"),
        pytest.param(with_field("url", {"url": "/p/{sku"}), "fields.url", "invalid_format", "does not parse", id="template-does-not-parse"),
        pytest.param(with_field("vendor", {"attribute": "maker"}), "fields.vendor", "unknown", "maker", id="field-unknown-attribute"),
        pytest.param(with_field("vendor", "maker"), "fields.vendor", "unknown", "maker", id="short-field-unknown-attribute"),
        pytest.param(with_field("price", None), "fields.price", "required", "price", id="required-field-unmapped"),
        pytest.param(with_field("shoe_size", {"attribute": "size"}), "fields.shoe_size", "unknown", "shoe_size", id="field-unknown-to-closed-format"),
        pytest.param(with_field("name", {"attribute": "name", "truncate": -1}), "fields.name", "invalid_format", "truncate", id="truncate-negative"),
        pytest.param(with_field("name", {"attribute": "name", "truncate": True}), "fields.name", "invalid_format", "truncate", id="truncate-boolean"),
        pytest.param(
            with_field("description", {"attribute": "description", "html": "markdown"}), "fields.description", "invalid_format", "html", id="html-other"
        ),
        pytest.param(with_field("weight", {"attribute": "weight", "convert": "LITER"}), "fields.weight", "unknown_unit", "LITER", id="unit-of-other-family"),
        pytest.param(with_field("weight", {"attribute": "name", "convert": "GRAM"}), "fields.weight", "invalid_format", "metric", id="convert-on-text"),
        pytest.param(with_field("vendor", {"attribute": "material", "option": "label"}), "fields.vendor", "invalid_format", "option", id="option-on-text"),
        pytest.param(
            with_field("sales_notes", {"attribute": "weight", "price": {"percent": 5}}), "fields.sales_notes", "invalid_format", "price", id="price-on-metric"
        ),
        pytest.param(
            with_field("price", {"attribute": "price", "price": {"percent": 5, "round": "0.5"}}), "fields.price", "invalid_format", "round", id="bad-rounding"
        ),
        pytest.param(
            with_field("price", {"attribute": "price", "price": {"percent": "five"}}), "fields.price", "invalid_format", "percent", id="percent-not-a-number"
        ),
        pytest.param(with_field("price", {"attribute": "price", "price": {"markup": 5}}), "fields.price", "unknown", "markup", id="unknown-price-setting"),
        pytest.param(
            with_field("price", {"attribute": "price", "currency": "JPY"}), "fields.price", "unknown_currency", "JPY", id="field-currency-not-enabled"
        ),
        pytest.param(with_field("vendor", {"attribute": "brand", "locale": "fr_FR"}), "fields.vendor", "unknown_locale", "fr_FR", id="field-locale-not-active"),
        pytest.param(with_field("vendor", {"attribute": "brand", "shout": True}), "fields.vendor", "unknown", "shout", id="unknown-transform"),
        pytest.param(with_field("vendor", {"attribute": "brand", "constant": "Aurora"}), "fields.vendor", "required", "exactly one", id="two-sources"),
        pytest.param(with_field("picture", {"images": ["description"]}), "fields.picture", "unknown", "image", id="images-of-text"),
        pytest.param(with_field("categoryId", {"category": "slug"}), "fields.categoryId", "unknown", "category", id="unknown-category-output"),
        pytest.param(with_field("categoryId", {"category": "mapped", "all": True}), "fields.categoryId", "invalid_format", "not mapped", id="all-mapped"),
        pytest.param(with_field("vendor", {"attribute": "brand", "all": True}), "fields.vendor", "invalid_format", "all applies", id="all-without-category"),
        pytest.param(with_field("vendorCode", {"property": "barcode"}), "fields.vendorCode", "unknown", "barcode", id="unknown-property"),
        pytest.param(with_field("param", {"params": [{"attribute": "color"}]}), "fields.param[0]", "required", "name", id="param-without-name"),
        pytest.param(
            with_field("param", {"params": [{"name": "Цвет", "attribute": "colour"}]}), "fields.param[0]", "unknown", "colour", id="param-unknown-attribute"
        ),
    ],
)
def test_read_definition_refuses_a_broken_rule(demo_structure, definition, field, code, fragment):
    try:
        feed_format = get_format(definition["format"])
    except KeyError:
        feed_format = None

    checked, errors = read_definition(definition, demo_structure, feed_format)

    assert checked is None
    assert has_problem([(e.field, e.code, e.message) for e in errors], field, code, fragment), errors


def test_read_definition_accepts_a_good_definition(demo_structure):
    checked, errors = read_definition(SPB_FEED, demo_structure, get_format("yandex_market"))

    assert errors == []
    assert (checked.code, checked.channel, checked.locale, checked.currency, checked.keep) == ("yandex_spb", "marketplace", "ru_RU", "RUB", 3)
    assert checked.base_url == "https://spb.shop.example.com"
    assert checked.category_mapping == {"footwear": 187, "electronics": 222}


def test_apply_definition_refuses_a_bad_schedule(demo_catalog, actor):
    with pytest.raises(Invalid) as caught:
        apply_definition(spb_feed(schedule="61 4 * * *"), actor=actor)

    assert has_problem(problems_of(caught), "schedule", "invalid_format", "61 4 * * *")


def test_apply_definition_changes_nothing_when_refused(demo_catalog, actor):
    apply_definition(SPB_FEED, actor=actor)
    before = show_definition("yandex_spb")

    with pytest.raises(Invalid):
        apply_definition(with_field("weight", {"attribute": "weight", "convert": "LITER"}), actor=actor)

    assert show_definition("yandex_spb") == before


def test_apply_definition_creates_then_replaces_a_profile(demo_catalog, actor):
    profile, is_new = apply_definition(SPB_FEED, actor=actor)
    assert is_new
    assert (profile.code, profile.format, profile.schedule) == ("yandex_spb", "yandex_market", "30 4 * * *")

    profile, is_new = apply_definition(spb_feed(schedule="0 5 * * *", keep=7), actor=actor)

    assert not is_new
    assert profile.schedule == "0 5 * * *"
    assert yaml.safe_load(show_definition("yandex_spb"))["keep"] == 7


def test_apply_definition_keeps_the_schedule_in_step(demo_catalog, actor):
    apply_definition(SPB_FEED, actor=actor)
    assert find_schedule("export:yandex_spb").cron == "30 4 * * *"

    apply_definition(spb_feed(schedule=None), actor=actor)

    assert find_schedule("export:yandex_spb") is None


def test_show_definition_prints_yaml_that_applies_back_unchanged(demo_catalog, actor):
    apply_definition(SPB_FEED, actor=actor)

    text = show_definition("yandex_spb")
    profile, is_new = apply_definition(yaml.safe_load(text), actor=actor)

    assert text.startswith("# export profile yandex_spb: feed at ")
    assert "/feeds/" in text.splitlines()[0]
    assert yaml.safe_load(text) == SPB_FEED
    assert not is_new
    assert show_definition("yandex_spb") == text


def test_show_definition_keeps_the_order_it_was_written_in(demo_catalog, actor):
    apply_definition(SPB_FEED, actor=actor)

    shown = yaml.safe_load(show_definition("yandex_spb"))

    assert list(shown) == list(SPB_FEED)
    assert list(shown["fields"]) == list(SPB_FEED["fields"])


@pytest.mark.parametrize("preset", list_presets())
def test_every_preset_installs_and_round_trips(demo_catalog, actor, preset):
    profile = install_preset(preset, actor=actor)

    text = show_definition(profile.code)
    _profile, is_new = apply_definition(yaml.safe_load(text), actor=actor)

    assert profile.format == load_preset(preset)["format"]
    assert not is_new
    assert show_definition(profile.code) == text


# --- transforms, compiled from a definition and read back through explain -------------------

TRANSFORMS: dict[str, Any] = {
    "code": "shop_de",
    "channel": "ecommerce",
    "format": "webshop",
    "locale": "de_DE",
    "currency": "EUR",
    "require_complete": False,
    "base_url": "https://shop.example.com/de/",
    "media_url": "https://cdn.example.com/media/",
    "fields": {
        "name": {"attribute": "name"},
        "title": {"template": "{brand} {name} {color}"},
        "short": {"attribute": "description", "html": "strip", "truncate": 30},
        "body": {"attribute": "description", "html": "keep"},
        "plain": {"attribute": "description", "html": "strip"},
        "shipping_weight": {"attribute": "weight", "convert": "KILOGRAM"},
        "weight_grams": {"attribute": "weight", "convert": "GRAM", "as": "integer"},
        "colour_name": {"attribute": "color"},
        "colour_hex": {"attribute": "color", "option": {"white": "#FFFFFF", "black": "#000000"}},
        "colour_code": {"attribute": "color", "option": "code"},
        "google_category": {"category": "mapped"},
        "category": {"category": "path"},
        "category_codes": {"category": "code", "all": True},
        "active": {"property": "enabled", "booleans": ["ja", "nein"]},
        "condition": {"constant": "neu"},
        "link": {"url": "/products/{sku}"},
        "price": {"attribute": "price"},
        "price_region": {"attribute": "price", "price": {"percent": 5, "round": "1"}},
        "price_charm": {"attribute": "price", "price": {"percent": 5, "round": "0.99"}},
        "price_shipping": {"attribute": "price", "price": {"amount": 4.9}},
        "warranty": {"attribute": "warranty_months", "as": "text"},
        "image": {"images": ["image"]},
    },
    "categories": {"mapping": {"electronics": 222, "speakers": 249}},
}


@pytest.fixture
def shop_de(demo_catalog, actor):
    """A German web shop profile using every transform, and two headphones to read through it."""
    key = picture_key()
    save_products(
        [
            ProductInput(
                identifier="HP 300/ä",
                family="electronics",
                categories=["headphones"],
                values=headphones_values(image=[{"locale": None, "scope": None, "data": key}]),
            ),
            ProductInput(identifier="SPK-100", family="electronics", categories=["speakers"], values=headphones_values(name_de="Lautsprecher 100")),
        ],
        actor,
    )
    apply_definition(TRANSFORMS, actor=actor)
    return key


def fields_of(sku: str) -> dict[str, Any]:
    answer = explain("shop_de", sku)
    assert answer["in_feed"], answer["reasons"]
    return answer["record"]["fields"]


def test_template_joins_values_with_option_labels_in_the_profile_locale(shop_de):
    # the brand has an English label only, the colour a German one
    assert fields_of("HP 300/ä")["title"] == "Aurora Kopfhörer Reise 300 Weiß"


def test_option_transforms_map_or_keep_codes(shop_de):
    fields = fields_of("HP 300/ä")

    assert fields["colour_name"] == "Weiß"
    assert fields["colour_hex"] == "#FFFFFF"
    assert fields["colour_code"] == "white"


def test_strip_html_removes_tags_scripts_and_attributes(shop_de):
    plain = fields_of("HP 300/ä")["plain"]

    assert plain.startswith("Geschlossene Kopfhörer für lange Reisen.")
    assert "Aktive Geräuschunterdrückung 30 Stunden Akku" in plain
    assert "<" not in plain
    assert "steal" not in plain


def test_keep_html_keeps_simple_tags_without_attributes_or_scripts(shop_de):
    body = fields_of("HP 300/ä")["body"]

    assert body.startswith("<p>Geschlossene Kopfhörer für lange Reisen.</p>")
    assert "<ul><li>Aktive Geräuschunterdrückung</li><li>30 Stunden Akku</li></ul>" in body
    assert "<script" not in body
    assert "onclick" not in body
    assert "class=" not in body


def test_truncate_cuts_at_a_word_boundary(shop_de):
    fields = fields_of("HP 300/ä")
    short, plain = fields["short"], fields["plain"]

    assert len(short) <= 30
    assert plain.startswith(short)
    assert plain[len(short)] == " "
    assert short == "Geschlossene Kopfhörer für"


def test_convert_changes_units_within_the_family(shop_de):
    fields = fields_of("HP 300/ä")

    assert fields["shipping_weight"] == "1.25 KILOGRAM"
    assert fields["weight_grams"] == 1250


def test_category_mapping_is_inherited_down_the_tree(shop_de):
    # headphones has no mapping of its own: it takes electronics' through audio
    assert fields_of("HP 300/ä")["google_category"] == 222
    assert fields_of("SPK-100")["google_category"] == 249


def test_category_path_reads_labels_from_below_the_tree_root(shop_de):
    assert fields_of("HP 300/ä")["category"] == "Elektronik > Audio > Kopfhörer"


def test_all_lists_every_category_of_the_product(shop_de, actor):
    update_product("SPK-100", values={}, categories=["speakers", "headphones"], actor=actor)

    assert fields_of("HP 300/ä")["category_codes"] == ["headphones"]
    assert sorted(fields_of("SPK-100")["category_codes"]) == ["headphones", "speakers"]


def test_booleans_and_constants(shop_de):
    fields = fields_of("HP 300/ä")

    assert fields["active"] == "ja"
    assert fields["condition"] == "neu"
    assert fields["warranty"] == "24"


def test_url_is_absolute_with_the_sku_quoted(shop_de):
    assert fields_of("HP 300/ä")["link"] == "https://shop.example.com/de/products/HP%20300%2F%C3%A4"


def test_images_are_absolute_urls(shop_de):
    assert fields_of("HP 300/ä")["image"] == [f"https://cdn.example.com/media/{shop_de}"]


def test_price_rules_change_the_resolved_price(shop_de):
    fields = fields_of("HP 300/ä")

    assert fields["price"] == "100.00 EUR"
    assert fields["price_region"] == "105.00 EUR"
    assert fields["price_charm"] == "105.99 EUR"
    assert fields["price_shipping"] == "104.90 EUR"


# --- price rules compiled on their own -------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "rule", "expected"),
    [
        ("100.00", {"percent": 5, "round": "1"}, "105.00"),
        ("100.00", {"percent": 5}, "105.00"),
        ("19.95", {"percent": 10}, "21.95"),
        ("23.40", {"round": "0.99"}, "23.99"),
        ("23.995", {"round": "0.99"}, "24.99"),
        ("12.34", {"round": "0.9"}, "12.90"),
        ("1234.00", {"round": "9"}, "1239.00"),
        ("1234.00", {"round": "10"}, "1230.00"),
        ("1235.00", {"round": "10"}, "1240.00"),
        ("100.00", {"amount": -10}, "90.00"),
        ("100.00", {"percent": -20, "amount": "0.5"}, "80.50"),
        ("5.00", {"amount": -10}, "0.00"),
    ],
)
def test_price_rule_applies_percent_then_amount_then_rounding(demo_structure, amount, rule, expected):
    context = CompileContext(
        structure=demo_structure,
        locale="en_US",
        currency="EUR",
        scopes=("print", "ecommerce"),
        option_labels={},
        base_url="https://shop.example.com",
        media_url="https://shop.example.com/media",
    )
    read = compile_field({"attribute": "price", "price": rule}, context)
    # print has no price of its own: the value comes through the fallback scope
    view = ProductView(sku="EL1", uuid="0", values={"price": {"ecommerce": {ALL_LOCALES: [{"amount": amount, "currency": "EUR"}]}}})

    assert read(view) == Money(Decimal(expected), "EUR")


# Fields of every kind, read through a channel ("print") whose values fall back to "ecommerce".
EVERY_KIND = {
    "sku": {"property": "sku"},
    "name": {"attribute": "name"},
    "name_de": {"attribute": "name", "locale": "de_DE"},
    "description": {"attribute": "description", "html": "strip", "truncate": 20},
    "price": {"attribute": "price"},
    "price_usd": {"attribute": "price", "currency": "USD"},
    "price_region": {"attribute": "price", "price": {"percent": 5, "round": "1"}},
    "brand": "brand",
    "brand_code": {"attribute": "brand", "option": "code"},
    "features": {"attribute": "features"},
    "feature_list": {"attribute": "features", "join": "; ", "default": "none"},
    "weight": {"attribute": "weight"},
    "weight_g": {"attribute": "weight", "convert": "GRAM"},
    "organic": {"attribute": "is_organic"},
    "organic_word": {"attribute": "is_organic", "booleans": ["yes", "no"]},
    "warranty": {"attribute": "warranty_months", "as": "text"},
    "warranty_months": {"attribute": "warranty_months"},
    "ean": {"attribute": "ean", "default": "0000000000000"},
    "title": {"template": "{brand} {name}"},
    "color": {"attribute": "color", "otherwise": {"constant": "multicolour"}},
}


def value(data: Any, scope: str = ALL_CHANNELS, locale: str = ALL_LOCALES) -> dict[str, dict[str, Any]]:
    return {scope: {locale: data}}


@pytest.mark.parametrize(
    "values",
    [
        {},
        {
            "name": {ALL_CHANNELS: {"en_US": "Trail shoe", "de_DE": "Laufschuh"}},
            # the channel's own text is empty: the fallback channel's is read
            "description": {"print": {"en_US": ""}, "ecommerce": {"en_US": "<p>Light <b>and</b> quick, for long runs</p>"}},
            "price": {"print": {ALL_LOCALES: [{"amount": "12.50", "currency": "EUR"}]}, "ecommerce": {ALL_LOCALES: [{"amount": "1.00", "currency": "USD"}]}},
            "brand": value("aurora"),
            "features": value(["bluetooth", "waterproof"]),
            "weight": value({"amount": "1.25", "unit": "KILOGRAM"}),
            "is_organic": value(False),
            "warranty_months": value(0),
            "ean": value(""),
            "color": value("white"),
        },
        {
            "name": {ALL_CHANNELS: {"en_US": ""}},
            "description": {"ecommerce": {"de_DE": "nur Deutsch"}, "print": {}},
            "price": {"ecommerce": {ALL_LOCALES: []}},
            "features": value([]),
            "is_organic": value(True),
            "warranty_months": value("24"),
            "ean": value("4006381333931"),
            "color": value(None),
        },
    ],
    ids=["no values", "filled, with fallbacks", "empty texts and lists"],
)
def test_a_record_reads_each_field_as_its_compiled_field_does(demo_structure, values):
    context = CompileContext(
        structure=demo_structure,
        locale="en_US",
        currency="EUR",
        scopes=("print", "ecommerce"),
        option_labels={("brand", "aurora"): {"en_US": "Aurora"}, ("features", "bluetooth"): {"en_US": "Bluetooth"}},
        base_url="https://shop.example.com",
        media_url="https://shop.example.com/media",
    )
    view = ProductView(sku="SHOE-1", uuid="0", values=values)
    expected = {}
    for name, spec in EVERY_KIND.items():
        read = compile_field(spec, context)(view)
        if read is not None and read != "" and read != []:
            expected[name] = read

    record = compile_record(EVERY_KIND, context)(view)

    assert record == expected
    assert list(record) == list(expected)
    if "brand" in values:
        assert record["description"] == "Light and quick, for"
        assert record["price"] == Money(Decimal("12.50"), "EUR")
        # the channel's own prices are read as a whole: it has none in dollars
        assert "price_usd" not in record
        assert record["organic"] is False and record["organic_word"] == "no"
        assert record["warranty_months"] == Decimal(0)
        assert record["ean"] == "0000000000000"
