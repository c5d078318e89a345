"""Load Akeneo's icecat demo catalogue (its flat CSV files) through our services.

This is the small translation the tests need to treat Akeneo's demo data as a real
third-party catalogue: the structure files first, then product models, products and their
associations; each row becomes the arguments of one of our services, and every product goes
through `upsert_products`. It is not the user-facing importer.

Two things of Akeneo's flat format are not loaded:
- media cells (`picture`, `image`, `notice`...) name files that are not part of the data set;
- a variant product's row (and a sub-model's) repeats every value and category it inherits,
  because Akeneo's export writes the whole product. This loader keeps only the values of the
  row's own variant level (our services refuse the others), and the tests check that what it
  leaves out equals what the models hold.
"""

from __future__ import annotations

import csv
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pim import db
from pim.actor import Actor
from pim.catalog.categories import create_category
from pim.catalog.models import identifier_key
from pim.catalog.services import UNSET, ProductInput, ProductModelInput, UpsertReport, save_product_model, upsert_products
from pim.errors import Invalid
from pim.structure.models import AttributeType, MeasurementFamily
from pim.structure.services import (
    create_association_type,
    create_attribute,
    create_attribute_options,
    create_channel,
    create_family,
    create_family_variant,
    ensure_attribute_group,
    ensure_currency,
    install_standard_measurements,
)

MEDIA_TYPES = {AttributeType.IMAGE.value, AttributeType.FILE.value}
PRODUCT_FIELDS = {"sku", "categories", "enabled", "family", "parent", "groups"}
MODEL_FIELDS = {"code", "family_variant", "parent", "categories"}
ASSOCIATION_KINDS = {"products", "product_models", "groups"}


def read_rows(folder: Path, name: str) -> list[dict[str, str]]:
    """Read one of Akeneo's `;`-separated UTF-8 files into dicts keyed by header."""
    with (folder / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def split_list(cell: str | None) -> list[str]:
    """Split a comma-separated cell ("a,b") into its codes."""
    return [part.strip() for part in (cell or "").split(",") if part.strip()]


def labels_of(row: Mapping[str, str]) -> dict[str, str]:
    """Collect the `label-<locale>` cells of a row that are filled."""
    return {key[len("label-") :]: value for key, value in row.items() if key.startswith("label-") and value}


@dataclass(frozen=True)
class Column:
    """What one value column of products.csv or product_models.csv holds."""

    attribute: str
    locale: str | None = None
    scope: str | None = None
    currency: str | None = None
    is_unit: bool = False


def parse_column(header: str, attributes: Mapping[str, Mapping[str, str]]) -> Column:
    """Read a value column header: `<attr>[-<locale>][-<channel>][-<currency>|-unit]`."""
    code, *parts = header.split("-")
    attribute = attributes[code]
    column: dict[str, Any] = {"attribute": code}
    if attribute["localizable"] == "1":
        column["locale"] = parts.pop(0)
    if attribute["scopable"] == "1":
        column["scope"] = parts.pop(0)
    if parts and attribute["type"] == AttributeType.PRICE_COLLECTION.value:
        column["currency"] = parts.pop(0)
    elif parts == ["unit"] and attribute["type"] == AttributeType.METRIC.value:
        column["is_unit"] = True
        parts = []
    if parts:
        raise ValueError(f"Column {header!r} has parts {parts!r} that attribute {code!r} does not take")
    return Column(**column)


def cell_data(attribute_type: str, cell: str) -> Any:
    """Turn one filled cell into standard-format data for its attribute type (not prices or metrics)."""
    if attribute_type == AttributeType.BOOLEAN.value:
        return {"1": True, "0": False}.get(cell, cell)
    if attribute_type == AttributeType.MULTI_SELECT.value:
        return split_list(cell)
    return cell


@dataclass
class RowValues:
    """The standard-format values of one row and the headers of the media cells left out."""

    values: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    media: list[str] = field(default_factory=list)


def row_values(row: Mapping[str, str], columns: Mapping[str, Column], attributes: Mapping[str, Mapping[str, str]]) -> RowValues:
    """Translate the value cells of a row into standard-format values; prices group per currency."""
    result = RowValues()
    prices: dict[tuple[str, str | None, str | None], list[dict[str, str]]] = defaultdict(list)
    for header, column in columns.items():
        cell = row.get(header) or ""
        if not cell or column.is_unit:
            continue
        attribute_type = attributes[column.attribute]["type"]
        if attribute_type in MEDIA_TYPES:
            result.media.append(header)
            continue
        if attribute_type == AttributeType.IDENTIFIER.value:
            continue
        if column.currency is not None:
            prices[(column.attribute, column.locale, column.scope)].append({"amount": cell, "currency": column.currency})
            continue
        if attribute_type == AttributeType.METRIC.value:
            data: Any = {"amount": cell, "unit": row.get(f"{header}-unit") or None}
        else:
            data = cell_data(attribute_type, cell)
        result.values.setdefault(column.attribute, []).append({"locale": column.locale, "scope": column.scope, "data": data})
    for (code, locale, scope), amounts in prices.items():
        result.values.setdefault(code, []).append({"locale": locale, "scope": scope, "data": amounts})
    return result


@dataclass
class IcecatLoad:
    """What loading the catalogue did: the product report, refused models, what was left out."""

    products: UpsertReport
    associations: UpsertReport
    rejected_models: dict[str, Invalid] = field(default_factory=dict)
    media_cells: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


class IcecatCatalogue:
    """Akeneo's icecat files in a folder, and the translation of their rows."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.attributes = {row["code"]: row for row in read_rows(folder, "attributes.csv")}
        self.variants = {row["code"]: row for row in read_rows(folder, "family_variants.csv")}
        # by identifier_key(code): the file's variants name some models in another letter case
        self.models = {identifier_key(row["code"]): row for row in read_rows(folder, "product_models.csv")}
        self.association_types = [row["code"] for row in read_rows(folder, "association_types.csv")]

    def level_attributes(self, variant: str, level: int) -> set[str]:
        """Return the attributes (axes included) a family variant sets at a level."""
        row = self.variants[variant]
        return {*split_list(row[f"variant-axes_{level}"]), *split_list(row[f"variant-attributes_{level}"])}

    def level_count(self, variant: str) -> int:
        """Return how many levels of variation a family variant has (1 or 2)."""
        return 2 if split_list(self.variants[variant]["variant-axes_2"]) else 1

    def value_columns(self, headers: list[str], fields: set[str]) -> dict[str, Column]:
        """Return the value columns among a file's headers (not fields, not associations)."""
        return {h: parse_column(h, self.attributes) for h in headers if h not in fields and h.split("-")[0] not in self.association_types}

    def ancestors(self, model_code: str) -> list[dict[str, str]]:
        """Return the rows of a product model and its parent model, root first."""
        row = self.models[identifier_key(model_code)]
        return [self.models[identifier_key(row["parent"])], row] if row["parent"] else [row]

    # --- structure ---------------------------------------------------------------------------

    def load_structure(self) -> None:
        """Create currencies, categories, channels, association types, attributes, families, variants."""
        self._load_measurements()
        for row in read_rows(self.folder, "currencies.csv"):
            ensure_currency(row["code"], is_enabled=row["activated"] == "1")
        for row in read_rows(self.folder, "categories.csv"):
            create_category(row["code"], parent=row["parent"] or None, labels=labels_of(row))
        for row in read_rows(self.folder, "channels.csv"):
            create_channel(
                row["code"],
                locales=split_list(row["locales"]),
                currencies=split_list(row["currencies"]),
                category_tree=row["tree"],
                labels=labels_of(row),
            )
        for row in read_rows(self.folder, "association_types.csv"):
            create_association_type(row["code"], labels=labels_of(row))
        for row in read_rows(self.folder, "attribute_groups.csv"):
            ensure_attribute_group(row["code"], labels=labels_of(row), sort_order=int(row["sort_order"] or 0))
        for row in self.attributes.values():
            create_attribute(row["code"], **attribute_arguments(row))
        options: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in read_rows(self.folder, "attribute_options.csv"):
            options[row["attribute"]].append({"code": row["code"], "labels": labels_of(row), "sort_order": int(row["sort_order"] or 0)})
        for attribute, attribute_options in options.items():
            create_attribute_options(attribute, attribute_options)
        for row in read_rows(self.folder, "families.csv"):
            channels = [key[len("requirements-") :] for key in row if key.startswith("requirements-")]
            create_family(
                row["code"],
                attributes=split_list(row["attributes"]),
                labels=labels_of(row),
                attribute_as_label=row["attribute_as_label"] or None,
                attribute_as_image=row["attribute_as_image"] or None,
                requirements={channel: split_list(row[f"requirements-{channel}"]) for channel in channels},
            )
        for code, row in self.variants.items():
            levels = [
                {"axes": split_list(row[f"variant-axes_{n}"]), "attributes": split_list(row[f"variant-attributes_{n}"])}
                for n in range(1, self.level_count(code) + 1)
            ]
            create_family_variant(code, family=row["family"], levels=levels, labels=labels_of(row))

    def _load_measurements(self) -> None:
        install_standard_measurements()
        installed = set(db.session.scalars(select(MeasurementFamily.code)))
        wanted = {row["metric_family"] for row in self.attributes.values() if row["metric_family"]}
        if wanted - installed:
            raise ValueError(f"Measurement families {sorted(wanted - installed)} are used by icecat but not installed")

    # --- product models and products ---------------------------------------------------------

    def model_inputs(self, load: IcecatLoad) -> Iterator[ProductModelInput]:
        """Yield the product models, root models before their sub-models."""
        headers = list(next(iter(self.models.values())))
        columns = self.value_columns(headers, MODEL_FIELDS)
        rows = sorted(self.models.values(), key=lambda r: bool(r["parent"]))
        for row in rows:
            translated = row_values(row, columns, self.attributes)
            load.media_cells.update(translated.media)
            values, categories = translated.values, split_list(row["categories"])
            if row["parent"]:
                values, categories = self._own_level(values, categories, self.ancestors(row["parent"]), 1)
            yield ProductModelInput(
                row["code"],
                family_variant=row["family_variant"],
                parent=row["parent"] or UNSET,
                categories=categories,
                values=values,
            )

    def product_inputs(self, load: IcecatLoad) -> Iterator[ProductInput]:
        """Yield one product per row of products.csv; `row` is the row number in the file."""
        rows = read_rows(self.folder, "products.csv")
        columns = self.value_columns(list(rows[0]), PRODUCT_FIELDS)
        for number, row in enumerate(rows, start=2):
            translated = row_values(row, columns, self.attributes)
            load.media_cells.update(translated.media)
            values, categories = translated.values, split_list(row["categories"])
            parent = self.models.get(identifier_key(row["parent"])) if row["parent"] else None
            if parent is not None:
                chain = self.ancestors(parent["code"])
                level = self.level_count(parent["family_variant"])
                values, categories = self._own_level(values, categories, chain, level)
            yield ProductInput(
                row["sku"],
                family=row["family"] or None,
                parent=row["parent"] or UNSET,
                enabled=row["enabled"] == "1",
                categories=categories,
                values=values,
                row=number,
            )

    def association_inputs(self) -> Iterator[ProductInput]:
        """Yield the associations of the products that have any, once every product exists."""
        for number, row in enumerate(read_rows(self.folder, "products.csv"), start=2):
            associations: dict[str, dict[str, list[str]]] = {}
            for header, cell in row.items():
                code, _, kind = header.partition("-")
                if code in self.association_types and kind in ASSOCIATION_KINDS and split_list(cell):
                    if kind == "groups":
                        raise ValueError(f"Row {number}: product groups ({header}) are not supported")
                    associations.setdefault(code, {})[kind] = split_list(cell)
            if associations:
                yield ProductInput(row["sku"], associations=associations, row=number)

    def _own_level(
        self, values: dict[str, list[dict[str, Any]]], categories: list[str], chain: list[dict[str, str]], level: int
    ) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
        """Keep the values of the row's own variant level and the categories its models lack."""
        own = self.level_attributes(chain[0]["family_variant"], level)
        inherited_categories = {c for model in chain for c in split_list(model["categories"])}
        kept = {code: entries for code, entries in values.items() if code in own}
        return kept, [c for c in categories if c not in inherited_categories]


def attribute_arguments(row: Mapping[str, str]) -> dict[str, Any]:
    """Translate a row of attributes.csv into the keyword arguments of `create_attribute`.

    Properties that only steer Akeneo's UI (useable_as_grid_filter, auto_option_sorting,
    minimum_input_length) have no counterpart here and are left out.
    """
    arguments: dict[str, Any] = {
        "type": row["type"],
        "group": row["group"] or "other",
        "labels": labels_of(row),
        "is_localizable": row["localizable"] == "1",
        "is_scopable": row["scopable"] == "1",
        "is_unique": row["unique"] == "1",
        "sort_order": int(row["sort_order"] or 0),
    }
    flags = {"decimals_allowed": "is_decimals_allowed", "negative_allowed": "is_negative_allowed", "wysiwyg_enabled": "is_wysiwyg"}
    for column, argument in flags.items():
        if row[column]:
            arguments[argument] = row[column] == "1"
    for column in ("number_min", "number_max", "date_min", "date_max", "metric_family", "default_metric_unit"):
        if row[column]:
            arguments[column] = row[column]
    for column in ("max_characters", "max_file_size"):
        if row[column]:
            arguments[column] = int(float(row[column]))
    for column in ("allowed_extensions", "available_locales"):
        if row[column]:
            arguments[column] = split_list(row[column])
    if row["validation_rule"] == "regexp":
        arguments["validation_regexp"] = row["validation_regexp"]
    elif row["validation_rule"]:
        raise ValueError(f"Attribute {row['code']!r}: validation rule {row['validation_rule']!r} is not supported")
    if row["reference_data_name"]:
        raise ValueError(f"Attribute {row['code']!r}: reference data attributes are not supported")
    return arguments


def load_icecat(folder: Path, *, actor: Actor) -> IcecatLoad:
    """Load the structure, product models, products and associations; report what happened."""
    started = time.perf_counter()
    catalogue = IcecatCatalogue(folder)
    catalogue.load_structure()
    load = IcecatLoad(products=UpsertReport(), associations=UpsertReport())
    for item in catalogue.model_inputs(load):
        try:
            save_product_model(item, actor=actor)
        except Invalid as exc:
            load.rejected_models[item.code] = exc
    load.products = upsert_products(catalogue.product_inputs(load), actor=actor)
    load.associations = upsert_products(catalogue.association_inputs(), actor=actor)
    load.seconds = time.perf_counter() - started
    return load
