"""Products in Akeneo's standard JSON format, as the CLI prints them and the REST API returns them."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select

from pim import db
from pim.catalog.completeness import CompletenessCalculator
from pim.catalog.models import Completeness, Product, ProductModel, identifier_key
from pim.catalog.services import associations_of
from pim.catalog.values import to_standard
from pim.errors import ErrorCode, Invalid, NotFound
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


def values_for_channel(values: dict[str, Any], channel: str, structure: Structure) -> dict[str, Any]:
    """Return a raw values document as one channel reads it.

    Scopable values are those of the channel, or where it has none of its own for a locale, its
    fallback's (the chain of fallbacks in order); values of other channels are left out.
    """
    info = structure.channels.get(channel)
    if info is None:
        raise NotFound(f"Channel {channel!r} does not exist")
    scopes = info.scopes or (channel,)
    result: dict[str, Any] = {}
    for code, by_scope in values.items():
        attribute = structure.attributes.get(code)
        if attribute is None or not attribute.is_scopable:
            result[code] = by_scope
            continue
        merged: dict[str, Any] = {}
        for scope in reversed(scopes):
            for locale, data in (by_scope.get(scope) or {}).items():
                if data is not None and data != "" and data != []:
                    merged[locale] = data
        if merged:
            result[code] = {channel: merged}
    return result


def product_to_standard(product: Product, *, with_completeness: bool = False, structure: Structure | None = None, channel: str | None = None) -> dict[str, Any]:
    """Return a product in the standard format: values include those inherited from its models.

    With `channel`, values are those the channel reads (its own, else its fallback's) and the
    completeness is that channel's only.
    """
    structure = structure or get_structure()
    values = {**inherited_values(product), **product.values}
    if channel is not None:
        values = values_for_channel(values, channel, structure)
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
        completenesses = completeness_of(product, structure)
        data["completenesses"] = [c for c in completenesses if channel is None or c["scope"] == channel]
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


_INPUT_FIELDS = ("family", "parent", "enabled", "categories", "associations", "quantified_associations")


def product_input_from_standard(
    data: Any,
    *,
    row: int | None = None,
    inherited: dict[str, Any] | None = None,
    inherited_categories: list[str] | None = None,
    with_version: bool = False,
) -> Any:
    """Turn a product in the standard format (as `pim product show` prints it) into a ProductInput.

    Read-only parts (uuid of an existing product, created, updated, completenesses, groups) are
    ignored. `inherited` holds the values the product's models give it (raw document): values
    in the input equal to those are left out, and so are the categories its models hold, so a
    variant printed with what it inherits loads back. `metadata.version` is honoured only
    `with_version`.
    """
    from pim.catalog.services import ProductInput

    if not isinstance(data, dict):
        raise Invalid.one("product", "A product is a JSON object in the standard format", ErrorCode.INVALID_TYPE)
    identifier = data.get("identifier")
    if not isinstance(identifier, str) or not identifier.strip():
        raise Invalid.one("identifier", "The product has no identifier", ErrorCode.REQUIRED)
    values = data.get("values") or {}
    if not isinstance(values, dict):
        raise Invalid.one("values", "values is an object of attribute codes to lists of {locale, scope, data}", ErrorCode.INVALID_TYPE)
    if inherited:
        own_standard = to_standard(inherited)
        values = {code: entries for code, entries in values.items() if not _same_entries(entries, own_standard.get(code))}
    fields = {name: data[name] for name in _INPUT_FIELDS if name in data}
    if inherited_categories and isinstance(fields.get("categories"), list):
        fields["categories"] = [code for code in fields["categories"] if code not in inherited_categories]
    version = None
    if with_version:
        metadata = data.get("metadata") or {}
        version = metadata.get("version") if isinstance(metadata, dict) else None
    return ProductInput(identifier=identifier, values=values, row=row, version=version, **fields)


def _same_entries(given: Any, stored: Any) -> bool:
    if stored is None or not isinstance(given, list):
        return False

    def key(entries: list[Any]) -> list[tuple[Any, ...]]:
        return sorted(
            (str(e.get("locale")), str(e.get("scope")), orjson.dumps(e.get("data"), option=orjson.OPT_SORT_KEYS)) for e in entries if isinstance(e, dict)
        )

    return key(given) == key(stored)


def inherited_from_models(codes: set[str]) -> dict[str, tuple[dict[str, Any], list[str]]]:
    """Return, for each product model code, the values and categories its variants inherit."""
    result: dict[str, tuple[dict[str, Any], list[str]]] = {}
    if not codes:
        return result
    wanted = {code: identifier_key(code) for code in codes}
    by_key = {m.code_key: m for m in db.session.scalars(select(ProductModel).where(ProductModel.code_key.in_(set(wanted.values()))))}
    models = {code: by_key[key] for code, key in wanted.items() if key in by_key}
    for code, model in models.items():
        chain = []
        step: ProductModel | None = model
        while step is not None:
            chain.append(step)
            step = db.session.get(ProductModel, step.parent_id) if step.parent_id else None
        merged: dict[str, Any] = {}
        categories: list[str] = []
        for item in reversed(chain):
            merged.update(item.values)
            categories.extend(item.categories)
        result[code] = (merged, categories)
    return result
