"""The product write path: create, update, validation, versions, conflicts, variants."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pim import db
from pim.catalog.models import Completeness, Product, ProductModel
from pim.catalog.queries import ProductQuery, list_products
from pim.catalog.services import (
    ProductInput,
    ProductModelInput,
    create_product,
    delete_product,
    get_product,
    get_product_model,
    revert_product,
    save_product_model,
    save_product_models,
    update_product,
    upsert_products,
)
from pim.errors import Conflict, Invalid
from pim.versioning.models import Version
from pim.versioning.services import product_history


def one(data, locale=None, scope=None):
    return [{"locale": locale, "scope": scope, "data": data}]


def boots(identifier="BOOT-1", **values):
    base = {
        "name": [{"locale": "en_US", "scope": None, "data": "Trail boot"}, {"locale": "de_DE", "scope": None, "data": "Wanderstiefel"}],
        "brand": one("nordlys"),
        "ean": one("4600000000017"),
        "weight": one({"amount": "1.2", "unit": "KILOGRAM"}),
        "price": one([{"amount": "99.90", "currency": "EUR"}, {"amount": "107.90", "currency": "USD"}], scope="ecommerce"),
    }
    base.update(values)
    return base


pytestmark = pytest.mark.usefixtures("demo_catalog")


def test_create_product_stores_normalised_values_and_a_first_version(actor):
    result = create_product("BOOT_1", family="shoes", categories=["men_boots"], values=boots(), actor=actor)

    assert result.status == "created" and result.version == 1
    product = get_product("BOOT_1")
    assert product.values["weight"]["<all_channels>"]["<all_locales>"] == {"amount": "1.2", "unit": "KILOGRAM", "base_data": "1.2", "base_unit": "KILOGRAM"}
    assert product.values["price"]["ecommerce"]["<all_locales>"] == [{"amount": "99.90", "currency": "EUR"}, {"amount": "107.90", "currency": "USD"}]
    history = product_history(product.id)
    assert len(history) == 1
    assert history[0]["author"] == "anna" and history[0]["source"] == "cli"
    assert history[0]["changes"]["name|en_US|"] == {"old": None, "new": "Trail boot"}


def test_update_merges_values_per_locale_and_channel(actor):
    create_product("BOOT_1", family="shoes", values=boots(), actor=actor)

    update_product("BOOT_1", values={"name": one("Trail boot II", locale="en_US")}, actor=actor)

    product = get_product("BOOT_1")
    assert product.values["name"]["<all_channels>"] == {"en_US": "Trail boot II", "de_DE": "Wanderstiefel"}
    assert product.version == 2
    changes = product_history(product.id)[0]["changes"]
    assert changes == {"name|en_US|": {"old": "Trail boot", "new": "Trail boot II"}}


def test_update_with_null_data_removes_the_value(actor):
    create_product("BOOT_1", family="shoes", values=boots(), actor=actor)

    update_product("BOOT_1", values={"name": one(None, locale="de_DE")}, actor=actor)

    assert get_product("BOOT_1").values["name"]["<all_channels>"] == {"en_US": "Trail boot"}


def test_unchanged_update_records_no_version(actor):
    create_product("BOOT_1", family="shoes", values=boots(), actor=actor)

    result = update_product("BOOT_1", values={"brand": one("nordlys")}, actor=actor)

    assert result.status == "unchanged"
    assert get_product("BOOT_1").version == 1


def test_stale_version_is_refused_with_a_conflict(actor):
    create_product("BOOT_1", family="shoes", values=boots(), actor=actor)
    update_product("BOOT_1", values={"brand": one("aurora")}, version=1, actor=actor)

    with pytest.raises(Conflict, match="changed by someone else"):
        update_product("BOOT_1", values={"brand": one("volga")}, version=1, actor=actor)

    assert get_product("BOOT_1").values["brand"]["<all_channels>"]["<all_locales>"] == "aurora"


@pytest.mark.parametrize(
    ("values", "field", "code", "words"),
    [
        ({"colour": one("red")}, "values.colour", "unknown", "does not exist"),
        ({"warranty_months": one("twelve")}, "values.warranty_months", "invalid_type", "expects a number"),
        ({"weight": one({"amount": "12,5", "unit": "KILOGRAM"})}, "values.weight", "invalid_type", "decimal separator"),
        ({"brand": one("acme")}, "values.brand", "unknown_option", "has no option 'acme'"),
        ({"weight": one({"amount": 1, "unit": "METER"})}, "values.weight", "unknown_unit", "expects a unit of Weight"),
        ({"price": one([{"amount": 10, "currency": "GBP"}], scope="ecommerce")}, "values.price.ecommerce", "unknown_currency", "'GBP'"),
        ({"name": one("Boot", locale="fr_FR")}, "values.name.fr_FR", "unknown_locale", "not active"),
        ({"name": one("Boot")}, "values.name", "required", "give the locale"),
        ({"price": one([{"amount": 10, "currency": "EUR"}])}, "values.price", "required", "give the channel"),
        ({"description": one("x", locale="ru_RU", scope="print")}, "values.description.ru_RU.print", "unknown_locale", "does not use"),
        ({"ean": one("123")}, "values.ean", "pattern", "does not match"),
        ({"name": one("x" * 151, locale="en_US")}, "values.name.en_US", "too_long", "150 characters"),
        ({"warranty_months": one(12.5)}, "values.warranty_months", "decimals_not_allowed", "decimals"),
        ({"warranty_months": one(-1)}, "values.warranty_months", "negative_not_allowed", "negative"),
        ({"release_date": one("1999-12-31")}, "values.release_date", "out_of_range", "on or after 2000-01-01"),
        ({"release_date": one("31.12.2024")}, "values.release_date", "invalid_format", "YYYY-MM-DD"),
        ({"is_organic": one("yes")}, "values.is_organic", "not_in_family", "not part of the family"),
        ({"image": one("aa/bb/missing.jpg")}, "values.image", "invalid_file", "does not exist"),
        ({"image": one("aa/bb/manual.pdf")}, "values.image", "invalid_file", "accepts files of type"),
    ],
)
def test_invalid_value_is_refused_with_where_and_why_and_nothing_is_written(actor, values, field, code, words):
    family = "electronics" if "warranty_months" in values else "shoes"
    with pytest.raises(Invalid) as caught:
        create_product("BOOT_1", family=family, values=boots(**values), actor=actor)

    error = caught.value.errors[0]
    assert (error.field, error.code) == (field, code)
    assert words in error.message and "BOOT_1" in error.message
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def test_comma_decimal_is_read_only_when_the_caller_asks(actor):
    report = upsert_products(
        [ProductInput("BOOT_1", family="shoes", values=boots(weight=one({"amount": "1,25", "unit": "KILOGRAM"})))],
        actor=actor,
        decimal_separator=",",
    )

    assert report.created == 1
    assert get_product("BOOT_1").values["weight"]["<all_channels>"]["<all_locales>"]["amount"] == "1.25"


@pytest.mark.parametrize("identifier", ["", "  ", "A,B", "A;B", " BOOT"])
def test_empty_or_malformed_identifier_is_refused(actor, identifier):
    report = upsert_products([ProductInput(identifier, family="shoes", values=boots())], actor=actor)

    assert report.created == 0 and report.rejected[0].errors[0].field == "identifier"


def test_duplicate_identifier_is_refused(actor):
    create_product("BOOT_1", family="shoes", values=boots(), actor=actor)

    with pytest.raises(Conflict, match="already exists"):
        create_product("BOOT_1", family="shoes", values=boots(ean=one("4600000000024")), actor=actor)


def test_an_identifier_in_other_case_names_the_same_product(actor):
    create_product("BOOT_1", family="shoes", values=boots(), actor=actor)

    with pytest.raises(Conflict, match="'boot_1' already exists as 'BOOT_1'"):
        create_product("boot_1", family="shoes", values=boots(ean=one("4600000000024")), actor=actor)
    report = upsert_products([ProductInput("Boot_1", values={"brand": one("volga")})], actor=actor)

    assert (report.created, report.updated) == (0, 1)
    assert list(db.session.scalars(select(Product.identifier))) == ["BOOT_1"]
    product = get_product("boot_1")
    assert product.identifier == "BOOT_1" and product.values["brand"]["<all_channels>"]["<all_locales>"] == "volga"
    assert list(db.session.scalars(select(Version.resource_code).where(Version.resource_id == product.id))) == ["BOOT_1", "BOOT_1"]


def test_identifiers_compare_ignoring_case_and_letter_composition_in_any_alphabet(actor):
    composed, decomposed = "\u0421\u0410\u041f\u041e\u0413-\u00c9T\u00c9", "\u0441\u0430\u043f\u043e\u0433-e\u0301te\u0301"
    create_product(composed, family="shoes", values=boots(), actor=actor)

    report = upsert_products([ProductInput(decomposed, values={"brand": one("volga")})], actor=actor)

    assert (report.created, report.updated) == (0, 1)
    assert get_product(decomposed).identifier == composed


def test_one_batch_naming_a_product_twice_in_other_cases_writes_both_in_order(actor):
    report = upsert_products([ProductInput("BOOT_1", family="shoes", values=boots()), ProductInput("boot_1", values={"brand": one("volga")})], actor=actor)

    assert (report.created, report.updated, report.rejected) == (1, 1, [])
    assert get_product("BOOT_1").values["brand"]["<all_channels>"]["<all_locales>"] == "volga"


def test_unique_value_taken_by_another_product_is_refused(actor):
    create_product("BOOT_1", family="shoes", values=boots(), actor=actor)

    with pytest.raises(Invalid, match="already used by product 'BOOT_1'"):
        create_product("BOOT_2", family="shoes", values=boots(), actor=actor)


def test_batch_rejects_only_the_invalid_products(actor):
    items = [
        ProductInput("BOOT_1", family="shoes", values=boots(), row=2),
        ProductInput("BOOT_2", family="shoes", values=boots(ean=one("4600000000024"), brand=one("acme")), row=3),
        ProductInput("BOOT_3", family="shoes", values=boots(ean=one("4600000000017")), row=4),
        ProductInput("BOOT_4", family="shoes", values=boots(ean=one("4600000000031")), row=5),
    ]

    report = upsert_products(items, actor=actor)

    assert (report.created, len(report.rejected)) == (2, 2)
    assert [(r.identifier, r.row, r.errors[0].code) for r in report.rejected] == [("BOOT_2", 3, "unknown_option"), ("BOOT_3", 4, "duplicate")]
    assert sorted(db.session.scalars(select(Product.identifier))) == ["BOOT_1", "BOOT_4"]


def test_unknown_category_and_family_are_refused(actor):
    report = upsert_products(
        [ProductInput("A1", family="shoes", categories=["nowhere"], values=boots()), ProductInput("A2", family="boats")],
        actor=actor,
    )

    assert [e.message for r in report.rejected for e in r.errors] == ["Category 'nowhere' does not exist", "Family 'boats' does not exist"]


def test_update_without_categories_keeps_the_products_category_links(actor):
    from pim.catalog.models import Category, ProductCategory

    create_product("BOOT_1", family="shoes", categories=["men_boots"], values=boots(), actor=actor)
    db.session.expunge_all()

    update_product("BOOT_1", values={"name": one("Trail boot II", locale="en_US")}, actor=actor)

    product = get_product("BOOT_1")
    linked = db.session.scalars(
        select(Category.code).join(ProductCategory, ProductCategory.category_id == Category.id).where(ProductCategory.product_id == product.id)
    )
    assert product.categories == ["men_boots"]
    assert sorted(linked) == ["men_boots"]


def test_completeness_is_stored_for_incomplete_pairs_only(actor):
    create_product("BOOT_1", family="shoes", values=boots(), actor=actor)
    product = get_product("BOOT_1")

    rows = {(r.channel_id, r.locale_id): r for r in db.session.scalars(select(Completeness).where(Completeness.product_id == product.id))}

    from pim.catalog.serialize import completeness_of

    by_pair = {(c["scope"], c["locale"]): c for c in completeness_of(product)}
    # pos needs name (ru_RU missing), price in RUB (missing) and ean
    assert by_pair[("pos", "ru_RU")]["missing"] == ["name", "price"]
    assert by_pair[("pos", "ru_RU")]["data"] == 50  # 2 of 4 (sku, ean present)
    assert len(rows) == len([c for c in by_pair.values() if c["data"] < 100])


def test_price_counts_only_with_every_currency_of_the_channel(actor):
    create_product("BOOT_1", family="shoes", values=boots(price=one([{"amount": 99, "currency": "EUR"}], scope="ecommerce")), actor=actor)

    from pim.catalog.serialize import completeness_of

    ecommerce = [c for c in completeness_of(get_product("BOOT_1")) if c["scope"] == "ecommerce"]
    assert all("price" in c["missing"] for c in ecommerce)


def _shoe_model(actor):
    save_product_model(
        ProductModelInput(
            "TRAIL", family_variant="shoes_color_size", values={"name": one("Trail", locale="en_US"), "brand": one("nordlys")}, categories=["men_boots"]
        ),
        actor=actor,
    )
    save_product_model(ProductModelInput("TRAIL_RED", parent="TRAIL", values={"color": one("red")}), actor=actor)


def test_variant_inherits_values_and_categories_from_its_models(actor):
    _shoe_model(actor)

    create_product("TRAIL_RED_42", parent="TRAIL_RED", values={"size": one("eu_42"), "ean": one("4600000000017")}, actor=actor)

    from pim.catalog.serialize import product_to_standard

    data = product_to_standard(get_product("TRAIL_RED_42"))
    assert data["family"] == "shoes" and data["parent"] == "TRAIL_RED"
    assert data["values"]["brand"][0]["data"] == "nordlys" and data["values"]["color"][0]["data"] == "red"
    assert data["categories"] == ["men_boots"]


def test_model_codes_ignore_case_as_identifiers_do(actor):
    _shoe_model(actor)

    create_product("TRAIL_RED_42", parent="trail_red", values={"size": one("eu_42"), "ean": one("4600000000017")}, actor=actor)
    save_product_model(ProductModelInput("Trail_Red", values={"color": one("blue")}), actor=actor)

    assert get_product("TRAIL_RED_42").parent_id == get_product_model("TRAIL_RED").id
    assert get_product_model("trail_red").values["color"]["<all_channels>"]["<all_locales>"] == "blue"
    assert db.session.scalar(select(func.count()).select_from(ProductModel)) == 2
    assert [p.identifier for p in list_products(ProductQuery(filters={"parent": [{"operator": "=", "value": "trail"}]})).items] == ["TRAIL_RED_42"]


def test_a_sub_model_written_in_other_case_keeps_its_own_axis_values(actor):
    _shoe_model(actor)

    save_product_model(ProductModelInput("trail_red", categories=["women_boots"]), actor=actor)

    assert get_product_model("TRAIL_RED").categories == ["women_boots"]


def test_one_call_naming_a_model_twice_in_other_cases_writes_both_in_order(actor):
    results = save_product_models(
        [
            ProductModelInput("TRAIL", family_variant="shoes_color_size", values={"brand": one("nordlys")}),
            ProductModelInput("trail", values={"brand": one("volga")}),
        ],
        actor=actor,
    )

    assert [r.status for r in results] == ["created", "updated"]
    assert get_product_model("TRAIL").values["brand"]["<all_channels>"]["<all_locales>"] == "volga"


def test_variant_axis_combination_taken_is_refused(actor):
    _shoe_model(actor)
    create_product("TRAIL_RED_42", parent="TRAIL_RED", values={"size": one("eu_42")}, actor=actor)

    with pytest.raises(Invalid, match="already has the axis values size=eu_42"):
        create_product("TRAIL_RED_42B", parent="TRAIL_RED", values={"size": one("eu_42")}, actor=actor)


def test_variant_needs_its_axis_value(actor):
    _shoe_model(actor)

    with pytest.raises(Invalid, match="Variant axis 'size' needs a value"):
        create_product("TRAIL_RED_X", parent="TRAIL_RED", values={}, actor=actor)


def test_variant_cannot_set_a_value_its_model_holds(actor):
    _shoe_model(actor)

    with pytest.raises(Invalid, match="'brand' is not part of the variant level"):
        create_product("TRAIL_RED_42", parent="TRAIL_RED", values={"size": one("eu_42"), "brand": one("aurora")}, actor=actor)


def test_changing_a_model_value_recomputes_its_variants_completeness(actor):
    _shoe_model(actor)
    create_product("TRAIL_RED_42", parent="TRAIL_RED", values={"size": one("eu_42")}, actor=actor)
    from pim.catalog.serialize import completeness_of

    before = {(c["scope"], c["locale"]): c for c in completeness_of(get_product("TRAIL_RED_42"))}
    assert "name" in before[("ecommerce", "de_DE")]["missing"]

    save_product_model(ProductModelInput("TRAIL", values={"name": one("Trail", locale="de_DE")}), actor=actor)

    after = {(c["scope"], c["locale"]): c for c in completeness_of(get_product("TRAIL_RED_42"))}
    assert "name" not in after[("ecommerce", "de_DE")]["missing"]


def test_revert_restores_an_earlier_version_as_a_new_version(actor):
    create_product("BOOT_1", family="shoes", values=boots(), actor=actor)
    update_product("BOOT_1", values={"brand": one("aurora"), "name": one(None, locale="de_DE")}, enabled=False, actor=actor)

    result = revert_product("BOOT_1", 1, actor=actor)

    product = get_product("BOOT_1")
    assert result.version == 3
    assert product.values["brand"]["<all_channels>"]["<all_locales>"] == "nordlys"
    assert product.values["name"]["<all_channels>"]["de_DE"] == "Wanderstiefel"
    assert product.is_enabled is True
    assert product_history(product.id)[0]["source"] == "revert"


def test_delete_product_keeps_its_history(actor):
    create_product("BOOT_1", family="shoes", values=boots(), actor=actor)
    product_id = get_product("BOOT_1").id

    delete_product("BOOT_1", actor=actor)

    assert db.session.scalar(select(func.count()).select_from(Product)) == 0
    history = product_history(product_id)
    assert history[0]["changes"]["deleted"] == {"old": False, "new": True}


def test_delete_product_removes_what_was_derived_from_it_and_nothing_else(actor):
    from pim.catalog.models import ProductCategory, ProductFacet, ProductNumber, ProductText, UniqueValue

    create_product("BOOT_1", family="shoes", categories=["men_boots"], values=boots(), actor=actor)
    create_product("BOOT_2", family="shoes", categories=["men_boots"], values=boots(ean=one("4600000000024")), actor=actor)
    gone, kept = get_product("BOOT_1").id, get_product("BOOT_2").id
    tables = (ProductCategory, Completeness, UniqueValue, ProductFacet, ProductNumber, ProductText)

    def counts(product_id):
        return {t.__tablename__: db.session.scalar(select(func.count()).select_from(t).where(t.product_id == product_id)) for t in tables}

    before = counts(kept)
    assert all(before.values()), before

    delete_product("BOOT_1", actor=actor)

    assert set(counts(gone).values()) == {0}
    assert counts(kept) == before
    # the EAN is free again
    assert create_product("BOOT_3", family="shoes", values=boots(), actor=actor).status == "created"


def test_associations_link_products_with_quantities_for_packs(actor):
    create_product("BOOT_1", family="shoes", values=boots(), actor=actor)
    create_product(
        "BOOT_2",
        family="shoes",
        values=boots(ean=one("4600000000024")),
        associations={"X_SELL": {"products": ["BOOT_1"]}},
        quantified_associations={"PACK": {"products": [{"identifier": "BOOT_1", "quantity": 2}]}},
        actor=actor,
    )

    from pim.catalog.serialize import product_to_standard

    data = product_to_standard(get_product("BOOT_2"))
    assert data["associations"] == {"X_SELL": {"products": ["BOOT_1"]}}
    assert data["quantified_associations"] == {"PACK": {"products": [{"identifier": "BOOT_1", "quantity": 2}]}}


def test_association_targets_are_found_in_any_case_and_rewriting_them_so_changes_nothing(actor):
    create_product("BOOT_1", family="shoes", values=boots(), actor=actor)
    create_product("BOOT_2", family="shoes", values=boots(ean=one("4600000000024")), associations={"X_SELL": {"products": ["boot_1"]}}, actor=actor)

    report = upsert_products([ProductInput("BOOT_2", associations={"X_SELL": {"products": ["Boot_1"]}})], actor=actor)

    from pim.catalog.serialize import product_to_standard

    assert (report.updated, report.unchanged) == (0, 1)
    assert product_to_standard(get_product("BOOT_2"))["associations"] == {"X_SELL": {"products": ["BOOT_1"]}}
    # a target named twice is linked once, and naming it twice again changes nothing
    twice = ProductInput("BOOT_2", associations={"X_SELL": {"products": ["BOOT_1", "boot_1"]}})
    assert upsert_products([twice], actor=actor).unchanged == 1


def test_association_to_an_unknown_product_is_refused(actor):
    with pytest.raises(Invalid, match="Product 'GHOST' does not exist"):
        create_product("BOOT_2", family="shoes", values=boots(), associations={"X_SELL": {"products": ["GHOST"]}}, actor=actor)


def test_a_batch_the_database_refuses_is_retried_product_by_product(actor):
    """Two products of one batch claim the same UUID: only the database notices; the first is kept."""
    shared = "0b7e5a9e-2f7c-4c55-9b56-54a1b7e0c001"
    items = [
        ProductInput("BOOT_1", family="shoes", values=boots(), uuid=shared),
        ProductInput("BOOT_2", family="shoes", values=boots(ean=one("4600000000024")), uuid=shared),
        ProductInput("BOOT_3", family="shoes", values=boots(ean=one("4600000000031"))),
    ]

    report = upsert_products(items, actor=actor)

    assert report.created == 2
    assert [(r.identifier, r.errors[0].field) for r in report.rejected] == [("BOOT_2", "uuid")]
    assert str(get_product("BOOT_1").uuid) == shared
    assert sorted(db.session.scalars(select(Product.identifier))) == ["BOOT_1", "BOOT_3"]


def test_a_long_load_that_forgets_models_between_batches_still_finds_them(actor, monkeypatch):
    from pim.catalog import services

    monkeypatch.setattr(services._Lookups, "MAX_MODELS", 1)
    for colour in ("red", "blue"):
        save_product_model(ProductModelInput(f"TRAIL_{colour.upper()}", family_variant="apparel_size", values={"color": one(colour)}), actor=actor)
    items = [ProductInput(f"TRAIL_{c.upper()}_{s}", parent=f"TRAIL_{c.upper()}", values={"size": one(s)}) for c in ("red", "blue") for s in ("s", "m")]

    report = upsert_products(items, actor=actor, batch_size=1)

    assert (report.created, report.rejected) == (4, [])
