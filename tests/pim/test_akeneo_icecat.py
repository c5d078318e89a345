"""Akeneo's icecat demo catalogue, a real third-party catalogue, loaded through our services.

The catalogue is loaded once per backend for the whole module; each test then reads it inside
a savepoint that is rolled back, so a test that writes leaves the next one the same catalogue.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from sqlalchemy import func, select

from pim import db
from pim.actor import Actor, Source
from pim.catalog.models import Category, Completeness, Product, ProductCategory, ProductModel
from pim.catalog.serialize import completeness_of, inherited_values, product_to_standard
from pim.catalog.services import get_product
from pim.catalog.values import get_value
from pim.structure.models import (
    AssociationType,
    Attribute,
    AttributeGroup,
    AttributeOption,
    Channel,
    Currency,
    Family,
    FamilyVariant,
    Locale,
    MeasurementFamily,
)
from pim.structure.services import STANDARD_MEASUREMENTS, ensure_locale
from tests.conftest import SHARED_DATA
from tests.pim.akeneo_icecat import MEDIA_TYPES, MODEL_FIELDS, PRODUCT_FIELDS, IcecatCatalogue, IcecatLoad, load_icecat, read_rows, split_list

ICECAT = SHARED_DATA / "akeneo-icecat"

pytestmark = pytest.mark.skipif(not ICECAT.is_dir(), reason=f"Akeneo's icecat demo catalogue is not in {ICECAT}")


@cache
def rows(name: str) -> list[dict[str, str]]:
    """Return the rows of one of the icecat files (read once per run)."""
    return read_rows(ICECAT, name)


@cache
def catalogue() -> IcecatCatalogue:
    """Return the icecat files with the column translation the loader uses."""
    return IcecatCatalogue(ICECAT)


def count(model: Any) -> int:
    """Return how many rows a table holds."""
    return db.session.scalar(select(func.count()).select_from(model))


def data_of(product: dict[str, Any], code: str, locale: str | None = None, scope: str | None = None) -> Any:
    """Return the data of one value of a product in the standard format, or None."""
    for entry in product["values"].get(code, []):
        if (entry["locale"], entry["scope"]) == (locale, scope):
            return entry["data"]
    return None


@pytest.fixture(scope="module")
def icecat_database(app: Any) -> Iterator[tuple[IcecatLoad, Any]]:
    """The icecat catalogue loaded once in a transaction that is rolled back after the module."""
    engine = app.extensions["pim_engine"]
    connection = engine.connect()
    transaction = connection.begin()
    db.session.remove()
    db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
    with app.app_context():
        yield load_icecat(ICECAT, actor=Actor("akeneo_icecat", Source.IMPORT)), connection
    db.session.remove()
    transaction.rollback()
    connection.close()
    db.session.configure(bind=engine, join_transaction_mode="conservative_savepoint")


@pytest.fixture
def icecat(icecat_database: tuple[IcecatLoad, Any]) -> Iterator[IcecatLoad]:
    """The loaded catalogue and its load report; what the test writes is rolled back."""
    load, connection = icecat_database
    db.session.remove()
    savepoint = connection.begin_nested()
    yield load
    db.session.remove()
    savepoint.rollback()


# --- structure ----------------------------------------------------------------------------


def test_structure_has_every_row_of_the_structure_files(icecat):
    assert count(Family) == len(rows("families.csv")) == 17
    assert count(FamilyVariant) == len(rows("family_variants.csv")) == 9
    assert count(Attribute) == len(rows("attributes.csv")) == 77
    assert count(AttributeOption) == len(rows("attribute_options.csv")) == 121
    assert count(AttributeGroup) == len(rows("attribute_groups.csv")) == 11
    assert count(Category) == len(rows("categories.csv")) == 168
    assert sorted(db.session.scalars(select(Category.code).where(Category.parent_id.is_(None)))) == ["master", "print", "sales", "suppliers"]
    assert sorted(db.session.scalars(select(AssociationType.code))) == ["PACK", "SUBSTITUTION", "UPSELL", "X_SELL"]
    assert count(Currency) == len(rows("currencies.csv")) == 294
    assert sorted(db.session.scalars(select(Currency.code).where(Currency.is_enabled))) == ["EUR", "USD"]
    channels = {c.code: c for c in db.session.scalars(select(Channel))}
    assert sorted(channels) == ["ecommerce", "mobile", "print"]
    assert sorted(locale.code for locale in channels["ecommerce"].locales) == ["de_DE", "en_US", "fr_FR"]
    assert sorted(c.code for c in channels["ecommerce"].currencies) == ["EUR", "USD"]


def test_family_keeps_its_attributes_label_image_and_requirements_per_channel(icecat):
    families = {f.code: f for f in db.session.scalars(select(Family))}

    for row in rows("families.csv"):
        family = families[row["code"]]
        assert {a.code for a in family.attributes} == set(split_list(row["attributes"])), row["code"]
        assert family.attribute_as_label.code == row["attribute_as_label"], row["code"]
        assert family.attribute_as_image.code == row["attribute_as_image"], row["code"]
        for channel in ("ecommerce", "mobile", "print"):
            required = {r.attribute.code for r in family.requirements if r.channel.code == channel}
            assert required == set(split_list(row[f"requirements-{channel}"])), (row["code"], channel)
    assert families["clothing"].attribute_as_label.code == "variation_name"


def test_attribute_keeps_its_type_dimensions_and_rules(icecat):
    attributes = {a.code: a for a in db.session.scalars(select(Attribute))}

    for row in rows("attributes.csv"):
        attribute = attributes[row["code"]]
        assert attribute.type.value == row["type"], row["code"]
        assert attribute.group.code == row["group"], row["code"]
        assert attribute.labels == {k[len("label-") :]: v for k, v in row.items() if k.startswith("label-") and v}, row["code"]
        assert (attribute.is_localizable, attribute.is_scopable, attribute.is_unique) == (
            row["localizable"] == "1",
            row["scopable"] == "1",
            row["unique"] == "1",
        ), row["code"]
        assert (attribute.metric_family or "", attribute.default_metric_unit or "") == (row["metric_family"], row["default_metric_unit"])
        if row["decimals_allowed"]:
            assert attribute.is_decimals_allowed is (row["decimals_allowed"] == "1"), row["code"]
        if row["negative_allowed"]:
            assert attribute.is_negative_allowed is (row["negative_allowed"] == "1"), row["code"]
        assert sorted(attribute.allowed_extensions or []) == sorted(split_list(row["allowed_extensions"])), row["code"]


def test_metric_attributes_use_the_standard_measurements_with_akeneo_unit_codes(icecat):
    metric_rows = [r for r in rows("attributes.csv") if r["metric_family"]]
    units_used = {(r["metric_family"], p[f"{r['code']}-unit"]) for r in metric_rows for p in rows("products.csv") if p.get(f"{r['code']}-unit")}

    installed = {f.code: {u.code for u in f.units} for f in db.session.scalars(select(MeasurementFamily))}
    assert {r["metric_family"] for r in metric_rows} == {"Weight", "Length"} <= set(STANDARD_MEASUREMENTS)
    assert units_used == {("Weight", "GRAM"), ("Weight", "KILOGRAM"), ("Length", "INCH")}
    assert all(unit in installed[family] for family, unit in units_used)
    assert all(r["default_metric_unit"] in installed[r["metric_family"]] for r in metric_rows)


# --- product models and products ------------------------------------------------------------


def test_every_product_model_is_loaded_at_its_level(icecat):
    assert icecat.rejected_models == {}
    assert count(ProductModel) == len(rows("product_models.csv")) == 81
    sub_models = db.session.scalar(select(func.count()).select_from(ProductModel).where(ProductModel.parent_id.is_not(None)))
    assert sub_models == 31


def test_every_product_is_loaded_with_variants_naming_their_model_in_another_letter_case(icecat):
    report = icecat.products
    file_rows = rows("products.csv")
    model_codes = {r["code"] for r in rows("product_models.csv")}
    # as in Akeneo, whose MySQL tables compare codes without regard to case
    other_case = [r for r in file_rows if r["parent"] and r["parent"] not in model_codes]

    assert (report.created, len(report.rejected), report.processed) == (len(file_rows), 0, len(file_rows)) == (1239, 0, 1239)
    assert count(Product) == 1239
    assert len(other_case) == 18
    for row in other_case:
        parent = db.session.get(ProductModel, get_product(row["sku"]).parent_id)
        assert parent.code != row["parent"] and parent.code.lower() == row["parent"].lower()


def test_media_cells_are_counted_as_left_out(icecat):
    media_attributes = {r["code"] for r in rows("attributes.csv") if r["type"] in MEDIA_TYPES}
    filled = [
        header
        for name in ("product_models.csv", "products.csv")
        for row in rows(name)
        for header, cell in row.items()
        if cell and header.split("-")[0] in media_attributes
    ]

    assert sorted(icecat.media_cells.elements()) == sorted(filled)
    assert set(icecat.media_cells) == {"image", "picture", "variation_image"}


def test_association_step_has_nothing_to_load_because_the_files_hold_no_associations(icecat):
    association_headers = [h for h in rows("products.csv")[0] if h.split("-")[0] in {"X_SELL", "UPSELL", "SUBSTITUTION", "PACK"}]

    assert len(association_headers) == 8
    assert not any(row[h] for row in rows("products.csv") for h in [*association_headers, "groups"])
    assert icecat.associations.processed == 0


def _same(attribute_type: str, cell: str, stored: Any, row: dict[str, str], header: str, currency: str | None) -> bool:
    """Tell whether a stored value is what a CSV cell says, read the way Akeneo reads it."""
    if currency is not None:
        amounts = {p["currency"]: Decimal(p["amount"]) for p in stored}
        return amounts.get(currency) == Decimal(cell)
    if attribute_type == "pim_catalog_metric":
        return Decimal(stored["amount"]) == Decimal(cell) and stored["unit"] == row[f"{header}-unit"]
    if attribute_type == "pim_catalog_number":
        return Decimal(stored) == Decimal(cell)
    if attribute_type == "pim_catalog_boolean":
        return stored is (cell == "1")
    if attribute_type == "pim_catalog_multiselect":
        return stored == split_list(cell)
    return stored == cell


def _differences(file_rows: list[dict[str, str]], fields: set[str], key: str, effective: dict[str, dict[str, Any]]) -> tuple[int, list[tuple[str, str]]]:
    """Compare every filled value cell of loaded rows with the stored values; return (compared, differing)."""
    icecat = catalogue()
    columns = icecat.value_columns(list(file_rows[0]), fields)
    compared, differing = 0, []
    for row in file_rows:
        values = effective.get(row[key])
        if values is None:
            continue
        for header, column in columns.items():
            attribute_type = icecat.attributes[column.attribute]["type"]
            cell = row[header]
            if not cell or column.is_unit or attribute_type in MEDIA_TYPES or attribute_type == "pim_catalog_identifier":
                continue
            compared += 1
            stored = get_value(values, column.attribute, column.locale, column.scope)
            if stored is None or not _same(attribute_type, cell, stored, row, header, column.currency):
                differing.append((row[key], header))
    return compared, differing


def test_every_value_cell_of_products_csv_is_stored_as_given(icecat):
    """Variant rows repeat their models' values; these must equal what the models hold."""
    effective = {p.identifier: {**inherited_values(p), **p.values} for p in db.session.scalars(select(Product))}

    compared, differing = _differences(rows("products.csv"), PRODUCT_FIELDS, "sku", effective)

    assert (compared, differing) == (8507, [])


def test_every_value_cell_of_product_models_csv_is_stored_as_given(icecat):
    models = {m.id: m for m in db.session.scalars(select(ProductModel))}
    effective = {m.code: {**(models[m.parent_id].values if m.parent_id else {}), **m.values} for m in models.values()}

    compared, differing = _differences(rows("product_models.csv"), MODEL_FIELDS, "code", effective)

    assert (compared, differing) == (570, [])


def test_every_product_is_classified_in_the_categories_of_its_row(icecat):
    by_product: dict[str, set[str]] = {}
    for identifier, category in db.session.execute(
        select(Product.identifier, Category.code)
        .join(ProductCategory, ProductCategory.product_id == Product.id)
        .join(Category, Category.id == ProductCategory.category_id)
    ):
        by_product.setdefault(identifier, set()).add(category)
    loaded = set(db.session.scalars(select(Product.identifier)))

    expected = {r["sku"]: set(split_list(r["categories"])) for r in rows("products.csv") if r["sku"] in loaded}

    assert {k: v for k, v in by_product.items() if v} == {k: v for k, v in expected.items() if v}


def test_simple_product_values_round_trip(icecat):
    row = next(r for r in rows("products.csv") if r["sku"] == "11699224")

    data = product_to_standard(get_product("11699224"))

    assert (data["family"], data["parent"], data["enabled"]) == ("pc_monitors", None, True)
    assert sorted(data["categories"]) == ["hp", "pc_monitors", "tvs_projectors_sales"]
    assert data_of(data, "name") == "HP LE2002xi"
    assert data_of(data, "display_diagonal") == {"amount": "20", "unit": "INCH", "base_data": "0.508", "base_unit": "METER"}
    assert data_of(data, "weight") == {"amount": "3", "unit": "KILOGRAM", "base_data": "3", "base_unit": "KILOGRAM"}
    assert (data_of(data, "display_color"), data_of(data, "display_srgb"), data_of(data, "response_time")) == (False, False, "5")
    assert data_of(data, "release_date", scope="ecommerce") == "2011-11-10"
    assert {(e["locale"], e["scope"]) for e in data["values"]["description"]} == {("de_DE", "print"), ("en_US", "print"), ("fr_FR", "print")}
    description = data_of(data, "description", "en_US", "print")
    assert description == row["description-en_US-print"]
    assert description.startswith("<b>HP Compaq LE2002xi 50,8 cm (20”) LCD Monitor with IWC Stand</b>")


def test_variant_product_inherits_price_and_description_from_its_models(icecat):
    product = get_product("1111111119")

    data = product_to_standard(product)

    assert sorted(product.values) == ["ean", "size", "weight"]
    assert (data["family"], data["parent"]) == ("clothing", "apollon_blue")
    assert data_of(data, "price") == [{"amount": "899.00", "currency": "EUR"}]
    assert data_of(data, "description", "en_US", "ecommerce") == (
        "Long gray suit jacket and matching pants unstructured. 61% wool, 30% polyester, 9% ramie. Dry clean only."
    )
    assert data_of(data, "color") == "blue"  # from the sub-model apollon_blue
    assert data_of(data, "collection") == ["winter_2016"]  # from the root model apollon
    assert data_of(data, "size") == "xxl"
    assert data_of(data, "weight") == {"amount": "800", "unit": "GRAM", "base_data": "0.8", "base_unit": "KILOGRAM"}
    assert sorted(data["categories"]) == ["master_men_blazers_deals", "supplier_zaro"]


def test_product_without_family_keeps_its_values_and_has_no_completeness(icecat):
    product = get_product("AKNSTK")

    data = product_to_standard(product)

    assert data["family"] is None and completeness_of(product) == []
    assert data_of(data, "main_color") == "purple"
    assert data_of(data, "price") == [{"amount": "2.00", "currency": "EUR"}, {"amount": "3.00", "currency": "USD"}]


# --- completeness -----------------------------------------------------------------------------


def _missing_in_row(row: dict[str, str], required: list[str], channel: str, locale: str, currencies: list[str]) -> list[str]:
    """Return the required attributes a products.csv row leaves empty for a channel and locale."""
    attributes = catalogue().attributes
    missing = []
    for code in required:
        attribute = attributes[code]
        if attribute["type"] == "pim_catalog_identifier":
            continue
        header = code
        if attribute["localizable"] == "1":
            header += f"-{locale}"
        if attribute["scopable"] == "1":
            header += f"-{channel}"
        if attribute["type"] in MEDIA_TYPES:
            missing.append(code)  # the files are not in the data set, so media values are never loaded
        elif attribute["type"] == "pim_catalog_price_collection":
            if not all(row.get(f"{header}-{currency}") for currency in currencies):
                missing.append(code)
        elif not row.get(header):
            missing.append(code)
    return missing


def test_completeness_for_ecommerce_en_us_follows_each_family_s_requirements(icecat):
    """A variant row holds every value it inherits, so the row alone says what is filled."""
    requirements = {r["code"]: split_list(r["requirements-ecommerce"]) for r in rows("families.csv")}
    stored = dict(
        db.session.execute(
            select(Product.identifier, Completeness.missing_attributes)
            .join(Completeness, Completeness.product_id == Product.id)
            .join(Channel, Channel.id == Completeness.channel_id)
            .join(Locale, Locale.id == Completeness.locale_id)
            .where(Channel.code == "ecommerce", Locale.code == "en_US")
        ).all()
    )
    loaded = set(db.session.scalars(select(Product.identifier)))

    expected = {
        r["sku"]: _missing_in_row(r, requirements[r["family"]], "ecommerce", "en_US", ["EUR", "USD"])
        for r in rows("products.csv")
        if r["sku"] in loaded and r["family"]
    }

    assert {k: sorted(v) for k, v in stored.items()} == {k: sorted(v) for k, v in expected.items() if v}
    assert 0 < len(stored) < len(expected)


def test_variant_completeness_counts_inherited_values_and_misses_the_media(icecat):
    row = next(r for r in rows("families.csv") if r["code"] == "clothing")

    by_pair = {(c["scope"], c["locale"]): c for c in completeness_of(get_product("1111111119"))}

    required = ["collection", "color", "description", "ean", "size", "sku", "variation_image", "variation_name"]
    assert split_list(row["requirements-ecommerce"]) == required
    assert by_pair[("ecommerce", "en_US")] == {"scope": "ecommerce", "locale": "en_US", "data": 87, "required": 8, "missing": ["variation_image"]}


# --- locales ------------------------------------------------------------------------------------


def test_every_locale_of_akeneo_s_locale_list_is_accepted(icecat):
    for row in rows("locales.csv"):
        ensure_locale(row["code"])

    assert count(Locale) == len(rows("locales.csv"))
