"""Products in Akeneo's standard JSON format, as the CLI prints them and the REST API returns them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pim import db
from pim.catalog.completeness import CompletenessCalculator
from pim.catalog.models import Completeness, Product, ProductModel
from pim.catalog.services import associations_of
from pim.catalog.values import to_standard
from pim.structure.snapshot import Structure, get_structure


def _time(value: Any) -> str:
    return value.isoformat() if value is not None else ""


def inherited_values(product: Product) -> dict[str, Any]:
    """Return the values a variant product inherits from its product models."""
    if product.parent_id is None:
        return {}
    values: dict[str, Any] = {}
    chain = []
    model = db.session.get(ProductModel, product.parent_id)
    while model is not None:
        chain.append(model)
        model = db.session.get(ProductModel, model.parent_id) if model.parent_id else None
    for model in reversed(chain):
        values.update(model.values)
    return values


def completeness_of(product: Product, structure: Structure | None = None) -> list[dict[str, Any]]:
    """Return the completeness of a product per channel and locale, as the API lists it."""
    structure = structure or get_structure()
    family = structure.families_by_id.get(product.family_id) if product.family_id else None
    if family is None:
        return []
    stored = {(row.channel_id, row.locale_id): row for row in db.session.scalars(select(Completeness).where(Completeness.product_id == product.id))}
    calculator = CompletenessCalculator(structure)
    result = []
    for channel in structure.channels.values():
        for locale in channel.locales:
            row = stored.get((channel.id, structure.locales[locale]))
            if row is not None:
                result.append(
                    {
                        "scope": channel.code,
                        "locale": locale,
                        "data": row.ratio,
                        "required": row.required,
                        "missing": row.missing_attributes,
                    }
                )
            else:
                required = calculator.required_count(family, channel.code, locale)
                result.append({"scope": channel.code, "locale": locale, "data": 100, "required": required, "missing": []})
    return result


def product_to_standard(product: Product, *, with_completeness: bool = False, structure: Structure | None = None) -> dict[str, Any]:
    """Return a product in the standard format: values include those inherited from its models."""
    structure = structure or get_structure()
    values = {**inherited_values(product), **product.values}
    standard_values = to_standard(values)
    standard_values[structure.identifier_attribute] = [{"locale": None, "scope": None, "data": product.identifier}]
    family = structure.families_by_id.get(product.family_id) if product.family_id else None
    parent = db.session.scalar(select(ProductModel.code).where(ProductModel.id == product.parent_id)) if product.parent_id else None
    associations = associations_of([product.id])[product.id]
    quantified = {k: v for k, v in associations.items() if structure.association_types.get(k, (0, False))[1]}
    plain = {k: v for k, v in associations.items() if k not in quantified}
    categories = list(product.categories)
    if product.parent_id:
        model = db.session.get(ProductModel, product.parent_id)
        while model is not None:
            categories = [*model.categories, *categories]
            model = db.session.get(ProductModel, model.parent_id) if model.parent_id else None
        categories = list(dict.fromkeys(categories))
    data = {
        "uuid": str(product.uuid),
        "identifier": product.identifier,
        "enabled": product.is_enabled,
        "family": family.code if family else None,
        "categories": categories,
        "groups": [],
        "parent": parent,
        "values": dict(sorted(standard_values.items())),
        "associations": plain,
        "quantified_associations": quantified,
        "created": _time(product.created_at),
        "updated": _time(product.updated_at),
        "metadata": {"version": product.version},
    }
    if with_completeness:
        data["completenesses"] = completeness_of(product, structure)
    return data


def label_of(product: Product, locale: str | None = None, structure: Structure | None = None) -> str:
    """Return a product's label in a locale (its label attribute), or its identifier."""
    structure = structure or get_structure()
    family = structure.families_by_id.get(product.family_id) if product.family_id else None
    if family is None or not family.attribute_as_label:
        return product.identifier
    values = {**inherited_values(product), **product.values} if product.parent_id else product.values
    by_scope = values.get(family.attribute_as_label, {})
    for by_locale in by_scope.values():
        if locale and by_locale.get(locale):
            return str(by_locale[locale])
        if by_locale.get("<all_locales>"):
            return str(by_locale["<all_locales>"])
    for by_locale in by_scope.values():
        for text in by_locale.values():
            if text:
                return str(text)
    return product.identifier
