"""Structure services and category trees: codes, attribute rules, variants, channels, safe deletes."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from pim import db
from pim.catalog.categories import create_category, delete_category, get_category, move_category
from pim.catalog.jobs import settle_completeness
from pim.catalog.queries import ProductQuery, list_products
from pim.catalog.serialize import completeness_of
from pim.catalog.services import create_product, get_product, update_product
from pim.errors import Conflict, ErrorCode, Invalid, NotFound
from pim.structure.models import AttributeType, Locale
from pim.structure.services import (
    create_association_type,
    create_attribute,
    create_attribute_option,
    create_channel,
    create_family,
    create_family_variant,
    create_measurement_family,
    delete_attribute,
    delete_attribute_option,
    delete_family,
    ensure_currency,
    get_attribute,
    get_family,
    update_channel,
    update_family,
)

pytestmark = pytest.mark.usefixtures("demo_catalog")


def one(data, locale=None, scope=None):
    return [{"locale": locale, "scope": scope, "data": data}]


def boots(ean="4600000000017", **values):
    """Return the values of a hiking boot named in English and German only."""
    base = {
        "name": [{"locale": "en_US", "scope": None, "data": "Trail boot"}, {"locale": "de_DE", "scope": None, "data": "Wanderstiefel"}],
        "brand": one("nordlys"),
        "ean": one(ean),
        "weight": one({"amount": "1.2", "unit": "KILOGRAM"}),
        "price": one([{"amount": "99.90", "currency": "EUR"}, {"amount": "107.90", "currency": "USD"}], scope="ecommerce"),
    }
    base.update(values)
    return base


def headphones(ean="4600000000024", **values):
    """Return the values of a pair of headphones."""
    base = {
        "name": [{"locale": "en_US", "scope": None, "data": "Aurora Headphones 300"}],
        "brand": one("aurora"),
        "ean": one(ean),
        "warranty_months": one(24),
    }
    base.update(values)
    return base


def errors_of(caught):
    return [(e.field, e.code) for e in caught.value.errors]


def completeness_by_pair(identifier):
    return {(c["scope"], c["locale"]): c for c in completeness_of(get_product(identifier))}


def attribute_codes(family):
    return [a.code for a in get_family(family).attributes]


def in_children(category):
    query = ProductQuery(filters={"categories": [{"operator": "IN CHILDREN", "value": [category]}]})
    return [p.identifier for p in list_products(query, limit=100).items]


# --- codes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("create", "message"),
    [
        (lambda: create_attribute("name", type=AttributeType.TEXT, is_localizable=True), "Attribute 'name' already exists"),
        (lambda: create_attribute_option("brand", "nordlys"), "Attribute 'brand' already has an option 'nordlys'"),
        (lambda: create_family("shoes", attributes=["name"]), "Family 'shoes' already exists"),
        (
            lambda: create_family_variant("apparel_size", family="apparel", levels=[{"axes": ["color"], "attributes": ["sku", "ean"]}]),
            "Family variant 'apparel_size' already exists",
        ),
        (lambda: create_channel("print", locales=["en_US"], currencies=["EUR"], category_tree="master"), "Channel 'print' already exists"),
        (lambda: create_category("men_boots", parent="men_shoes"), "Category 'men_boots' already exists"),
        (lambda: create_association_type("X_SELL"), "Association type 'X_SELL' already exists"),
        (
            lambda: create_measurement_family("Weight", standard_unit="GRAM", units=[{"code": "GRAM", "factor": "1"}]),
            "Measurement family 'Weight' already exists",
        ),
    ],
    ids=["attribute", "option", "family", "family_variant", "channel", "category", "association_type", "measurement_family"],
)
def test_duplicate_code_is_refused_with_a_conflict(create, message):
    with pytest.raises(Conflict, match=re.escape(message)):
        create()


@pytest.mark.parametrize("code", ["shoe-size", "shoe size", "größe", ""])
@pytest.mark.parametrize(
    "create",
    [
        lambda code: create_attribute(code, type=AttributeType.TEXT),
        lambda code: create_attribute_option("brand", code),
        lambda code: create_family(code, attributes=["name"]),
        lambda code: create_channel(code, locales=["en_US"], currencies=["EUR"], category_tree="master"),
        lambda code: create_category(code, parent="footwear"),
        lambda code: create_association_type(code),
    ],
    ids=["attribute", "option", "family", "channel", "category", "association_type"],
)
def test_code_that_is_not_letters_digits_and_underscores_is_refused_naming_it(create, code):
    with pytest.raises(Invalid) as caught:
        create(code)

    error = caught.value.errors[0]
    assert (error.field, error.code) == ("code", ErrorCode.INVALID_FORMAT)
    assert repr(code) in error.message


# --- attribute rules ------------------------------------------------------------------------


def test_metric_attribute_needs_a_known_measurement_family():
    with pytest.raises(Invalid) as caught:
        create_attribute("temperature", type=AttributeType.METRIC, metric_family="Temperature", default_metric_unit="CELSIUS")

    assert errors_of(caught) == [("metric_family", ErrorCode.UNKNOWN)]
    assert "'Temperature'" in caught.value.errors[0].message


def test_metric_attribute_default_unit_must_belong_to_its_family():
    with pytest.raises(Invalid) as caught:
        create_attribute("package_weight", type=AttributeType.METRIC, metric_family="Weight", default_metric_unit="LITER")

    assert errors_of(caught) == [("default_metric_unit", ErrorCode.UNKNOWN_UNIT)]
    assert "'LITER'" in caught.value.errors[0].message and "Weight" in caught.value.errors[0].message


def test_metric_attribute_with_a_unit_of_its_family_is_created():
    attribute = create_attribute("package_weight", type=AttributeType.METRIC, metric_family="Weight", default_metric_unit="GRAM")

    assert (attribute.metric_family, attribute.default_metric_unit) == ("Weight", "GRAM")


def test_second_identifier_attribute_is_refused():
    with pytest.raises(Conflict, match="already has an identifier attribute"):
        create_attribute("article_number", type=AttributeType.IDENTIFIER)


@pytest.mark.parametrize("flags", [{"is_localizable": True}, {"is_scopable": True}], ids=["localizable", "scopable"])
def test_identifier_attribute_cannot_be_localizable_or_scopable(flags):
    with pytest.raises(Invalid) as caught:
        create_attribute("article_number", type=AttributeType.IDENTIFIER, **flags)

    assert ("type", ErrorCode.INVALID_FORMAT) in errors_of(caught)


@pytest.mark.parametrize("flags", [{"is_localizable": True}, {"is_scopable": True}], ids=["localizable", "scopable"])
def test_unique_attribute_cannot_be_localizable_or_scopable(flags):
    with pytest.raises(Invalid) as caught:
        create_attribute("supplier_reference", type=AttributeType.TEXT, is_unique=True, **flags)

    assert errors_of(caught) == [("is_unique", ErrorCode.INVALID_FORMAT)]


def test_unique_flag_is_refused_on_a_select_attribute():
    with pytest.raises(Invalid) as caught:
        create_attribute("season", type=AttributeType.SIMPLE_SELECT, is_unique=True)

    assert errors_of(caught) == [("is_unique", ErrorCode.INVALID_FORMAT)]


def test_invalid_regular_expression_is_refused():
    with pytest.raises(Invalid) as caught:
        create_attribute("supplier_reference", type=AttributeType.TEXT, validation_regexp=r"^[A-Z{3}\d+$")

    assert errors_of(caught) == [("validation_regexp", ErrorCode.PATTERN)]


def test_refused_attribute_writes_nothing():
    with pytest.raises(Invalid):
        create_attribute("supplier_reference", type=AttributeType.TEXT, is_unique=True, is_scopable=True)

    with pytest.raises(NotFound, match="Attribute 'supplier_reference' does not exist"):
        get_attribute("supplier_reference")


# --- family variants (Akeneo's rules) -------------------------------------------------------


@pytest.fixture
def sneakers_family(demo_catalog):
    """A sneakers family with every kind of attribute a variant could wrongly use as an axis."""
    create_attribute("lace_color", type=AttributeType.SIMPLE_SELECT, is_localizable=True)
    create_attribute("shop_size", type=AttributeType.SIMPLE_SELECT, is_scopable=True)
    create_attribute("supplier_reference", type=AttributeType.TEXT, is_unique=True)
    create_family(
        "sneakers",
        attributes=["name", "ean", "brand", "color", "size", "material", "weight", "price", "lace_color", "shop_size", "supplier_reference"],
        attribute_as_label="name",
    )


def sneaker_levels(**first_level):
    """Return two valid levels (colour, then size), with the first level's content replaced."""
    return [
        {"axes": ["color"], "attributes": ["material"], **first_level},
        {"axes": ["size"], "attributes": ["sku", "ean", "supplier_reference", "weight"]},
    ]


def test_family_variant_with_valid_levels_is_created(sneakers_family):
    variant = create_family_variant("sneakers_color_size", family="sneakers", levels=sneaker_levels())

    assert {(a.level, a.is_axis) for a in variant.attribute_sets} == {(1, True), (1, False), (2, True), (2, False)}


@pytest.mark.parametrize("axis", ["lace_color", "shop_size", "supplier_reference", "material"], ids=["localizable", "scopable", "unique", "text"])
def test_family_variant_refuses_an_axis_that_is_localizable_scopable_unique_or_text(sneakers_family, axis):
    levels = [{"axes": [axis], "attributes": []}, {"axes": ["size"], "attributes": ["sku", "ean", "supplier_reference"]}]
    if axis == "supplier_reference":
        levels[1]["attributes"].remove("supplier_reference")

    with pytest.raises(Invalid) as caught:
        create_family_variant("sneakers_wrong_axis", family="sneakers", levels=levels)

    axis_errors = [e for e in caught.value.errors if e.field == "levels.1" and e.code == ErrorCode.INVALID_TYPE]
    assert len(axis_errors) == 1 and f"{axis!r} cannot be an axis" in axis_errors[0].message


def test_family_variant_refuses_an_attribute_at_two_levels(sneakers_family):
    levels = sneaker_levels()
    levels[1]["attributes"].append("material")

    with pytest.raises(Invalid) as caught:
        create_family_variant("sneakers_twice", family="sneakers", levels=levels)

    assert errors_of(caught) == [("levels.2", ErrorCode.DUPLICATE)]
    assert "'material' is already at level 1" in caught.value.errors[0].message


def test_family_variant_refuses_a_unique_attribute_above_the_last_level(sneakers_family):
    levels = [
        {"axes": ["color"], "attributes": ["ean"]},
        {"axes": ["size"], "attributes": ["sku", "supplier_reference"]},
    ]

    with pytest.raises(Invalid) as caught:
        create_family_variant("sneakers_ean_on_model", family="sneakers", levels=levels)

    assert errors_of(caught) == [("levels", ErrorCode.NOT_AT_LEVEL)]
    assert "'ean' must be at the last level" in caught.value.errors[0].message


def test_family_variant_refuses_a_unique_attribute_left_to_the_root_model(sneakers_family):
    levels = [{"axes": ["color"], "attributes": []}, {"axes": ["size"], "attributes": ["sku", "supplier_reference"]}]

    with pytest.raises(Invalid) as caught:
        create_family_variant("sneakers_no_ean", family="sneakers", levels=levels)

    assert errors_of(caught) == [("levels", ErrorCode.NOT_AT_LEVEL)]


def test_family_variant_refuses_more_than_two_levels(sneakers_family):
    levels = [
        {"axes": ["color"], "attributes": []},
        {"axes": ["material"], "attributes": []},
        {"axes": ["size"], "attributes": ["sku", "ean", "supplier_reference"]},
    ]

    with pytest.raises(Invalid) as caught:
        create_family_variant("sneakers_three_levels", family="sneakers", levels=levels)

    assert errors_of(caught) == [("levels", ErrorCode.OUT_OF_RANGE)]


def test_family_variant_refuses_an_attribute_not_in_the_family(sneakers_family):
    levels = sneaker_levels(attributes=["material", "screen_size"])

    with pytest.raises(Invalid) as caught:
        create_family_variant("sneakers_with_screen", family="sneakers", levels=levels)

    assert errors_of(caught) == [("levels.1", ErrorCode.NOT_IN_FAMILY)]
    assert "'screen_size' is not in family 'sneakers'" in caught.value.errors[0].message


def test_family_variant_refuses_a_level_without_axes(sneakers_family):
    with pytest.raises(Invalid) as caught:
        create_family_variant("sneakers_no_axis", family="sneakers", levels=sneaker_levels(axes=[]))

    assert ("levels.1", ErrorCode.OUT_OF_RANGE) in errors_of(caught)


# --- channels -------------------------------------------------------------------------------


def test_channel_on_a_category_that_is_not_a_tree_root_is_refused_as_wrong_tree():
    with pytest.raises(Invalid) as caught:
        create_channel("shoe_shop", locales=["en_US"], currencies=["EUR"], category_tree="footwear")

    assert errors_of(caught) == [("category_tree", ErrorCode.WRONG_TREE)]
    assert "'footwear' is not a tree root" in caught.value.errors[0].message


def test_channel_on_another_tree_is_created():
    channel = create_channel("outlet", locales=["en_US"], currencies=["EUR"], category_tree="seasonal")

    assert channel.category_tree_id == get_category("seasonal").id


def test_channel_on_an_unknown_category_tree_is_refused():
    with pytest.raises(Invalid) as caught:
        create_channel("outlet", locales=["en_US"], currencies=["EUR"], category_tree="clearance")

    assert errors_of(caught) == [("category_tree", ErrorCode.UNKNOWN)]


def test_channel_reports_a_malformed_locale_by_its_code():
    with pytest.raises(Invalid) as caught:
        create_channel("outlet", locales=["en_US", "english"], currencies=["EUR"], category_tree="master")

    assert [e.code for e in caught.value.errors] == [ErrorCode.INVALID_FORMAT]
    assert "'english'" in caught.value.errors[0].message


def test_channel_reports_a_malformed_currency_by_its_code():
    with pytest.raises(Invalid) as caught:
        create_channel("outlet", locales=["en_US"], currencies=["euro"], category_tree="master")

    assert [e.code for e in caught.value.errors] == [ErrorCode.INVALID_FORMAT]
    assert "'euro'" in caught.value.errors[0].message


@pytest.mark.parametrize(
    ("locales", "currencies", "field"),
    [(["en_US", "english"], ["EUR"], "locales"), (["en_US"], ["euro"], "currencies")],
    ids=["locale", "currency"],
)
def test_channel_reports_a_malformed_locale_or_currency_on_its_own_field(locales, currencies, field):
    with pytest.raises(Invalid) as caught:
        create_channel("outlet", locales=locales, currencies=currencies, category_tree="master")

    assert caught.value.errors[0].field.startswith(field)


def test_channel_reports_a_disabled_currency():
    ensure_currency("GBP", is_enabled=False)

    with pytest.raises(Invalid) as caught:
        create_channel("uk_shop", locales=["en_GB"], currencies=["GBP"], category_tree="master")

    assert errors_of(caught) == [("currencies", ErrorCode.UNKNOWN_CURRENCY)]
    assert "'GBP' is not enabled" in caught.value.errors[0].message


def test_channel_reports_every_problem_at_once():
    with pytest.raises(Invalid) as caught:
        create_channel("outlet", locales=["english"], currencies=["euro"], category_tree="footwear")

    assert [code for _field, code in errors_of(caught)] == [
        ErrorCode.INVALID_FORMAT,
        ErrorCode.INVALID_FORMAT,
        ErrorCode.REQUIRED,
        ErrorCode.WRONG_TREE,
    ]


def test_refused_channel_leaves_no_new_locale_behind():
    with pytest.raises(Invalid):
        create_channel("french_shop", locales=["fr_FR"], currencies=["EUR"], category_tree="footwear")

    assert db.session.scalar(select(Locale.id).where(Locale.code == "fr_FR")) is None


# --- moving categories ----------------------------------------------------------------------


def test_move_to_a_parent_in_another_tree_is_refused():
    with pytest.raises(Invalid) as caught:
        move_category("men_boots", parent="black_friday")

    assert errors_of(caught) == [("parent", ErrorCode.WRONG_TREE)]
    assert "another tree" in caught.value.errors[0].message


@pytest.mark.parametrize("parent", ["men_boots", "men_shoes"], ids=["below_itself", "itself"])
def test_move_below_itself_is_refused(parent):
    with pytest.raises(Invalid) as caught:
        move_category("men_shoes", parent=parent)

    assert errors_of(caught) == [("parent", ErrorCode.WRONG_TREE)]


def test_tree_root_cannot_be_moved():
    with pytest.raises(Invalid) as caught:
        move_category("seasonal", parent="footwear")

    assert errors_of(caught) == [("parent", ErrorCode.WRONG_TREE)]


def test_moved_subtree_products_are_found_under_the_new_parent(actor):
    create_product("BOOT_1", family="shoes", categories=["men_boots"], values=boots(), actor=actor)

    move_category("men_shoes", parent="outerwear")

    assert in_children("outerwear") == ["BOOT_1"]
    assert in_children("apparel") == ["BOOT_1"]
    assert in_children("footwear") == []


def test_moved_subtree_keeps_levels_under_the_new_parent():
    move_category("men_shoes", parent="outerwear")

    db.session.expire_all()
    assert (get_category("men_shoes").level, get_category("men_boots").level) == (3, 4)
    assert get_category("men_boots").path.startswith(get_category("outerwear").path)


def test_category_created_under_a_moved_leaf_lands_in_the_new_subtree(actor):
    # The caller still holds the leaf it looked up, as a page or an import run would.
    leaf = get_category("men_boots")
    move_category("men_shoes", parent="outerwear")

    create_category("men_hiking_boots", parent=leaf.code)
    create_product("BOOT_1", family="shoes", categories=["men_hiking_boots"], values=boots(), actor=actor)

    assert in_children("outerwear") == ["BOOT_1"]


def test_failed_move_changes_nothing(actor):
    create_product("BOOT_1", family="shoes", categories=["men_boots"], values=boots(), actor=actor)

    with pytest.raises(Invalid):
        move_category("men_shoes", parent="men_formal")

    assert in_children("footwear") == ["BOOT_1"]


# --- deleting what is in use ----------------------------------------------------------------


@pytest.fixture
def energy_label(demo_catalog, actor):
    """An attribute added to the electronics family and filled in on one pair of headphones."""
    create_attribute("energy_label", type=AttributeType.TEXT, labels={"en_US": "Energy label"})
    update_family("electronics", attributes=[*attribute_codes("electronics"), "energy_label"])
    create_product("HP_300", family="electronics", values=headphones(energy_label=one("A++")), actor=actor)


def test_delete_attribute_of_a_family_is_refused_naming_the_families():
    with pytest.raises(Conflict, match="'color' is used by the families apparel, electronics, shoes"):
        delete_attribute("color")


@pytest.mark.usefixtures("energy_label")
def test_delete_attribute_removed_from_its_family_is_refused_while_products_hold_values():
    update_family("electronics", attributes=[c for c in attribute_codes("electronics") if c != "energy_label"])

    with pytest.raises(Conflict, match="'energy_label' has values in 1 products"):
        delete_attribute("energy_label")


def test_delete_unused_attribute_works():
    create_attribute("energy_label", type=AttributeType.TEXT)

    delete_attribute("energy_label")

    with pytest.raises(NotFound):
        get_attribute("energy_label")


def test_delete_identifier_attribute_is_refused():
    with pytest.raises(Conflict, match="identifier attribute cannot be deleted"):
        delete_attribute("sku")


def test_delete_option_used_by_products_is_refused_with_their_count(actor):
    create_product("BOOT_1", family="shoes", values=boots(), actor=actor)
    create_product("BOOT_2", family="shoes", values=boots(ean="4600000000031"), actor=actor)

    with pytest.raises(Conflict, match="'nordlys' of 'brand' is used by 2 products"):
        delete_attribute_option("brand", "nordlys")


def test_delete_option_used_in_a_multi_select_is_refused(actor):
    create_product("HP_300", family="electronics", values=headphones(features=one(["bluetooth", "lightweight"])), actor=actor)

    with pytest.raises(Conflict, match="'bluetooth' of 'features' is used by 1 products"):
        delete_attribute_option("features", "bluetooth")


def test_delete_unused_option_works(actor):
    create_product("BOOT_1", family="shoes", values=boots(), actor=actor)

    delete_attribute_option("brand", "taiga")

    with pytest.raises(Invalid, match="has no option 'taiga'"):
        update_product("BOOT_1", values={"brand": one("taiga")}, actor=actor)


def test_delete_family_used_by_products_is_refused_with_their_count(actor):
    create_product("HP_300", family="electronics", values=headphones(), actor=actor)

    with pytest.raises(Conflict, match="'electronics' is used by 1 products"):
        delete_family("electronics")


def test_delete_unused_family_works():
    create_family("gift_cards", attributes=["name", "price"], attribute_as_label="name")

    delete_family("gift_cards")

    with pytest.raises(NotFound, match="Family 'gift_cards' does not exist"):
        get_family("gift_cards")


def test_delete_category_with_products_below_it_is_refused_with_their_count(actor):
    create_product("BOOT_1", family="shoes", categories=["men_boots"], values=boots(), actor=actor)
    create_product("BOOT_2", family="shoes", categories=["men_boots", "men_formal"], values=boots(ean="4600000000031"), actor=actor)

    with pytest.raises(Conflict, match="'footwear' or a category below it classifies 2 products"):
        delete_category("footwear")


def test_delete_category_tree_of_a_channel_is_refused():
    with pytest.raises(Conflict, match="tree of the channels"):
        delete_category("master")


def test_delete_unused_category_removes_its_subtree():
    delete_category("seasonal")

    for code in ("seasonal", "black_friday", "summer_sale"):
        with pytest.raises(NotFound):
            get_category(code)


# --- recomputing completeness ---------------------------------------------------------------


def test_update_family_requirements_recomputes_completeness_of_its_products(actor):
    create_product("BOOT_1", family="shoes", values=boots(material=[{"locale": "en_US", "scope": None, "data": "leather"}]), actor=actor)
    assert "material" not in completeness_by_pair("BOOT_1")[("print", "de_DE")]["missing"]

    update_family("shoes", requirements={"print": ["name", "description", "image", "price", "material"]})
    settle_completeness("print")

    after = completeness_by_pair("BOOT_1")
    assert "material" in after[("print", "de_DE")]["missing"]
    assert "material" not in after[("print", "en_US")]["missing"]


def test_update_family_requirements_leaves_other_families_products_as_they_were(actor):
    create_product("HP_300", family="electronics", values=headphones(), actor=actor)
    before = completeness_by_pair("HP_300")

    update_family("shoes", requirements={"print": ["name", "description", "image", "price", "material"]})
    settle_completeness("print")

    assert completeness_by_pair("HP_300") == before


def test_update_channel_adding_a_locale_adds_its_incomplete_pairs(actor):
    create_product("BOOT_1", family="shoes", values=boots(), actor=actor)
    assert ("pos", "en_US") not in completeness_by_pair("BOOT_1")

    update_channel("pos", locales=["ru_RU", "en_US"])
    settle_completeness("pos")

    pos_en = completeness_by_pair("BOOT_1")[("pos", "en_US")]
    assert pos_en["data"] < 100 and pos_en["missing"] == ["price"]
