"""The product query service: filters, full-text search, sorting, keyset pages and counts."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from pim import db
from pim.catalog.queries import (
    ProductQuery,
    count_products,
    iter_product_ids,
    list_products,
    parse_filters,
)
from pim.catalog.services import (
    ProductInput,
    ProductModelInput,
    get_product,
    save_product_model,
    update_product,
    upsert_products,
)
from pim.demo import ean13
from pim.errors import Invalid

pytestmark = pytest.mark.usefixtures("demo_catalog")

CATALOGUE = [
    "BREAD-RYE-500",
    "GIFT-CARD-50",
    "HEADPHONES-AURORA-2",
    "MILK-ALPINE-1L",
    "SPEAKER-AURORA-1",
    "TRAIL_RED_42",
    "TRAIL_RED_43",
    "TV-KESTREL-55",
]
VARIANTS = ["TRAIL_RED_42", "TRAIL_RED_43"]


def one(data, locale=None, scope=None):
    return [{"locale": locale, "scope": scope, "data": data}]


def names(**by_locale):
    return [{"locale": locale, "scope": None, "data": text} for locale, text in by_locale.items()]


def prices(scope, **by_currency):
    return one([{"amount": amount, "currency": currency} for currency, amount in by_currency.items()], scope=scope)


def create(items, actor):
    report = upsert_products(items, actor=actor)
    assert report.rejected == [], [e.message for r in report.rejected for e in r.errors]


def find(filters=None, **query):
    """Return the identifiers of every product a query selects, in its sort order."""
    return [p.identifier for p in list_products(ProductQuery(filters=filters or {}, **query), limit=1000).items]


def walk(query, limit):
    """Read every page of a query by following the cursors; return the identifiers and the pages read."""
    seen, pages, after = [], 0, None
    while True:
        page = list_products(query, limit=limit, after=after)
        pages += 1
        seen.extend(p.identifier for p in page.items)
        if page.next_cursor is None:
            return seen, pages
        after = page.next_cursor
        assert pages < 1000, "the cursors never reach the last page"


def invalid(filters, **query):
    with pytest.raises(Invalid) as caught:
        list_products(ProductQuery(filters=filters, **query))
    return caught.value.errors[0]


@pytest.fixture
def trail_runner_variants(demo_catalog, actor):
    """A red trail runner in sizes 42 and 43: name, brand, features and category live on the models."""
    save_product_model(
        ProductModelInput(
            "TRAIL",
            family_variant="shoes_color_size",
            categories=["men_boots"],
            values={
                "name": names(en_US="Nordlys Trail Runner", de_DE="Nordlys Trailläufer", ru_RU="Кроссовки для трейла Nordlys"),
                "brand": one("nordlys"),
                "features": one(["waterproof"]),
            },
        ),
        actor=actor,
    )
    save_product_model(ProductModelInput("TRAIL_RED", parent="TRAIL", values={"color": one("red"), "material": names(en_US="leather")}), actor=actor)
    create(
        [
            ProductInput("TRAIL_RED_42", parent="TRAIL_RED", values={"size": one("eu_42")}),
            ProductInput("TRAIL_RED_43", parent="TRAIL_RED", categories=["summer_sale"], values={"size": one("eu_43")}),
        ],
        actor,
    )


@pytest.fixture
def catalogue(actor, trail_runner_variants):
    """Trail runner variants, three electronics, two groceries and a gift card without family."""
    create(
        [
            ProductInput(
                "SPEAKER-AURORA-1",
                family="electronics",
                categories=["speakers"],
                values={
                    "name": names(en_US="Aurora Soundbox", de_DE="Aurora Klangbox"),
                    "brand": one("aurora"),
                    "features": one(["bluetooth"]),
                    "warranty_months": one(24),
                    "weight": one({"amount": "1.2", "unit": "KILOGRAM"}),
                    "price": prices("ecommerce", EUR="149.00", USD="159.00"),
                    "release_date": one("2024-09-01"),
                },
            ),
            ProductInput(
                "HEADPHONES-AURORA-2",
                family="electronics",
                categories=["headphones", "black_friday"],
                values={
                    "name": names(en_US="Aurora Studio Headphones"),
                    "brand": one("aurora"),
                    "features": one(["bluetooth", "lightweight"]),
                    "warranty_months": one(12),
                    "weight": one({"amount": "350", "unit": "GRAM"}),
                    "price": prices("ecommerce", EUR="89.00", USD="95.00"),
                    "release_date": one("2022-02-15"),
                },
            ),
            ProductInput(
                "TV-KESTREL-55",
                family="electronics",
                enabled=False,
                categories=["tv"],
                values={
                    "name": names(en_US="Kestrel Smart TV 55", ru_RU="Смарт-телевизор Kestrel 55"),
                    "brand": one("kestrel"),
                    "features": one(["energy_saving"]),
                    "warranty_months": one(36),
                    "weight": one({"amount": "14.8", "unit": "KILOGRAM"}),
                    "price": prices("ecommerce", EUR="799.00", USD="859.00"),
                    "release_date": one("2025-01-10"),
                },
            ),
            ProductInput(
                "MILK-ALPINE-1L",
                family="grocery",
                categories=["dairy"],
                values={
                    "name": names(en_US="Alpine Milk, 1 l"),
                    "brand": one("volga"),
                    "is_organic": one(True),
                    "net_volume": one({"amount": 1, "unit": "LITER"}),
                },
            ),
            ProductInput(
                "BREAD-RYE-500",
                family="grocery",
                categories=["bakery"],
                values={"name": names(en_US="Rye Bread, 500 g"), "brand": one("volga"), "is_organic": one(False)},
            ),
            ProductInput("GIFT-CARD-50", values={"name": names(en_US="Gift card")}),
        ],
        actor,
    )


@pytest.fixture
def groceries_at_three_completeness_levels(demo_catalog, actor):
    """Groceries for the stores channel (pos, ru_RU needs sku, name, price in RUB, VAT rate): 100 %, 75 %, 50 %."""
    create(
        [
            ProductInput(
                "MILK-ALPINE-1L",
                family="grocery",
                values={"name": names(ru_RU="Альпийское молоко, 1 л"), "ean": one(ean13(1)), "vat_rate": one("10"), "price": prices("pos", RUB="89.00")},
            ),
            ProductInput(
                "COFFEE-BEANS-250", family="grocery", values={"name": names(ru_RU="Кофе в зёрнах, 250 г"), "ean": one(ean13(2)), "vat_rate": one("10")}
            ),
            ProductInput("BREAD-RYE-500", family="grocery", values={"name": names(en_US="Rye Bread, 500 g"), "ean": one(ean13(3)), "vat_rate": one("10")}),
            ProductInput("GIFT-CARD-50", values={"name": names(ru_RU="Подарочная карта")}),
        ],
        actor,
    )


def pos(operator, value=None):
    spec = {"operator": operator, "scope": "pos", "locale": "ru_RU"}
    if value is not None:
        spec["value"] = value
    return {"completeness": [spec]}


# --- identifier ----------------------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_identifier_equals_finds_that_product_only():
    assert find({"identifier": [{"operator": "=", "value": "TV-KESTREL-55"}]}) == ["TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_identifier_in_finds_the_listed_products_and_ignores_unknown_ones():
    filters = {"identifier": [{"operator": "IN", "value": ["TV-KESTREL-55", "MILK-ALPINE-1L", "NO-SUCH-SKU"]}]}

    assert find(filters) == ["MILK-ALPINE-1L", "TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_identifier_starts_with_matches_a_prefix_with_underscores_taken_literally():
    assert find({"identifier": [{"operator": "STARTS WITH", "value": "TRAIL_RED_4"}]}) == VARIANTS
    assert find({"identifier": [{"operator": "STARTS WITH", "value": "TRAIL_R_D"}]}) == []


@pytest.mark.usefixtures("catalogue")
def test_identifier_starts_with_ignores_case():
    assert find({"identifier": [{"operator": "STARTS WITH", "value": "trail_red_"}]}) == VARIANTS


@pytest.mark.usefixtures("catalogue")
def test_identifier_filters_ignore_case_as_identifiers_do():
    assert find({"identifier": [{"operator": "=", "value": "tv-kestrel-55"}]}) == ["TV-KESTREL-55"]
    assert find({"identifier": [{"operator": "IN", "value": ["Milk-Alpine-1l", "gift-card-50"]}]}) == ["GIFT-CARD-50", "MILK-ALPINE-1L"]
    assert find({"identifier": [{"operator": "CONTAINS", "value": "aurora"}]}) == ["HEADPHONES-AURORA-2", "SPEAKER-AURORA-1"]
    assert find({"identifier": [{"operator": "ENDS WITH", "value": "-1l"}]}) == ["MILK-ALPINE-1L"]
    assert "TV-KESTREL-55" not in find({"identifier": [{"operator": "!=", "value": "tv-kestrel-55"}]})


def test_identifier_prefix_and_sort_treat_cyrillic_and_latin_case_alike(actor):
    create([ProductInput(i, family="grocery") for i in ("\u0421\u042b\u0420-01", "\u0441\u044b\u0440-02", "Milk-01", "bread-01", "BREAD-02")], actor)

    assert find({"identifier": [{"operator": "STARTS WITH", "value": "\u0441\u044b\u0440-"}]}) == ["\u0421\u042b\u0420-01", "\u0441\u044b\u0440-02"]
    assert find({"identifier": [{"operator": "STARTS WITH", "value": "BREAD"}]}) == ["bread-01", "BREAD-02"]
    assert find() == ["bread-01", "BREAD-02", "Milk-01", "\u0421\u042b\u0420-01", "\u0441\u044b\u0440-02"]
    assert walk(ProductQuery(), limit=2) == (find(), 3)


@pytest.mark.usefixtures("catalogue")
def test_identifier_not_in_leaves_out_the_listed_products():
    filters = {"identifier": [{"operator": "NOT IN", "value": [*VARIANTS, "GIFT-CARD-50"]}]}

    assert find(filters) == [i for i in CATALOGUE if i not in (*VARIANTS, "GIFT-CARD-50")]


@pytest.mark.usefixtures("catalogue")
def test_identifier_attribute_code_filters_like_identifier():
    assert find({"sku": [{"operator": "=", "value": "MILK-ALPINE-1L"}]}) == ["MILK-ALPINE-1L"]


# --- family, enabled, parent ---------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_family_in_finds_the_products_of_those_families():
    assert find({"family": [{"operator": "IN", "value": ["electronics"]}]}) == ["HEADPHONES-AURORA-2", "SPEAKER-AURORA-1", "TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_variants_belong_to_their_models_family():
    assert find({"family": [{"operator": "IN", "value": ["shoes"]}]}) == VARIANTS


@pytest.mark.usefixtures("catalogue")
def test_family_not_in_includes_products_without_family():
    filters = {"family": [{"operator": "NOT IN", "value": ["electronics", "shoes"]}]}

    assert find(filters) == ["BREAD-RYE-500", "GIFT-CARD-50", "MILK-ALPINE-1L"]


@pytest.mark.usefixtures("catalogue")
def test_family_empty_finds_products_without_family():
    assert find({"family": [{"operator": "EMPTY"}]}) == ["GIFT-CARD-50"]


@pytest.mark.usefixtures("catalogue")
def test_unknown_family_is_refused_by_name():
    error = invalid({"family": [{"operator": "IN", "value": ["boats"]}]})

    assert (error.field, error.code) == ("search.family", "unknown")
    assert error.message == "Family 'boats' does not exist"


@pytest.mark.usefixtures("catalogue")
def test_enabled_false_finds_disabled_products():
    assert find({"enabled": [{"operator": "=", "value": False}]}) == ["TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_enabled_true_leaves_out_disabled_products():
    assert find({"enabled": [{"operator": "=", "value": True}]}) == [i for i in CATALOGUE if i != "TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_parent_empty_finds_products_that_are_not_variants():
    assert find({"parent": [{"operator": "EMPTY"}]}) == [i for i in CATALOGUE if i not in VARIANTS]


@pytest.mark.usefixtures("catalogue")
def test_parent_not_empty_finds_variants():
    assert find({"parent": [{"operator": "NOT EMPTY"}]}) == VARIANTS


@pytest.mark.usefixtures("catalogue")
def test_parent_equals_a_root_model_finds_the_variants_of_its_sub_models():
    assert find({"parent": [{"operator": "=", "value": "TRAIL"}]}) == VARIANTS


# --- categories ----------------------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_categories_in_children_finds_products_classified_below_a_parent_category():
    assert find({"categories": [{"operator": "IN CHILDREN", "value": ["audio"]}]}) == ["HEADPHONES-AURORA-2", "SPEAKER-AURORA-1"]


@pytest.mark.usefixtures("catalogue")
def test_categories_in_children_of_a_tree_root_finds_every_product_of_the_tree():
    assert find({"categories": [{"operator": "IN CHILDREN", "value": ["master"]}]}) == [i for i in CATALOGUE if i != "GIFT-CARD-50"]


@pytest.mark.usefixtures("catalogue")
def test_categories_in_matches_the_category_itself_not_its_children():
    assert find({"categories": [{"operator": "IN", "value": ["black_friday", "audio"]}]}) == ["HEADPHONES-AURORA-2"]


@pytest.mark.usefixtures("catalogue")
def test_categories_not_in_keeps_unclassified_products():
    filters = {"categories": [{"operator": "NOT IN", "value": ["black_friday", "tv", "men_boots"]}]}

    assert find(filters) == ["BREAD-RYE-500", "GIFT-CARD-50", "MILK-ALPINE-1L", "SPEAKER-AURORA-1"]


@pytest.mark.usefixtures("catalogue")
def test_unclassified_finds_products_without_any_category():
    assert find({"categories": [{"operator": "UNCLASSIFIED"}]}) == ["GIFT-CARD-50"]


@pytest.mark.usefixtures("catalogue")
def test_variants_are_found_by_the_category_of_their_model():
    assert find({"categories": [{"operator": "IN", "value": ["men_boots"]}]}) == VARIANTS


@pytest.mark.usefixtures("catalogue")
def test_variants_are_found_by_a_parent_of_their_models_category():
    assert find({"categories": [{"operator": "IN CHILDREN", "value": ["footwear"]}]}) == VARIANTS


@pytest.mark.usefixtures("catalogue")
def test_variant_is_found_by_its_own_category_as_well():
    assert find({"categories": [{"operator": "IN", "value": ["summer_sale"]}]}) == ["TRAIL_RED_43"]


@pytest.mark.usefixtures("catalogue")
def test_unknown_category_is_refused_by_name():
    error = invalid({"categories": [{"operator": "IN", "value": ["men_boots", "boats"]}]})

    assert (error.field, error.code, error.message) == ("search.categories", "unknown", "Category 'boats' does not exist")


# --- completeness --------------------------------------------------------------------------


@pytest.mark.usefixtures("groceries_at_three_completeness_levels")
def test_completeness_complete_finds_products_with_every_required_value():
    assert find(pos("COMPLETE")) == ["MILK-ALPINE-1L"]


@pytest.mark.usefixtures("groceries_at_three_completeness_levels")
def test_completeness_incomplete_finds_products_missing_a_required_value():
    assert find(pos("INCOMPLETE")) == ["BREAD-RYE-500", "COFFEE-BEANS-250"]


@pytest.mark.usefixtures("groceries_at_three_completeness_levels")
def test_completeness_lower_than_100_finds_incomplete_products():
    assert find(pos("<", 100)) == ["BREAD-RYE-500", "COFFEE-BEANS-250"]


@pytest.mark.usefixtures("groceries_at_three_completeness_levels")
def test_completeness_lower_than_a_ratio_leaves_out_products_at_or_above_it():
    assert find(pos("<", 75)) == ["BREAD-RYE-500"]


@pytest.mark.usefixtures("groceries_at_three_completeness_levels")
def test_completeness_at_least_100_finds_complete_products():
    assert find(pos(">=", 100)) == ["MILK-ALPINE-1L"]


@pytest.mark.usefixtures("groceries_at_three_completeness_levels")
def test_completeness_at_least_a_ratio_includes_products_at_that_ratio():
    assert find(pos(">=", 75)) == ["COFFEE-BEANS-250", "MILK-ALPINE-1L"]


@pytest.mark.usefixtures("groceries_at_three_completeness_levels")
def test_completeness_equals_a_ratio_finds_products_at_exactly_that_ratio():
    assert find(pos("=", 75)) == ["COFFEE-BEANS-250"]


@pytest.mark.usefixtures("groceries_at_three_completeness_levels")
def test_completeness_is_read_for_the_locale_asked():
    # Marketplaces need 7 values; the bread is named in English only, the others in Russian only.
    in_english = {"operator": "=", "value": 42, "scope": "marketplace", "locale": "en_US"}
    in_russian = {"operator": "=", "value": 42, "scope": "marketplace", "locale": "ru_RU"}

    assert find({"completeness": [in_english]}) == ["BREAD-RYE-500"]
    assert find({"completeness": [in_russian]}) == ["COFFEE-BEANS-250", "MILK-ALPINE-1L"]


@pytest.mark.parametrize(
    ("operator", "value"),
    [("COMPLETE", None), ("INCOMPLETE", None), ("<", 100), ("<=", 100), (">=", 0), (">", 0), ("=", 0), ("=", 100), ("!=", 50)],
)
@pytest.mark.usefixtures("groceries_at_three_completeness_levels")
def test_product_without_family_never_matches_a_completeness_filter(operator, value):
    assert "GIFT-CARD-50" not in find(pos(operator, value))


@pytest.mark.usefixtures("groceries_at_three_completeness_levels")
def test_completeness_on_an_unknown_channel_is_refused_with_the_channel_named():
    error = invalid({"completeness": [{"operator": "COMPLETE", "scope": "webshop", "locale": "en_US"}]})

    assert (error.field, error.code) == ("search.completeness", "unknown_channel")
    assert "'webshop' is not a channel" in error.message


@pytest.mark.usefixtures("groceries_at_three_completeness_levels")
def test_completeness_without_a_scope_is_refused():
    error = invalid({"completeness": [{"operator": "COMPLETE", "locale": "en_US"}]})

    assert error.code == "unknown_channel" and "needs the scope (channel)" in error.message


@pytest.mark.usefixtures("groceries_at_three_completeness_levels")
def test_completeness_in_a_locale_the_channel_does_not_use_is_refused():
    error = invalid({"completeness": [{"operator": "COMPLETE", "scope": "pos", "locale": "de_DE"}]})

    assert (error.code, error.message) == ("unknown_locale", "Channel 'pos' has no locale 'de_DE'")


# --- updated -------------------------------------------------------------------------------


def test_updated_after_a_time_finds_products_changed_since(actor, trail_runner_variants):
    moment = db.utcnow()
    update_product("TRAIL_RED_43", values={"size": one("eu_44")}, actor=actor)

    assert find({"updated": [{"operator": ">", "value": moment.isoformat()}]}) == ["TRAIL_RED_43"]


def test_updated_after_a_time_with_an_offset_compares_the_same_instant(actor, trail_runner_variants):
    moment = db.utcnow()
    update_product("TRAIL_RED_43", values={"size": one("eu_44")}, actor=actor)
    in_moscow = moment.astimezone(dt.timezone(dt.timedelta(hours=3)))

    assert find({"updated": [{"operator": ">", "value": in_moscow.isoformat()}]}) == ["TRAIL_RED_43"]


def test_updated_since_last_n_days_leaves_out_older_products(actor, monkeypatch):
    with monkeypatch.context() as clock:
        ten_days_ago = db.utcnow() - dt.timedelta(days=10)
        clock.setattr(db, "utcnow", lambda: ten_days_ago)
        create([ProductInput("BREAD-RYE-500", family="grocery")], actor)
    create([ProductInput("MILK-ALPINE-1L", family="grocery")], actor)

    assert find({"updated": [{"operator": "SINCE LAST N DAYS", "value": 7}]}) == ["MILK-ALPINE-1L"]
    assert find({"updated": [{"operator": "SINCE LAST N DAYS", "value": 11}]}) == ["BREAD-RYE-500", "MILK-ALPINE-1L"]


@pytest.mark.usefixtures("catalogue")
def test_updated_with_a_malformed_time_is_refused():
    error = invalid({"updated": [{"operator": ">", "value": "yesterday"}]})

    assert error.field == "search.updated" and "takes a time like" in error.message


# --- attribute values ----------------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_text_equals_matches_the_value_of_the_given_locale():
    assert find({"name": [{"operator": "=", "value": "Aurora Klangbox", "locale": "de_DE"}]}) == ["SPEAKER-AURORA-1"]
    assert find({"name": [{"operator": "=", "value": "Aurora Klangbox", "locale": "en_US"}]}) == []


@pytest.mark.usefixtures("catalogue")
def test_text_contains_ignores_case():
    assert find({"name": [{"operator": "CONTAINS", "value": "aurora", "locale": "en_US"}]}) == ["HEADPHONES-AURORA-2", "SPEAKER-AURORA-1"]


@pytest.mark.usefixtures("catalogue")
def test_text_contains_ignores_case_in_cyrillic_too():
    assert find({"name": [{"operator": "CONTAINS", "value": "смарт-ТЕЛЕВИЗОР", "locale": "ru_RU"}]}) == ["TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_text_starts_with_matches_the_beginning_of_the_value():
    assert find({"name": [{"operator": "STARTS WITH", "value": "Aurora S", "locale": "en_US"}]}) == ["HEADPHONES-AURORA-2", "SPEAKER-AURORA-1"]
    assert find({"name": [{"operator": "STARTS WITH", "value": "Soundbox", "locale": "en_US"}]}) == []


@pytest.mark.usefixtures("catalogue")
def test_text_starts_with_ignores_case():
    assert find({"name": [{"operator": "STARTS WITH", "value": "смарт-телевизор", "locale": "ru_RU"}]}) == ["TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_text_filter_matches_values_inherited_from_models():
    assert find({"name": [{"operator": "CONTAINS", "value": "trailläufer", "locale": "de_DE"}]}) == VARIANTS


@pytest.mark.usefixtures("catalogue")
def test_text_not_equal_finds_products_holding_another_value_own_or_inherited():
    filters = {"name": [{"operator": "!=", "value": "Aurora Soundbox", "locale": "en_US"}]}

    assert find(filters) == [i for i in CATALOGUE if i != "SPEAKER-AURORA-1"]


@pytest.mark.usefixtures("catalogue")
def test_text_not_equal_and_not_in_compare_the_exact_text(actor):
    update_product("SPEAKER-AURORA-1", values={"name": [{"locale": "en_US", "scope": None, "data": "AURORA SOUNDBOX"}]}, actor=actor)

    def differing(operator, value):
        return "SPEAKER-AURORA-1" in find({"name": [{"operator": operator, "value": value, "locale": "en_US"}]})

    assert differing("!=", "Aurora Soundbox") and differing("NOT IN", ["Aurora Soundbox", "Kestrel"])
    assert not differing("!=", "AURORA SOUNDBOX") and not differing("NOT IN", ["x", "AURORA SOUNDBOX"])
    for operator, value in [("!=", "Aurora Soundbox"), ("!=", "AURORA SOUNDBOX"), ("NOT IN", ["AURORA SOUNDBOX", "Trail runner"])]:
        filters = {"name": [{"operator": operator, "value": value, "locale": "en_US"}]}
        assert count_products(ProductQuery(filters=filters)) == len(find(filters)), (operator, value)


@pytest.mark.usefixtures("catalogue")
def test_text_does_not_contain_leaves_out_products_without_the_value():
    filters = {"name": [{"operator": "DOES NOT CONTAIN", "value": "aurora", "locale": "de_DE"}]}

    assert find(filters) == VARIANTS


@pytest.mark.usefixtures("catalogue")
def test_text_counts_match_the_pages():
    for operator, value in [("CONTAINS", "AURORA"), ("DOES NOT CONTAIN", "aurora"), ("ENDS WITH", "box"), ("=", "Aurora Klangbox"), ("EMPTY", None)]:
        filters = {"name": [{"operator": operator, "value": value, "locale": "de_DE"}]}
        assert count_products(ProductQuery(filters=filters)) == len(find(filters)), operator
    assert count_products(ProductQuery(filters={"name": [{"operator": "NOT EMPTY", "locale": "ru_RU"}]})) == 3


@pytest.mark.usefixtures("catalogue")
def test_text_equals_and_in_keep_the_case_of_the_value():
    assert find({"name": [{"operator": "=", "value": "aurora klangbox", "locale": "de_DE"}]}) == []
    assert find({"name": [{"operator": "IN", "value": ["Aurora Soundbox", "aurora studio headphones"], "locale": "en_US"}]}) == ["SPEAKER-AURORA-1"]


@pytest.mark.usefixtures("catalogue")
def test_text_in_compares_numbers_as_their_text(actor):
    update_product("GIFT-CARD-50", actor=actor, values={"name": names(en_US="4006381333931")})

    assert find({"name": [{"operator": "IN", "value": [4006381333931], "locale": "en_US"}]}) == ["GIFT-CARD-50"]


@pytest.mark.usefixtures("catalogue")
def test_text_filter_takes_wildcards_literally(actor):
    update_product("GIFT-CARD-50", actor=actor, values={"name": names(en_US="Gift card, 50% off_today")})

    assert find({"name": [{"operator": "CONTAINS", "value": "50% off_", "locale": "en_US"}]}) == ["GIFT-CARD-50"]
    assert find({"name": [{"operator": "CONTAINS", "value": "5_%", "locale": "en_US"}]}) == []


@pytest.mark.usefixtures("catalogue")
def test_text_filters_follow_a_models_new_value_an_update_and_a_deletion(actor):
    from pim.catalog.services import delete_product

    save_product_model(ProductModelInput("TRAIL", values={"name": names(de_DE="Nordlys Bergschuh")}), actor=actor)
    update_product("SPEAKER-AURORA-1", actor=actor, values={"name": names(de_DE=None)})
    delete_product("TV-KESTREL-55", actor=actor)

    assert find({"name": [{"operator": "CONTAINS", "value": "bergschuh", "locale": "de_DE"}]}) == VARIANTS
    assert find({"name": [{"operator": "CONTAINS", "value": "trailläufer", "locale": "de_DE"}]}) == []
    assert find({"name": [{"operator": "NOT EMPTY", "locale": "de_DE"}]}) == VARIANTS
    assert find({"name": [{"operator": "CONTAINS", "value": "kestrel", "locale": "ru_RU"}]}) == []


@pytest.mark.usefixtures("catalogue")
def test_localizable_attribute_without_a_locale_is_refused():
    error = invalid({"name": [{"operator": "CONTAINS", "value": "aurora"}]})

    assert (error.field, error.code) == ("search.name", "required")
    assert "localizable: give a locale" in error.message


@pytest.mark.usefixtures("catalogue")
def test_query_locale_is_used_when_a_filter_gives_none():
    assert find({"name": [{"operator": "CONTAINS", "value": "klang"}]}, locale="de_DE") == ["SPEAKER-AURORA-1"]


@pytest.mark.usefixtures("catalogue")
def test_simple_select_in_finds_products_with_one_of_the_options():
    assert find({"brand": [{"operator": "IN", "value": ["aurora", "kestrel"]}]}) == ["HEADPHONES-AURORA-2", "SPEAKER-AURORA-1", "TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_variant_is_found_by_its_models_brand():
    assert find({"brand": [{"operator": "IN", "value": ["nordlys"]}]}) == VARIANTS


@pytest.mark.usefixtures("catalogue")
def test_simple_select_not_in_finds_products_holding_another_option_own_or_inherited():
    filters = {"brand": [{"operator": "NOT IN", "value": ["aurora"]}]}

    assert find(filters) == ["BREAD-RYE-500", "MILK-ALPINE-1L", *VARIANTS, "TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_variant_is_found_by_its_sub_models_colour():
    assert find({"color": [{"operator": "=", "value": "red"}]}) == VARIANTS


@pytest.mark.usefixtures("catalogue")
def test_multi_select_in_finds_products_with_any_of_the_options():
    filters = {"features": [{"operator": "IN", "value": ["lightweight", "waterproof"]}]}

    assert find(filters) == ["HEADPHONES-AURORA-2", *VARIANTS]


@pytest.mark.usefixtures("catalogue")
def test_multi_select_not_in_finds_products_holding_none_of_the_options():
    filters = {"features": [{"operator": "NOT IN", "value": ["bluetooth"]}]}

    assert find(filters) == [*VARIANTS, "TV-KESTREL-55"]
    assert count_products(ProductQuery(filters=filters)) == 3
    assert count_products(ProductQuery(filters={**filters, "family": [{"operator": "IN", "value": ["electronics"]}]})) == 1


@pytest.mark.usefixtures("catalogue")
def test_number_lower_than_compares_numerically():
    assert find({"warranty_months": [{"operator": "<", "value": 24}]}) == ["HEADPHONES-AURORA-2"]


@pytest.mark.usefixtures("catalogue")
def test_number_greater_than_compares_numerically():
    assert find({"warranty_months": [{"operator": ">", "value": "12"}]}) == ["SPEAKER-AURORA-1", "TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_number_filter_with_a_text_value_is_refused():
    error = invalid({"warranty_months": [{"operator": ">", "value": "a year"}]})

    assert error.field == "search.warranty_months" and "compares with a number" in error.message


@pytest.mark.usefixtures("catalogue")
def test_metric_is_compared_across_units():
    # 1.2 kilograms is more than 500 grams, 350 grams is not.
    filters = {"weight": [{"operator": ">", "value": {"amount": 500, "unit": "GRAM"}}]}

    assert find(filters) == ["SPEAKER-AURORA-1", "TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_metric_without_unit_uses_the_attributes_default_unit():
    assert find({"weight": [{"operator": "<", "value": {"amount": "1.5"}}]}) == ["HEADPHONES-AURORA-2", "SPEAKER-AURORA-1"]


@pytest.mark.usefixtures("catalogue")
def test_metric_in_a_unit_of_another_measurement_is_refused():
    error = invalid({"weight": [{"operator": ">", "value": {"amount": 1, "unit": "METER"}}]})

    assert (error.field, error.code) == ("search.weight", "unknown_unit")


@pytest.mark.usefixtures("catalogue")
def test_price_greater_than_compares_amounts_in_the_given_currency_and_channel():
    # The headphones cost 95 USD but 89 EUR.
    filters = {"price": [{"operator": ">", "value": {"amount": 90, "currency": "EUR"}, "scope": "ecommerce"}]}

    assert find(filters) == ["SPEAKER-AURORA-1", "TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_price_in_a_currency_the_products_lack_finds_nothing():
    assert find({"price": [{"operator": ">", "value": {"amount": 0, "currency": "RUB"}, "scope": "ecommerce"}]}) == []


@pytest.mark.usefixtures("catalogue")
def test_price_on_another_channel_finds_nothing():
    assert find({"price": [{"operator": ">", "value": {"amount": 0, "currency": "EUR"}, "scope": "print"}]}) == []


@pytest.mark.usefixtures("catalogue")
def test_scopable_attribute_without_a_scope_is_refused():
    error = invalid({"price": [{"operator": ">", "value": {"amount": 90, "currency": "EUR"}}]})

    assert (error.field, error.code) == ("search.price", "required")


@pytest.mark.usefixtures("catalogue")
def test_boolean_true_finds_products_holding_true():
    assert find({"is_organic": [{"operator": "=", "value": True}]}) == ["MILK-ALPINE-1L"]


@pytest.mark.usefixtures("catalogue")
def test_boolean_false_finds_products_holding_false_only():
    assert find({"is_organic": [{"operator": "=", "value": False}]}) == ["BREAD-RYE-500"]


@pytest.mark.usefixtures("catalogue")
def test_boolean_not_equal_finds_products_holding_the_other_value():
    assert find({"is_organic": [{"operator": "!=", "value": True}]}) == ["BREAD-RYE-500"]


@pytest.mark.usefixtures("catalogue")
def test_option_filters_follow_a_models_new_value_to_its_variants(actor):
    save_product_model(ProductModelInput("TRAIL", values={"brand": one("kestrel"), "features": one(["lightweight"])}), actor=actor)

    assert find({"brand": [{"operator": "IN", "value": ["nordlys"]}]}) == []
    assert find({"brand": [{"operator": "=", "value": "kestrel"}]}) == [*VARIANTS, "TV-KESTREL-55"]
    assert find({"features": [{"operator": "IN", "value": ["waterproof"]}]}) == []
    assert count_products(ProductQuery(filters={"features": [{"operator": "IN", "value": ["lightweight"]}]})) == 3


@pytest.mark.usefixtures("catalogue")
def test_option_filters_follow_an_update_and_a_deletion(actor):
    from pim.catalog.services import delete_product

    update_product("MILK-ALPINE-1L", actor=actor, values={"brand": one(None), "is_organic": one(False)})
    update_product("HEADPHONES-AURORA-2", actor=actor, values={"features": one(["lightweight", "waterproof"])})
    update_product("SPEAKER-AURORA-1", actor=actor, values={"features": one(["bluetooth"])})  # unchanged
    delete_product("BREAD-RYE-500", actor=actor)

    assert find({"features": [{"operator": "IN", "value": ["bluetooth"]}]}) == ["SPEAKER-AURORA-1"]
    assert find({"features": [{"operator": "IN", "value": ["waterproof"]}]}) == ["HEADPHONES-AURORA-2", *VARIANTS]

    assert find({"brand": [{"operator": "IN", "value": ["volga"]}]}) == []
    assert find({"brand": [{"operator": "EMPTY"}]}) == ["GIFT-CARD-50", "MILK-ALPINE-1L"]
    assert find({"is_organic": [{"operator": "=", "value": False}]}) == ["MILK-ALPINE-1L"]
    assert count_products(ProductQuery(filters={"is_organic": [{"operator": "NOT EMPTY"}]})) == 1


@pytest.mark.usefixtures("catalogue")
def test_option_filter_on_a_variant_moved_to_another_model(actor):
    save_product_model(ProductModelInput("TRAIL_BLUE", parent="TRAIL", values={"color": one("blue")}), actor=actor)
    update_product("TRAIL_RED_43", actor=actor, parent="TRAIL_BLUE")

    assert find({"color": [{"operator": "=", "value": "red"}]}) == ["TRAIL_RED_42"]
    assert find({"color": [{"operator": "!=", "value": "red"}]}) == ["TRAIL_RED_43"]


@pytest.mark.usefixtures("catalogue")
def test_date_before_finds_earlier_dates():
    assert find({"release_date": [{"operator": "<", "value": "2024-09-01"}]}) == ["HEADPHONES-AURORA-2"]


@pytest.mark.usefixtures("catalogue")
def test_date_between_includes_both_bounds():
    assert find({"release_date": [{"operator": "BETWEEN", "value": ["2024-09-01", "2025-01-10"]}]}) == ["SPEAKER-AURORA-1", "TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_date_not_between_finds_products_dated_outside():
    filters = {"release_date": [{"operator": "NOT BETWEEN", "value": ["2024-01-01", "2024-12-31"]}]}

    assert find(filters) == ["HEADPHONES-AURORA-2", "TV-KESTREL-55"]
    assert count_products(ProductQuery(filters=filters)) == 2


@pytest.mark.usefixtures("catalogue")
def test_date_filter_with_a_malformed_date_is_refused():
    error = invalid({"release_date": [{"operator": "<", "value": "01/09/2024"}]})

    assert error.field == "search.release_date" and "YYYY-MM-DD" in error.message


@pytest.mark.usefixtures("catalogue")
def test_price_empty_and_not_empty_look_at_the_channel_only():
    assert find({"price": [{"operator": "NOT EMPTY", "scope": "ecommerce"}]}) == ["HEADPHONES-AURORA-2", "SPEAKER-AURORA-1", "TV-KESTREL-55"]
    assert find({"price": [{"operator": "EMPTY", "scope": "print"}]}) == CATALOGUE


@pytest.mark.usefixtures("catalogue")
def test_number_filters_follow_a_models_new_value_to_its_variants(actor):
    values = {"package_length": one({"amount": "32", "unit": "CENTIMETER"}), "release_date": one("2023-03-01")}
    save_product_model(ProductModelInput("TRAIL", values=values), actor=actor)

    assert find({"package_length": [{"operator": "=", "value": {"amount": "0.32", "unit": "METER"}}]}) == VARIANTS
    assert find({"release_date": [{"operator": "<", "value": "2024-09-01"}]}) == ["HEADPHONES-AURORA-2", *VARIANTS]
    assert count_products(ProductQuery(filters={"release_date": [{"operator": "BETWEEN", "value": ["2023-01-01", "2023-12-31"]}]})) == 2

    save_product_model(ProductModelInput("TRAIL", values={"release_date": one("2025-05-01")}), actor=actor)

    assert find({"release_date": [{"operator": ">", "value": "2025-01-10"}]}) == VARIANTS
    assert find({"release_date": [{"operator": "<", "value": "2024-09-01"}]}) == ["HEADPHONES-AURORA-2"]


@pytest.mark.usefixtures("catalogue")
def test_number_filters_follow_an_update_and_a_deletion(actor):
    from pim.catalog.services import delete_product

    update_product("SPEAKER-AURORA-1", actor=actor, values={"price": prices("ecommerce", EUR="59.00", USD="159.00"), "warranty_months": one(None)})
    update_product("HEADPHONES-AURORA-2", actor=actor, values={"release_date": one("2024-12-24")})
    delete_product("TV-KESTREL-55", actor=actor)

    assert find({"price": [{"operator": "<", "value": {"amount": 60, "currency": "EUR"}, "scope": "ecommerce"}]}) == ["SPEAKER-AURORA-1"]
    assert find({"price": [{"operator": ">", "value": {"amount": 150, "currency": "USD"}, "scope": "ecommerce"}]}) == ["SPEAKER-AURORA-1"]
    assert find({"warranty_months": [{"operator": "NOT EMPTY"}]}) == ["HEADPHONES-AURORA-2"]
    assert find({"release_date": [{"operator": ">", "value": "2024-09-01"}]}) == ["HEADPHONES-AURORA-2"]


@pytest.mark.usefixtures("catalogue")
def test_attribute_empty_finds_products_without_the_value():
    assert find({"features": [{"operator": "EMPTY"}]}) == ["BREAD-RYE-500", "GIFT-CARD-50", "MILK-ALPINE-1L"]


@pytest.mark.usefixtures("catalogue")
def test_attribute_not_empty_counts_values_inherited_from_models():
    assert find({"features": [{"operator": "NOT EMPTY"}]}) == ["HEADPHONES-AURORA-2", "SPEAKER-AURORA-1", *VARIANTS, "TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_localizable_attribute_empty_is_read_in_the_given_locale():
    assert find({"name": [{"operator": "NOT EMPTY", "locale": "ru_RU"}]}) == [*VARIANTS, "TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_conditions_on_several_fields_all_apply():
    filters = {
        "family": [{"operator": "IN", "value": ["electronics"]}],
        "enabled": [{"operator": "=", "value": True}],
        "features": [{"operator": "IN", "value": ["bluetooth"]}],
        "warranty_months": [{"operator": ">", "value": 12}],
    }

    assert find(filters) == ["SPEAKER-AURORA-1"]


# --- textareas -----------------------------------------------------------------------------


def described(scope, locale, text):
    return {"locale": locale, "scope": scope, "data": text}


@pytest.fixture
def descriptions(catalogue, actor):
    """Descriptions on the trail runners' root model, on a one-level T-shirt model, and of two electronics' own."""
    save_product_model(
        ProductModelInput(
            "TRAIL",
            values={
                "description": [
                    described("ecommerce", "en_US", "<p>Waterproof trail runner with a grippy sole.</p>"),
                    described("ecommerce", "ru_RU", "<p>ВОДОНЕПРОНИЦАЕМЫЕ кроссовки для трейла</p>"),
                ]
            },
        ),
        actor=actor,
    )
    save_product_model(
        ProductModelInput(
            "TEE",
            family_variant="apparel_size",
            values={"name": names(en_US="Linen tee"), "description": [described("ecommerce", "en_US", "<p>Breathable linen, not waterproof at all.</p>")]},
        ),
        actor=actor,
    )
    create([ProductInput("TEE_S", parent="TEE", values={"size": one("s")}), ProductInput("TEE_M", parent="TEE", values={"size": one("m")})], actor)
    update_product("SPEAKER-AURORA-1", values={"description": [described("ecommerce", "en_US", "<p>Portable speaker, WATERPROOF to IPX7.</p>")]}, actor=actor)
    update_product("HEADPHONES-AURORA-2", values={"description": [described("ecommerce", "en_US", "<p>Closed-back studio headphones.</p>")]}, actor=actor)
    update_product("TV-KESTREL-55", values={"description": [described("marketplace", "en_US", "<p>Waterproof? Not at all.</p>")]}, actor=actor)


TEES = ["TEE_M", "TEE_S"]


def on_ecommerce(operator, value=None, locale="en_US"):
    spec = {"operator": operator, "scope": "ecommerce", "locale": locale}
    if value is not None:
        spec["value"] = value
    return {"description": [spec]}


@pytest.mark.usefixtures("descriptions")
def test_textarea_contains_finds_own_texts_and_those_of_every_model_level_ignoring_case():
    assert find(on_ecommerce("CONTAINS", "waterproof")) == ["SPEAKER-AURORA-1", *TEES, *VARIANTS]
    assert find(on_ecommerce("CONTAINS", "grippy sole")) == VARIANTS
    assert find(on_ecommerce("CONTAINS", "водонепроницаемые", locale="ru_RU")) == VARIANTS
    assert find(on_ecommerce("CONTAINS", "waterproof", locale="de_DE")) == []


@pytest.mark.usefixtures("descriptions")
def test_textarea_starts_and_ends_with_compare_the_whole_text():
    assert find(on_ecommerce("STARTS WITH", "<P>Closed")) == ["HEADPHONES-AURORA-2"]
    assert find(on_ecommerce("ENDS WITH", "SOLE.</p>")) == VARIANTS
    assert find(on_ecommerce("STARTS WITH", "waterproof")) == []


@pytest.mark.usefixtures("descriptions")
def test_textarea_does_not_contain_and_empty_split_the_catalogue():
    holding = ["HEADPHONES-AURORA-2", "SPEAKER-AURORA-1", *TEES, *VARIANTS]

    assert find(on_ecommerce("DOES NOT CONTAIN", "waterproof")) == ["HEADPHONES-AURORA-2"]
    assert find(on_ecommerce("NOT EMPTY")) == holding
    assert find(on_ecommerce("EMPTY")) == sorted(set(CATALOGUE) - set(holding))


@pytest.mark.usefixtures("descriptions")
def test_textarea_equals_and_in_keep_the_case_of_the_text():
    assert find(on_ecommerce("=", "<p>Closed-back studio headphones.</p>")) == ["HEADPHONES-AURORA-2"]
    assert find(on_ecommerce("=", "<p>closed-back studio headphones.</p>")) == []
    assert find(on_ecommerce("IN", ["<p>Waterproof trail runner with a grippy sole.</p>", "x"])) == VARIANTS
    assert find(on_ecommerce("!=", "<p>Closed-back studio headphones.</p>")) == ["SPEAKER-AURORA-1", *TEES, *VARIANTS]
    assert find(on_ecommerce("NOT IN", ["<p>Breathable linen, not waterproof at all.</p>"])) == ["HEADPHONES-AURORA-2", "SPEAKER-AURORA-1", *VARIANTS]


@pytest.mark.usefixtures("descriptions")
def test_textarea_filters_take_wildcards_literally(actor):
    update_product("HEADPHONES-AURORA-2", values={"description": [described("ecommerce", "en_US", "<p>50% off_today</p>")]}, actor=actor)

    assert find(on_ecommerce("CONTAINS", "50% OFF_")) == ["HEADPHONES-AURORA-2"]
    assert find(on_ecommerce("CONTAINS", "5_%")) == []
    assert find(on_ecommerce("STARTS WITH", "<p>5_")) == []
    assert find(on_ecommerce("ENDS WITH", "%")) == []


@pytest.mark.usefixtures("descriptions")
def test_textarea_counts_match_the_pages():
    cases = [
        ("CONTAINS", "WATERPROOF"),
        ("DOES NOT CONTAIN", "waterproof"),
        ("STARTS WITH", "<p>"),
        ("ENDS WITH", "sole.</p>"),
        ("=", "<p>Closed-back studio headphones.</p>"),
        ("!=", "<p>Closed-back studio headphones.</p>"),
        ("IN", ["<p>Breathable linen, not waterproof at all.</p>"]),
        ("NOT IN", ["<p>Breathable linen, not waterproof at all.</p>"]),
        ("EMPTY", None),
        ("NOT EMPTY", None),
    ]
    for operator, value in cases:
        filters = on_ecommerce(operator, value)
        assert count_products(ProductQuery(filters=filters)) == len(find(filters)), operator


@pytest.mark.usefixtures("descriptions")
def test_textarea_filters_follow_changes_of_models_and_products(actor):
    save_product_model(
        ProductModelInput("TRAIL", values={"description": [described("ecommerce", "en_US", "<p>Breathable mesh runner.</p>")]}),
        actor=actor,
    )
    update_product("SPEAKER-AURORA-1", values={"description": [described("ecommerce", "en_US", None)]}, actor=actor)

    assert find(on_ecommerce("CONTAINS", "waterproof")) == TEES
    assert find(on_ecommerce("CONTAINS", "mesh")) == VARIANTS
    assert "SPEAKER-AURORA-1" in find(on_ecommerce("EMPTY"))


@pytest.mark.usefixtures("descriptions")
def test_a_deleted_model_or_product_leaves_no_texts_behind(actor):
    from sqlalchemy import func, select

    from pim.catalog.models import ModelLongText, Product, ProductLongText, ProductModel
    from pim.catalog.services import delete_product, delete_product_model

    save_product_model(
        ProductModelInput("EMPTY_TEE", family_variant="apparel_size", values={"description": [described("ecommerce", "en_US", "<p>Soon.</p>")]}),
        actor=actor,
    )
    model_id = db.session.scalar(select(ProductModel.id).where(ProductModel.code == "EMPTY_TEE"))
    speaker_id = db.session.scalar(select(Product.id).where(Product.identifier == "SPEAKER-AURORA-1"))

    def rows(table, owner, owner_id):
        return db.session.scalar(select(func.count()).select_from(table).where(owner == owner_id))

    assert rows(ModelLongText, ModelLongText.model_id, model_id) == 1
    assert rows(ProductLongText, ProductLongText.product_id, speaker_id) > 0

    delete_product_model("EMPTY_TEE", actor=actor)
    delete_product("SPEAKER-AURORA-1", actor=actor)

    assert rows(ModelLongText, ModelLongText.model_id, model_id) == 0
    assert rows(ProductLongText, ProductLongText.product_id, speaker_id) == 0


# --- full-text search ----------------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_search_finds_a_product_by_identifier_prefix():
    assert find({"search": [{"operator": "=", "value": "speak"}]}) == ["SPEAKER-AURORA-1"]


@pytest.mark.usefixtures("catalogue")
def test_search_finds_a_variant_by_its_identifier():
    assert find({"search": [{"operator": "=", "value": "TRAIL_RED_42"}]}) == ["TRAIL_RED_42"]


@pytest.mark.usefixtures("catalogue")
def test_search_finds_products_by_label_words_ignoring_case():
    assert find({"search": [{"operator": "=", "value": "AURORA studio"}]}) == ["HEADPHONES-AURORA-2"]


@pytest.mark.usefixtures("catalogue")
def test_search_finds_a_product_by_its_label_in_another_locale():
    assert find({"search": [{"operator": "=", "value": "klangbox"}]}) == ["SPEAKER-AURORA-1"]


@pytest.mark.usefixtures("catalogue")
def test_search_finds_a_cyrillic_label_ignoring_case():
    assert find({"search": [{"operator": "=", "value": "ТЕЛЕВИЗОР"}]}) == ["TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_search_finds_variants_by_the_label_of_their_model():
    assert find({"search": [{"operator": "=", "value": "trail runner"}]}) == VARIANTS


@pytest.mark.usefixtures("catalogue")
def test_search_needs_every_word():
    assert find({"search": [{"operator": "=", "value": "aurora kestrel"}]}) == []


# --- sorting -------------------------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_sort_by_identifier_orders_alphabetically():
    assert find() == CATALOGUE


@pytest.mark.usefixtures("catalogue")
def test_sort_by_identifier_descending_reverses_the_order():
    assert find(descending=True) == CATALOGUE[::-1]


def test_sort_by_updated_descending_puts_the_last_changed_product_first(actor):
    for identifier in ("BREAD-RYE-500", "MILK-ALPINE-1L", "COFFEE-BEANS-250"):
        create([ProductInput(identifier, family="grocery")], actor)
    update_product("BREAD-RYE-500", enabled=False, actor=actor)

    assert find(sort="updated", descending=True) == ["BREAD-RYE-500", "COFFEE-BEANS-250", "MILK-ALPINE-1L"]


@pytest.mark.usefixtures("catalogue")
def test_sort_by_number_attribute_orders_by_value():
    filters = {"family": [{"operator": "IN", "value": ["electronics"]}]}

    assert find(filters, sort="warranty_months", descending=True) == ["TV-KESTREL-55", "SPEAKER-AURORA-1", "HEADPHONES-AURORA-2"]


@pytest.mark.usefixtures("catalogue")
def test_sort_by_metric_attribute_compares_across_units():
    filters = {"family": [{"operator": "IN", "value": ["electronics"]}]}

    assert find(filters, sort="weight") == ["HEADPHONES-AURORA-2", "SPEAKER-AURORA-1", "TV-KESTREL-55"]


@pytest.mark.usefixtures("catalogue")
def test_sort_by_localizable_attribute_uses_the_query_locale():
    filters = {"family": [{"operator": "IN", "value": ["grocery", "electronics"]}]}

    assert find(filters, sort="name", locale="en_US") == ["MILK-ALPINE-1L", "SPEAKER-AURORA-1", "HEADPHONES-AURORA-2", "TV-KESTREL-55", "BREAD-RYE-500"]


@pytest.mark.usefixtures("catalogue")
def test_sort_by_an_unknown_field_is_refused():
    with pytest.raises(Invalid) as caught:
        list_products(ProductQuery(sort="colour_name"))

    assert caught.value.errors[0].field == "sort" and "Cannot sort by 'colour_name'" in caught.value.errors[0].message


# --- keyset pages --------------------------------------------------------------------------


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.usefixtures("catalogue")
def test_pages_walked_by_cursor_hold_every_product_once_in_order(descending):
    seen, pages = walk(ProductQuery(descending=descending), limit=3)

    assert seen == (CATALOGUE[::-1] if descending else CATALOGUE)
    assert pages == 3


@pytest.fixture
def forty_products_written_in_one_batch(demo_catalog, actor):
    """Forty groceries created by one upsert: they all share the same update time."""
    create([ProductInput(f"GR-{n:04d}", family="grocery", values={"name": names(en_US=f"Grocery {n}")}) for n in range(40, 0, -1)], actor)
    return sorted(f"GR-{n:04d}" for n in range(1, 41))


@pytest.mark.parametrize("descending", [False, True])
def test_pages_sorted_by_updated_time_shared_by_many_products_hold_every_product_once(forty_products_written_in_one_batch, descending):
    assert len({get_product(i).updated_at for i in forty_products_written_in_one_batch}) == 1
    query = ProductQuery(sort="updated", descending=descending)
    in_order = [p.identifier for p in list_products(query, limit=1000).items]

    seen, _pages = walk(query, limit=7)

    assert sorted(seen) == forty_products_written_in_one_batch
    assert seen == in_order


def test_products_sharing_an_update_time_are_ordered_by_creation(forty_products_written_in_one_batch):
    seen, _pages = walk(ProductQuery(sort="updated"), limit=7)

    assert seen == [f"GR-{n:04d}" for n in range(40, 0, -1)]


@pytest.mark.parametrize("sort", ["warranty_months", "weight", "release_date", "brand"])
@pytest.mark.usefixtures("catalogue")
def test_pages_sorted_by_an_attribute_hold_every_product_once_in_order(sort):
    query = ProductQuery(sort=sort)
    in_order = find(sort=sort)

    seen, pages = walk(query, limit=2)

    assert seen == in_order and sorted(seen) == CATALOGUE
    assert pages == 4


@pytest.mark.usefixtures("catalogue")
def test_pages_sorted_by_label_hold_every_product_once_in_order():
    query = ProductQuery(sort="label", locale="en_US")
    in_order = find(sort="label", locale="en_US")

    seen, _pages = walk(query, limit=3)

    assert seen == in_order and sorted(seen) == CATALOGUE
    assert in_order[:4] == ["MILK-ALPINE-1L", "SPEAKER-AURORA-1", "HEADPHONES-AURORA-2", "GIFT-CARD-50"]


@pytest.mark.usefixtures("catalogue")
def test_pages_of_a_filtered_query_hold_only_matching_products():
    query = ProductQuery(filters={"family": [{"operator": "NOT IN", "value": ["electronics"]}]})

    seen, _pages = walk(query, limit=2)

    assert seen == ["BREAD-RYE-500", "GIFT-CARD-50", "MILK-ALPINE-1L", *VARIANTS]


@pytest.mark.usefixtures("catalogue")
def test_last_page_has_no_cursor():
    page = list_products(ProductQuery(), limit=len(CATALOGUE))

    assert len(page.items) == len(CATALOGUE) and page.next_cursor is None


@pytest.mark.usefixtures("catalogue")
def test_tampered_cursor_is_refused():
    with pytest.raises(Invalid) as caught:
        list_products(ProductQuery(), limit=2, after="not-a-cursor")

    assert caught.value.errors[0].field == "after" and "start again from the first page" in caught.value.errors[0].message


@pytest.mark.parametrize(("cursor_sort", "sort"), [("updated", "warranty_months"), ("warranty_months", "updated"), ("identifier", "weight")])
@pytest.mark.usefixtures("catalogue")
def test_cursor_of_another_sort_order_is_refused(cursor_sort, sort):
    cursor = list_products(ProductQuery(sort=cursor_sort), limit=2).next_cursor

    with pytest.raises(Invalid) as caught:
        list_products(ProductQuery(sort=sort), limit=2, after=cursor)

    assert caught.value.errors[0].field == "after"


@pytest.mark.parametrize("limit", [0, 1001])
def test_page_size_out_of_range_is_refused(limit):
    with pytest.raises(Invalid) as caught:
        list_products(ProductQuery(), limit=limit)

    assert (caught.value.errors[0].field, caught.value.errors[0].code) == ("limit", "out_of_range")


# --- counts and ids ------------------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_count_equals_the_number_of_products_walked():
    query = ProductQuery(filters={"features": [{"operator": "NOT EMPTY"}]})
    seen, _pages = walk(query, limit=2)

    assert count_products(query) == len(seen) == 5


@pytest.mark.usefixtures("catalogue")
def test_page_with_count_gives_the_count_of_every_page():
    query = ProductQuery(filters={"brand": [{"operator": "IN", "value": ["aurora", "nordlys"]}]})

    first = list_products(query, limit=3, with_count=True)
    last = list_products(query, limit=3, after=first.next_cursor, with_count=True)

    assert first.count == last.count == len(first.items) + len(last.items) == 4
    assert last.next_cursor is None


@pytest.mark.usefixtures("catalogue")
def test_page_without_count_does_not_count():
    assert list_products(ProductQuery(), limit=2).count is None


@pytest.mark.usefixtures("catalogue")
def test_iter_product_ids_yields_every_matching_id_once_in_batches():
    query = ProductQuery(filters={"categories": [{"operator": "IN CHILDREN", "value": ["master"]}]})

    batches = list(iter_product_ids(query, batch_size=3))

    assert [len(b) for b in batches] == [3, 3, 1]
    ids = [i for b in batches for i in b]
    assert sorted(ids) == sorted(get_product(i).id for i in CATALOGUE if i != "GIFT-CARD-50")
    assert ids == sorted(ids)


@pytest.mark.usefixtures("catalogue")
def test_iter_product_ids_of_an_empty_selection_yields_nothing():
    assert list(iter_product_ids(ProductQuery(filters={"identifier": [{"operator": "=", "value": "NO-SUCH-SKU"}]}))) == []


# --- stored filters ------------------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_filter_stored_as_json_text_selects_the_same_products():
    filters = {
        "categories": [{"operator": "IN CHILDREN", "value": ["electronics"]}],
        "weight": [{"operator": ">", "value": {"amount": 500, "unit": "GRAM"}}],
        "name": [{"operator": "CONTAINS", "value": "aurora", "locale": "en_US"}],
        "updated": [{"operator": "SINCE LAST N DAYS", "value": 1}],
    }
    stored = json.dumps(filters)

    assert parse_filters(stored) == filters
    assert find(json.loads(stored)) == find(filters) == ["SPEAKER-AURORA-1"]
    assert [p.identifier for p in list_products(ProductQuery(filters=stored)).items] == ["SPEAKER-AURORA-1"]


def test_parse_filters_accepts_a_single_condition_object():
    assert parse_filters('{"family": {"operator": "IN", "value": ["shoes"]}}') == {"family": [{"operator": "IN", "value": ["shoes"]}]}


@pytest.mark.parametrize("raw", [None, ""])
def test_parse_filters_reads_nothing_as_no_filter(raw):
    assert parse_filters(raw) == {}


def test_parse_filters_refuses_bad_json_and_says_where():
    with pytest.raises(Invalid) as caught:
        parse_filters('{"family": [{"operator": "IN", "value": ["shoes"]}')

    error = caught.value.errors[0]
    assert error.field == "search" and error.message.startswith("The filter is not valid JSON") and "at character" in error.message


def test_parse_filters_refuses_json_that_is_not_an_object():
    with pytest.raises(Invalid, match="must be an object"):
        parse_filters('[{"operator": "IN", "value": ["shoes"]}]')


def test_parse_filters_refuses_a_condition_without_operator():
    with pytest.raises(Invalid) as caught:
        parse_filters({"family": [{"value": ["shoes"]}]})

    assert caught.value.errors[0].field == "search.family" and "list of {operator, value} objects" in caught.value.errors[0].message


@pytest.mark.usefixtures("catalogue")
def test_filter_on_an_unknown_field_is_refused_by_name():
    error = invalid({"colour": [{"operator": "IN", "value": ["red"]}]})

    assert (error.field, error.code) == ("search.colour", "unknown")
    assert error.message == "Cannot filter on 'colour': no such field or attribute"


@pytest.mark.parametrize(
    ("field", "condition", "words"),
    [
        ("family", {"operator": "CONTAINS", "value": "shoes"}, "Operator 'CONTAINS' is not supported on family"),
        ("identifier", {"operator": "BEGINS", "value": "TV"}, "Operator 'BEGINS' is not supported on 'identifier'"),
        ("categories", {"operator": "UNDER", "value": ["audio"]}, "Operator 'UNDER' is not supported on categories"),
        ("completeness", {"operator": "ABOUT", "value": 50, "scope": "pos"}, "Operator 'ABOUT' is not supported on completeness"),
        ("features", {"operator": "CONTAINS", "value": ["vegan"]}, "Operator 'CONTAINS' is not supported on 'features'"),
        ("warranty_months", {"operator": "STARTS WITH", "value": 1}, "Operator 'STARTS WITH' is not supported on 'warranty_months'"),
        ("updated", {"operator": "AROUND", "value": "2026-01-01"}, "Operator 'AROUND' is not supported on 'updated'"),
    ],
)
@pytest.mark.usefixtures("catalogue")
def test_unsupported_operator_is_refused_naming_the_operator(field, condition, words):
    error = invalid({field: [condition]})

    assert error.field == f"search.{field}"
    assert words in error.message


@pytest.fixture
def complete_in_english_only(demo_catalog, actor):
    """A grocery complete for the marketplace in en_US, but without its Russian description."""
    import io

    from PIL import Image

    from pim.catalog.media import store_media

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 60, 30)).save(buffer, "PNG")
    image = store_media(buffer.getvalue(), "coffee.png").key
    create(
        [
            ProductInput(
                "COFFEE-HALF",
                family="grocery",
                values={
                    "name": names(en_US="Coffee beans", ru_RU="Кофе в зёрнах"),
                    "description": one("Dark roast.", locale="en_US", scope="marketplace"),
                    "price": prices("marketplace", RUB="890.00"),
                    "ean": one(ean13(9001)),
                    "brand": one("volga"),
                    "image": one(image),
                },
            )
        ],
        actor,
    )


@pytest.mark.usefixtures("complete_in_english_only")
@pytest.mark.parametrize(
    ("operator", "value", "matches"),
    [
        ("<", 100, True),  # below on one locale: the product needs work
        (">=", 100, False),  # not at 100 on every locale
        ("LOWER THAN ON ALL LOCALES", 100, False),
        ("GREATER OR EQUALS THAN ON ALL LOCALES", 100, False),
        ("GREATER OR EQUALS THAN ON AT LEAST ONE LOCALE", 100, True),
        ("INCOMPLETE", None, True),
        ("COMPLETE", None, False),
    ],
)
def test_completeness_over_several_locales_reads_below_as_somewhere_and_above_as_everywhere(operator, value, matches):
    condition = {"operator": operator, "value": value, "scope": "marketplace"}

    assert find({"completeness": [condition]}) == (["COFFEE-HALF"] if matches else [])


@pytest.mark.usefixtures("catalogue")
def test_search_finds_a_hyphenated_identifier_by_its_parts():
    assert find({"search": [{"operator": "=", "value": "TV-KESTREL-55"}]}) == ["TV-KESTREL-55"]
    assert find({"search": [{"operator": "=", "value": "kestrel 55"}]}) == ["TV-KESTREL-55"]
