"""Write services for the catalogue structure: the only code that changes it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, func, select

from pim import db
from pim.errors import Conflict, ErrorCode, FieldError, Invalid, NotFound
from pim.structure.models import (
    AssociationType,
    Attribute,
    AttributeGroup,
    AttributeOption,
    AttributeRequirement,
    AttributeType,
    Channel,
    Currency,
    Family,
    FamilyVariant,
    FamilyVariantAttribute,
    Locale,
    MeasurementFamily,
    MeasurementUnit,
)
from pim.structure.snapshot import bump_revision

CODE_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,100}$")
AXIS_TYPES = {AttributeType.METRIC, AttributeType.SIMPLE_SELECT, AttributeType.BOOLEAN}
MAX_VARIANT_LEVELS = 2
MAX_AXES_PER_LEVEL = 5


def check_code(code: Any, field: str = "code") -> str:
    """Refuse a code that is not letters, digits and underscores (hyphens split Akeneo columns)."""
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        raise Invalid.one(
            field,
            f"Code {code!r} may only hold letters, digits and underscores (at most 100)",
            ErrorCode.INVALID_FORMAT,
        )
    return code


def _get(model: Any, code: str, what: str) -> Any:
    found = db.session.scalar(select(model).where(model.code == code))
    if found is None:
        raise NotFound(f"{what} {code!r} does not exist")
    return found


def _refuse_duplicate(model: Any, code: str, what: str) -> None:
    if db.session.scalar(select(model.id).where(model.code == code)) is not None:
        raise Conflict(f"{what} {code!r} already exists")


# --- locales and currencies ----------------------------------------------------------------


def get_locale(code: str) -> Locale:
    """Return a locale by code; raise NotFound."""
    return _get(Locale, code, "Locale")


def ensure_locale(code: str) -> Locale:
    """Return a locale, creating it when it is new."""
    if not re.match(r"^[a-z]{2,3}(_[A-Za-z0-9]{2,4}){0,2}$", code or ""):
        raise Invalid.one("code", f"Locale code {code!r} is not like en_US", ErrorCode.INVALID_FORMAT)
    with db.transaction() as session:
        locale = session.scalar(select(Locale).where(Locale.code == code))
        if locale is None:
            locale = Locale(code=code)
            session.add(locale)
            session.flush()
            bump_revision()
    return locale


def ensure_currency(code: str, *, is_enabled: bool = True) -> Currency:
    """Return a currency, creating it or changing whether it is enabled."""
    if not re.match(r"^[A-Z]{3}$", code or ""):
        raise Invalid.one("code", f"Currency code {code!r} is not an ISO 4217 code like EUR", ErrorCode.INVALID_FORMAT)
    with db.transaction() as session:
        currency = session.scalar(select(Currency).where(Currency.code == code))
        if currency is None:
            currency = Currency(code=code, is_enabled=is_enabled)
            session.add(currency)
        else:
            currency.is_enabled = is_enabled
        session.flush()
        bump_revision()
    return currency


# --- measurements ---------------------------------------------------------------------------

# Akeneo's codes, so metric values in Akeneo files are understood as they are.
STANDARD_MEASUREMENTS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "Weight": (
        "KILOGRAM",
        [
            ("MILLIGRAM", "0.000001", "mg"),
            ("GRAM", "0.001", "g"),
            ("KILOGRAM", "1", "kg"),
            ("TON", "1000", "t"),
            ("OUNCE", "0.028349523125", "oz"),
            ("POUND", "0.45359237", "lb"),
        ],
    ),
    "Length": (
        "METER",
        [
            ("MILLIMETER", "0.001", "mm"),
            ("CENTIMETER", "0.01", "cm"),
            ("DECIMETER", "0.1", "dm"),
            ("METER", "1", "m"),
            ("KILOMETER", "1000", "km"),
            ("INCH", "0.0254", "in"),
            ("FOOT", "0.3048", "ft"),
            ("YARD", "0.9144", "yd"),
        ],
    ),
    "Volume": (
        "CUBIC_METER",
        [
            ("MILLILITER", "0.000001", "ml"),
            ("CENTILITER", "0.00001", "cl"),
            ("DECILITER", "0.0001", "dl"),
            ("LITER", "0.001", "l"),
            ("CUBIC_CENTIMETER", "0.000001", "cm³"),
            ("CUBIC_METER", "1", "m³"),
            ("FLUID_OUNCE", "0.0000295735295625", "fl oz"),
            ("GALLON", "0.003785411784", "gal"),
        ],
    ),
    "Area": (
        "SQUARE_METER",
        [
            ("SQUARE_MILLIMETER", "0.000001", "mm²"),
            ("SQUARE_CENTIMETER", "0.0001", "cm²"),
            ("SQUARE_METER", "1", "m²"),
            ("HECTARE", "10000", "ha"),
            ("SQUARE_FOOT", "0.09290304", "ft²"),
        ],
    ),
}


def create_measurement_family(
    code: str, *, standard_unit: str, units: Sequence[Mapping[str, Any]], labels: Mapping[str, str] | None = None
) -> MeasurementFamily:
    """Create a measurement family; each unit has a code, a factor (and offset) to the standard unit."""
    check_code(code)
    errors = []
    unit_rows = []
    for i, unit in enumerate(units):
        try:
            factor = Decimal(str(unit.get("factor", "1")))
            offset = Decimal(str(unit.get("offset", "0")))
        except InvalidOperation:
            errors.append(FieldError(f"units.{i}", f"Unit {unit.get('code')!r} has a factor that is not a number", ErrorCode.INVALID_TYPE))
            continue
        if factor == 0:
            errors.append(FieldError(f"units.{i}", f"Unit {unit.get('code')!r} has a zero factor", ErrorCode.OUT_OF_RANGE))
        unit_rows.append(
            MeasurementUnit(
                code=check_code(unit.get("code"), f"units.{i}.code"),
                factor=str(factor),
                offset=str(offset),
                symbol=unit.get("symbol", ""),
                labels=dict(unit.get("labels", {})),
                sort_order=i,
            )
        )
    if standard_unit not in {u.code for u in unit_rows}:
        errors.append(FieldError("standard_unit", f"Standard unit {standard_unit!r} is not one of the units", ErrorCode.UNKNOWN_UNIT))
    if errors:
        raise Invalid(errors)
    with db.transaction() as session:
        _refuse_duplicate(MeasurementFamily, code, "Measurement family")
        family = MeasurementFamily(code=code, standard_unit=standard_unit, labels=dict(labels or {}), units=unit_rows)
        session.add(family)
        session.flush()
        bump_revision()
    return family


def install_standard_measurements() -> None:
    """Create the weight, length, volume and area measurement families that are missing."""
    existing = set(db.session.scalars(select(MeasurementFamily.code)))
    with db.transaction():
        for code, (standard, units) in STANDARD_MEASUREMENTS.items():
            if code in existing:
                continue
            create_measurement_family(
                code,
                standard_unit=standard,
                units=[{"code": u, "factor": f, "symbol": s} for u, f, s in units],
                labels={"en_US": code},
            )


# --- attributes -----------------------------------------------------------------------------


def get_attribute(code: str) -> Attribute:
    """Return an attribute by code; raise NotFound."""
    return _get(Attribute, code, "Attribute")


def ensure_attribute_group(code: str, *, labels: Mapping[str, str] | None = None, sort_order: int | None = None) -> AttributeGroup:
    """Return an attribute group, creating it when it is new, with the labels and order given."""
    check_code(code)
    with db.transaction() as session:
        group = session.scalar(select(AttributeGroup).where(AttributeGroup.code == code))
        if group is None:
            group = AttributeGroup(code=code, labels=dict(labels or {}), sort_order=sort_order or 0)
            session.add(group)
            session.flush()
        else:
            if labels:
                group.labels = {**group.labels, **labels}
            if sort_order is not None:
                group.sort_order = sort_order
    return group


_ATTRIBUTE_RULES = {
    "max_characters",
    "validation_regexp",
    "is_wysiwyg",
    "number_min",
    "number_max",
    "is_decimals_allowed",
    "is_negative_allowed",
    "date_min",
    "date_max",
    "allowed_extensions",
    "max_file_size",
    "metric_family",
    "default_metric_unit",
    "available_locales",
    "sort_order",
}


def create_attribute(
    code: str,
    *,
    type: AttributeType | str,
    group: str = "other",
    labels: Mapping[str, str] | None = None,
    is_localizable: bool = False,
    is_scopable: bool = False,
    is_unique: bool = False,
    **rules: Any,
) -> Attribute:
    """Create an attribute with its validation rules (max_characters, number_min, metric_family...)."""
    check_code(code)
    try:
        attribute_type = AttributeType(type)
    except ValueError:
        raise Invalid.one("type", f"Attribute type {type!r} does not exist", ErrorCode.UNKNOWN) from None
    unknown = set(rules) - _ATTRIBUTE_RULES
    if unknown:
        raise Invalid.one(next(iter(sorted(unknown))), f"Unknown attribute property {sorted(unknown)[0]!r}", ErrorCode.UNKNOWN)
    errors = _check_attribute_rules(code, attribute_type, is_localizable, is_scopable, is_unique, rules)
    if errors:
        raise Invalid(errors)
    with db.transaction() as session:
        _refuse_duplicate(Attribute, code, "Attribute")
        if attribute_type is AttributeType.IDENTIFIER and session.scalar(select(Attribute.id).where(Attribute.type == AttributeType.IDENTIFIER)):
            raise Conflict("The catalogue already has an identifier attribute")
        group_row = ensure_attribute_group(group)
        attribute = Attribute(
            code=code,
            type=attribute_type,
            group=group_row,
            labels=dict(labels or {}),
            is_localizable=is_localizable,
            is_scopable=is_scopable,
            is_unique=is_unique or attribute_type is AttributeType.IDENTIFIER,
            **_rule_columns(rules),
        )
        session.add(attribute)
        session.flush()
        bump_revision()
    return attribute


def _rule_columns(rules: Mapping[str, Any]) -> dict[str, Any]:
    columns = dict(rules)
    for key in ("number_min", "number_max"):
        if columns.get(key) is not None:
            columns[key] = str(Decimal(str(columns[key])))
    return columns


def _check_attribute_rules(
    code: str,
    attribute_type: AttributeType,
    is_localizable: bool,
    is_scopable: bool,
    is_unique: bool,
    rules: Mapping[str, Any],
) -> list[FieldError]:
    errors = []
    if attribute_type is AttributeType.IDENTIFIER and (is_localizable or is_scopable):
        errors.append(FieldError("type", "The identifier attribute cannot be localizable or scopable", ErrorCode.INVALID_FORMAT))
    if is_unique and (is_localizable or is_scopable):
        errors.append(FieldError("is_unique", "A unique attribute cannot be localizable or scopable", ErrorCode.INVALID_FORMAT))
    if is_unique and attribute_type not in (
        AttributeType.IDENTIFIER,
        AttributeType.TEXT,
        AttributeType.NUMBER,
        AttributeType.DATE,
    ):
        errors.append(FieldError("is_unique", "Only text, number and date attributes can be unique", ErrorCode.INVALID_FORMAT))
    if attribute_type is AttributeType.METRIC:
        family = db.session.scalar(select(MeasurementFamily).where(MeasurementFamily.code == rules.get("metric_family")))
        if family is None:
            errors.append(FieldError("metric_family", f"Measurement family {rules.get('metric_family')!r} does not exist", ErrorCode.UNKNOWN))
        elif rules.get("default_metric_unit") not in {u.code for u in family.units}:
            errors.append(
                FieldError(
                    "default_metric_unit",
                    f"Unit {rules.get('default_metric_unit')!r} is not a unit of {family.code}",
                    ErrorCode.UNKNOWN_UNIT,
                )
            )
    for key in ("number_min", "number_max"):
        if rules.get(key) is not None:
            try:
                Decimal(str(rules[key]))
            except InvalidOperation:
                errors.append(FieldError(key, f"{key} {rules[key]!r} is not a number", ErrorCode.INVALID_TYPE))
    if rules.get("validation_regexp"):
        from pim.catalog.values import _regexp

        try:
            _regexp(rules["validation_regexp"])
        except re.error as exc:
            errors.append(FieldError("validation_regexp", f"Pattern is not a valid regular expression: {exc}", ErrorCode.PATTERN))
    return errors


def update_attribute(code: str, *, labels: Mapping[str, str] | None = None, **rules: Any) -> Attribute:
    """Change an attribute's labels and rules; its type and value dimensions cannot change."""
    unknown = set(rules) - _ATTRIBUTE_RULES
    if unknown:
        raise Invalid.one(sorted(unknown)[0], f"Property {sorted(unknown)[0]!r} cannot be changed", ErrorCode.UNKNOWN)
    with db.transaction():
        attribute = get_attribute(code)
        errors = _check_attribute_rules(
            code,
            attribute.type,
            attribute.is_localizable,
            attribute.is_scopable,
            attribute.is_unique,
            {"metric_family": attribute.metric_family, "default_metric_unit": attribute.default_metric_unit, **rules},
        )
        if errors:
            raise Invalid(errors)
        if labels:
            attribute.labels = {**attribute.labels, **labels}
        for key, value in _rule_columns(rules).items():
            setattr(attribute, key, value)
        bump_revision()
    return attribute


def delete_attribute(code: str) -> None:
    """Delete an attribute that no family, variant and product uses; otherwise say what uses it."""
    from pim.catalog.queries import count_products_with_attribute

    with db.transaction() as session:
        attribute = get_attribute(code)
        if attribute.type is AttributeType.IDENTIFIER:
            raise Conflict("The identifier attribute cannot be deleted")
        families = session.scalars(select(Family.code).join(Family.attributes).where(Attribute.id == attribute.id)).all()
        if families:
            raise Conflict(f"Attribute {code!r} is used by the families {', '.join(sorted(families))}; remove it from them first")
        used = count_products_with_attribute(code)
        if used:
            raise Conflict(f"Attribute {code!r} has values in {used} products or product models; remove them first")
        session.delete(attribute)
        bump_revision()


def create_attribute_option(attribute: str, code: str, *, labels: Mapping[str, str] | None = None, sort_order: int = 0) -> AttributeOption:
    """Add an option to a simple or multi select attribute."""
    check_code(code)
    with db.transaction() as session:
        attribute_row = get_attribute(attribute)
        if attribute_row.type not in (AttributeType.SIMPLE_SELECT, AttributeType.MULTI_SELECT):
            raise Invalid.one("attribute", f"Attribute {attribute!r} is not a select attribute", ErrorCode.INVALID_TYPE)
        if session.scalar(select(AttributeOption.id).where(AttributeOption.attribute_id == attribute_row.id, AttributeOption.code == code)):
            raise Conflict(f"Attribute {attribute!r} already has an option {code!r}")
        option = AttributeOption(attribute_id=attribute_row.id, code=code, labels=dict(labels or {}), sort_order=sort_order)
        session.add(option)
        session.flush()
        bump_revision()
    return option


def create_attribute_options(attribute: str, options: Iterable[Mapping[str, Any]]) -> int:
    """Add many options to a select attribute in one statement; return how many were new."""
    with db.transaction() as session:
        attribute_row = get_attribute(attribute)
        existing = set(session.scalars(select(AttributeOption.code).where(AttributeOption.attribute_id == attribute_row.id)))
        rows = []
        for i, option in enumerate(options):
            code = check_code(option["code"], f"options.{i}.code")
            if code in existing:
                continue
            existing.add(code)
            rows.append({"attribute_id": attribute_row.id, "code": code, "labels": dict(option.get("labels", {})), "sort_order": option.get("sort_order", i)})
        if rows:
            session.execute(AttributeOption.__table__.insert(), rows)
            bump_revision()
    return len(rows)


def delete_attribute_option(attribute: str, code: str) -> None:
    """Delete an option no product uses; otherwise say how many use it."""
    from pim.catalog.queries import count_products_with_option

    with db.transaction() as session:
        attribute_row = get_attribute(attribute)
        option = session.scalar(select(AttributeOption).where(AttributeOption.attribute_id == attribute_row.id, AttributeOption.code == code))
        if option is None:
            raise NotFound(f"Attribute {attribute!r} has no option {code!r}")
        used = count_products_with_option(attribute, code)
        if used:
            raise Conflict(f"Option {code!r} of {attribute!r} is used by {used} products or product models")
        session.delete(option)
        bump_revision()


# --- families -------------------------------------------------------------------------------


def get_family(code: str) -> Family:
    """Return a family by code; raise NotFound."""
    return _get(Family, code, "Family")


def _attributes_by_code(codes: Iterable[str], field: str) -> dict[str, Attribute]:
    codes = list(dict.fromkeys(codes))
    found = {a.code: a for a in db.session.scalars(select(Attribute).where(Attribute.code.in_(codes)))}
    missing = [c for c in codes if c not in found]
    if missing:
        raise Invalid(FieldError(field, f"Attribute {c!r} does not exist", ErrorCode.UNKNOWN) for c in missing)
    return found


def _set_family_content(
    family: Family,
    attributes: Sequence[str],
    attribute_as_label: str | None,
    attribute_as_image: str | None,
    requirements: Mapping[str, Sequence[str]],
) -> None:
    session = db.session
    identifier = session.scalar(select(Attribute).where(Attribute.type == AttributeType.IDENTIFIER))
    codes = list(dict.fromkeys([*([identifier.code] if identifier else []), *attributes]))
    by_code = _attributes_by_code(codes, "attributes")
    errors = []
    if attribute_as_label is not None:
        label_attribute = by_code.get(attribute_as_label)
        if label_attribute is None:
            errors.append(FieldError("attribute_as_label", f"Attribute {attribute_as_label!r} is not in the family", ErrorCode.NOT_IN_FAMILY))
        elif label_attribute.type not in (AttributeType.TEXT, AttributeType.IDENTIFIER):
            errors.append(FieldError("attribute_as_label", "The label attribute must be a text attribute", ErrorCode.INVALID_TYPE))
    if attribute_as_image is not None:
        image_attribute = by_code.get(attribute_as_image)
        if image_attribute is None or image_attribute.type is not AttributeType.IMAGE:
            errors.append(
                FieldError("attribute_as_image", f"Attribute {attribute_as_image!r} is not an image attribute of the family", ErrorCode.NOT_IN_FAMILY)
            )
    channels = {c.code: c for c in session.scalars(select(Channel).where(Channel.code.in_(list(requirements))))}
    requirement_rows = []
    for channel_code, required in requirements.items():
        channel = channels.get(channel_code)
        if channel is None:
            errors.append(FieldError(f"requirements.{channel_code}", f"Channel {channel_code!r} does not exist", ErrorCode.UNKNOWN_CHANNEL))
            continue
        for code in dict.fromkeys(required):
            if code not in by_code:
                errors.append(FieldError(f"requirements.{channel_code}", f"Required attribute {code!r} is not in the family", ErrorCode.NOT_IN_FAMILY))
                continue
            requirement_rows.append(AttributeRequirement(channel_id=channel.id, attribute_id=by_code[code].id))
    if errors:
        raise Invalid(errors)
    family.attributes = [by_code[c] for c in codes]
    family.attribute_as_label = by_code.get(attribute_as_label) if attribute_as_label else None
    family.attribute_as_image = by_code.get(attribute_as_image) if attribute_as_image else None
    family.requirements = requirement_rows


def create_family(
    code: str,
    *,
    attributes: Sequence[str],
    labels: Mapping[str, str] | None = None,
    attribute_as_label: str | None = None,
    attribute_as_image: str | None = None,
    requirements: Mapping[str, Sequence[str]] | None = None,
) -> Family:
    """Create a family: its attributes, label and image attributes, and required attributes per channel."""
    check_code(code)
    with db.transaction() as session:
        _refuse_duplicate(Family, code, "Family")
        family = Family(code=code, labels=dict(labels or {}))
        session.add(family)
        _set_family_content(family, attributes, attribute_as_label, attribute_as_image, requirements or {})
        session.flush()
        bump_revision()
    return family


def update_family(
    code: str,
    *,
    attributes: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    attribute_as_label: str | None = None,
    attribute_as_image: str | None = None,
    requirements: Mapping[str, Sequence[str]] | None = None,
) -> Family:
    """Change a family; when its attributes or requirements change, its products' completeness is
    recomputed by a `completeness` job (queued with the change)."""
    from pim.catalog.jobs import schedule_completeness

    with db.transaction() as session:
        family = get_family(code)
        current_requirements: dict[str, list[str]] = {}
        for r in family.requirements:
            current_requirements.setdefault(r.channel.code, []).append(r.attribute.code)
        new_attributes = list(attributes) if attributes is not None else [a.code for a in family.attributes]
        removed = {a.code for a in family.attributes} - set(new_attributes)
        removed.discard(session.scalar(select(Attribute.code).where(Attribute.type == AttributeType.IDENTIFIER)))
        if removed:
            _refuse_removing_variant_attributes(family, removed)
        new_requirements = dict(current_requirements)
        if requirements is not None:
            new_requirements.update({k: list(v) for k, v in requirements.items()})
        new_requirements = {k: [c for c in v if c not in removed] for k, v in new_requirements.items()}
        _set_family_content(
            family,
            new_attributes,
            attribute_as_label if attribute_as_label is not None else (family.attribute_as_label.code if family.attribute_as_label else None),
            attribute_as_image if attribute_as_image is not None else (family.attribute_as_image.code if family.attribute_as_image else None),
            new_requirements,
        )
        if labels:
            family.labels = {**family.labels, **labels}
        session.flush()
        bump_revision()
        requirements_changed = {k: sorted(v) for k, v in new_requirements.items() if v} != {k: sorted(v) for k, v in current_requirements.items() if v}
        if requirements_changed or removed:
            schedule_completeness(families=[family.code])
    return family


def _refuse_removing_variant_attributes(family: Family, removed: set[str]) -> None:
    used = db.session.scalars(
        select(Attribute.code)
        .join(FamilyVariantAttribute, FamilyVariantAttribute.attribute_id == Attribute.id)
        .join(FamilyVariant, FamilyVariant.id == FamilyVariantAttribute.family_variant_id)
        .where(FamilyVariant.family_id == family.id, Attribute.code.in_(removed))
    ).all()
    if used:
        raise Conflict(f"Attributes {', '.join(sorted(set(used)))} are used by variants of family {family.code!r}")


def delete_family(code: str) -> None:
    """Delete a family no product uses; otherwise say how many use it."""
    from pim.catalog.models import Product

    with db.transaction() as session:
        family = get_family(code)
        used = session.scalar(select(func.count()).select_from(Product).where(Product.family_id == family.id))
        if used:
            raise Conflict(f"Family {code!r} is used by {used} products; change their family first")
        if family.variants:
            raise Conflict(f"Family {code!r} has family variants {', '.join(v.code for v in family.variants)}; delete them first")
        session.delete(family)
        bump_revision()


def create_family_variant(
    code: str,
    *,
    family: str,
    levels: Sequence[Mapping[str, Sequence[str]]],
    labels: Mapping[str, str] | None = None,
) -> FamilyVariant:
    """Create a family variant: one or two levels, each {"axes": [...], "attributes": [...]}.

    Follows Akeneo's rules: at most two levels and five axes per level, axes are selects,
    metrics or booleans that are neither localizable, scopable nor unique, an attribute sits
    at one level only, and unique attributes (the SKU) sit at the last level.
    """
    check_code(code)
    with db.transaction() as session:
        _refuse_duplicate(FamilyVariant, code, "Family variant")
        family_row = get_family(family)
        family_codes = {a.code for a in family_row.attributes}
        errors: list[FieldError] = []
        if not 1 <= len(levels) <= MAX_VARIANT_LEVELS:
            raise Invalid.one("levels", "A family variant has one or two levels", ErrorCode.OUT_OF_RANGE)
        seen: dict[str, int] = {}
        all_codes = [c for level in levels for c in [*level.get("axes", []), *level.get("attributes", [])]]
        by_code = _attributes_by_code(all_codes, "levels")
        rows = []
        for number, level in enumerate(levels, start=1):
            axes = list(dict.fromkeys(level.get("axes", [])))
            attributes = list(dict.fromkeys([*axes, *level.get("attributes", [])]))
            field = f"levels.{number}"
            if not axes or len(axes) > MAX_AXES_PER_LEVEL:
                errors.append(FieldError(field, "Each level has between one and five axes", ErrorCode.OUT_OF_RANGE))
            for axis in axes:
                attribute = by_code[axis]
                if attribute.type not in AXIS_TYPES or attribute.is_localizable or attribute.is_scopable or attribute.is_unique:
                    errors.append(
                        FieldError(
                            field,
                            f"Attribute {axis!r} cannot be an axis: axes are simple selects, metrics or booleans, not localizable, scopable or unique",
                            ErrorCode.INVALID_TYPE,
                        )
                    )
            for attribute_code in attributes:
                if attribute_code not in family_codes:
                    errors.append(FieldError(field, f"Attribute {attribute_code!r} is not in family {family!r}", ErrorCode.NOT_IN_FAMILY))
                if attribute_code in seen:
                    errors.append(FieldError(field, f"Attribute {attribute_code!r} is already at level {seen[attribute_code]}", ErrorCode.DUPLICATE))
                seen[attribute_code] = number
                rows.append(
                    FamilyVariantAttribute(
                        attribute_id=by_code[attribute_code].id,
                        level=number,
                        is_axis=attribute_code in axes,
                        axis_order=axes.index(attribute_code) if attribute_code in axes else 0,
                    )
                )
        last = len(levels)
        identifier = session.scalar(select(Attribute).where(Attribute.type == AttributeType.IDENTIFIER))
        for attribute_code in family_codes:
            attribute = by_code.get(attribute_code) or session.scalar(select(Attribute).where(Attribute.code == attribute_code))
            if attribute is not None and attribute.is_unique and seen.get(attribute_code) != last:
                if identifier is not None and attribute_code == identifier.code and attribute_code not in seen:
                    rows.append(FamilyVariantAttribute(attribute_id=identifier.id, level=last, is_axis=False))
                    seen[attribute_code] = last
                    continue
                errors.append(FieldError("levels", f"Unique attribute {attribute_code!r} must be at the last level", ErrorCode.NOT_AT_LEVEL))
        if errors:
            raise Invalid(errors)
        variant = FamilyVariant(code=code, family_id=family_row.id, labels=dict(labels or {}), attribute_sets=rows)
        session.add(variant)
        session.flush()
        bump_revision()
    return variant


def get_family_variant(code: str) -> FamilyVariant:
    """Return a family variant by code; raise NotFound."""
    return _get(FamilyVariant, code, "Family variant")


# --- channels -------------------------------------------------------------------------------


def get_channel(code: str) -> Channel:
    """Return a channel by code; raise NotFound."""
    return _get(Channel, code, "Channel")


def _channel_parts(locales: Sequence[str], currencies: Sequence[str], category_tree: str) -> tuple[list[Locale], list[Currency], int]:
    from pim.catalog.models import Category

    session = db.session
    errors = []
    locale_rows = []
    for code in dict.fromkeys(locales):
        try:
            locale_rows.append(ensure_locale(code))
        except Invalid as exc:
            errors.extend(FieldError("locales", e.message, e.code) for e in exc.errors)
    currency_rows = []
    for code in dict.fromkeys(currencies):
        currency = session.scalar(select(Currency).where(Currency.code == code))
        if currency is None:
            try:
                currency = ensure_currency(code)
            except Invalid as exc:
                errors.extend(FieldError("currencies", e.message, e.code) for e in exc.errors)
                continue
        elif not currency.is_enabled:
            errors.append(FieldError("currencies", f"Currency {code!r} is not enabled", ErrorCode.UNKNOWN_CURRENCY))
        currency_rows.append(currency)
    if not locale_rows:
        errors.append(FieldError("locales", "A channel needs at least one locale", ErrorCode.REQUIRED))
    if not currencies:
        errors.append(FieldError("currencies", "A channel needs at least one currency", ErrorCode.REQUIRED))
    tree = session.scalar(select(Category).where(Category.code == category_tree))
    tree_id = 0
    if tree is None:
        errors.append(FieldError("category_tree", f"Category tree {category_tree!r} does not exist", ErrorCode.UNKNOWN))
    elif tree.parent_id is not None:
        errors.append(FieldError("category_tree", f"Category {category_tree!r} is not a tree root; a channel publishes a whole tree", ErrorCode.WRONG_TREE))
    else:
        tree_id = tree.id
    if errors:
        raise Invalid(errors)
    return locale_rows, currency_rows, tree_id


def _fallback_id(channel: Channel | None, fallback: str | None) -> int | None:
    """Return the id of a fallback channel after checking it exists and makes no loop."""
    if fallback is None:
        return None
    session = db.session
    target = session.scalar(select(Channel).where(Channel.code == fallback))
    if target is None:
        raise Invalid.one("fallback", f"Channel {fallback!r} does not exist", ErrorCode.UNKNOWN_CHANNEL)
    seen = {channel.id} if channel is not None and channel.id is not None else set()
    step: Channel | None = target
    while step is not None:
        if step.id in seen:
            name = channel.code if channel is not None else fallback
            raise Invalid.one(
                "fallback", f"Channel {name!r} cannot fall back to {fallback!r}: the fallbacks would go round in a loop", ErrorCode.INVALID_FORMAT
            )
        seen.add(step.id)
        step = session.get(Channel, step.fallback_id) if step.fallback_id is not None else None
    return target.id


def create_channel(
    code: str,
    *,
    locales: Sequence[str],
    currencies: Sequence[str],
    category_tree: str,
    labels: Mapping[str, str] | None = None,
    fallback: str | None = None,
    requirements_from: str | None = None,
) -> Channel:
    """Create a channel with its locales, currencies, category tree and optional fallback channel.

    `requirements_from` copies every family's required attributes of an existing channel (a
    regional copy of a channel requires what the original requires). A new channel has no
    values of its own, so its products' completeness comes from its fallback's values (or is
    empty): a `completeness` job, queued with the channel, computes it.
    """
    from pim.catalog.jobs import schedule_completeness

    check_code(code)
    with db.transaction() as session:
        _refuse_duplicate(Channel, code, "Channel")
        locale_rows, currency_rows, tree_id = _channel_parts(locales, currencies, category_tree)
        fallback_id = _fallback_id(None, fallback)
        channel = Channel(
            code=code,
            labels=dict(labels or {}),
            category_tree_id=tree_id,
            locales=locale_rows,
            currencies=currency_rows,
            fallback_id=fallback_id,
        )
        session.add(channel)
        session.flush()
        if requirements_from is not None:
            source = get_channel(requirements_from)
            rows = session.execute(
                select(AttributeRequirement.family_id, AttributeRequirement.attribute_id).where(AttributeRequirement.channel_id == source.id)
            ).all()
            session.add_all(AttributeRequirement(family_id=family_id, channel_id=channel.id, attribute_id=attribute_id) for family_id, attribute_id in rows)
            session.flush()
        bump_revision()
        if _has_products():
            schedule_completeness(channels=[channel.code])
    return channel


_KEEP: Any = object()


def update_channel(
    code: str,
    *,
    locales: Sequence[str] | None = None,
    currencies: Sequence[str] | None = None,
    category_tree: str | None = None,
    labels: Mapping[str, str] | None = None,
    fallback: str | None = _KEEP,
) -> Channel:
    """Change a channel; a change of locales, currencies or fallback recomputes completeness for it.

    `fallback=None` removes the fallback; leaving it out keeps it. Channels that fall back to
    this one are recomputed too, since they read through it. The recomputation is a
    `completeness` job queued with the change, for those channels only.
    """
    from pim.catalog.jobs import schedule_completeness
    from pim.catalog.models import Category

    with db.transaction() as session:
        channel = get_channel(code)
        old_locales = [locale.code for locale in channel.locales]
        old_currencies = [c.code for c in channel.currencies]
        old_fallback = channel.fallback_id
        tree_code = category_tree or session.scalar(select(Category.code).where(Category.id == channel.category_tree_id))
        locale_rows, currency_rows, tree_id = _channel_parts(
            locales if locales is not None else old_locales,
            currencies if currencies is not None else old_currencies,
            tree_code,
        )
        if fallback is not _KEEP:
            channel.fallback_id = _fallback_id(channel, fallback)
        channel.locales = locale_rows
        channel.currencies = currency_rows
        channel.category_tree_id = tree_id
        if labels:
            channel.labels = {**channel.labels, **labels}
        session.flush()
        bump_revision()
        changed_scope = (
            sorted(locale.code for locale in locale_rows) != sorted(old_locales)
            or sorted(c.code for c in currency_rows) != sorted(old_currencies)
            or channel.fallback_id != old_fallback
        )
        if changed_scope:
            reading = set(channels_reading(channel.id))
            schedule_completeness(channels=list(session.scalars(select(Channel.code).where(Channel.id.in_(reading)))))
    return channel


def channels_reading(channel_id: int) -> list[int]:
    """Return the ids of the channel and of every channel that falls back to it, directly or not."""
    fallback_of = dict(db.session.execute(select(Channel.id, Channel.fallback_id)).all())
    result = []
    for candidate in fallback_of:
        step: int | None = candidate
        seen = set()
        while step is not None and step not in seen:
            if step == channel_id:
                result.append(candidate)
                break
            seen.add(step)
            step = fallback_of.get(step)
    return result


def _has_products() -> bool:
    from pim.catalog.models import Product

    return db.session.scalar(select(Product.id).limit(1)) is not None


def delete_channel(code: str) -> None:
    """Delete a channel, its requirements and completeness; scopable values for it stay in history only.

    Refused while another channel falls back to it.
    """
    from pim.catalog.models import Completeness

    with db.transaction() as session:
        channel = get_channel(code)
        readers = list(session.scalars(select(Channel.code).where(Channel.fallback_id == channel.id)))
        if readers:
            raise Conflict(f"Channel {code!r} is the fallback of {', '.join(sorted(readers))}; change their fallback first")
        session.execute(delete(AttributeRequirement).where(AttributeRequirement.channel_id == channel.id))
        session.execute(delete(Completeness).where(Completeness.channel_id == channel.id))
        session.delete(channel)
        bump_revision()


# --- association types ----------------------------------------------------------------------


def create_association_type(code: str, *, labels: Mapping[str, str] | None = None, is_quantified: bool = False, is_two_way: bool = False) -> AssociationType:
    """Create an association type (cross-sell, up-sell, substitution, pack with quantities)."""
    check_code(code)
    if is_quantified and is_two_way:
        raise Invalid.one("is_two_way", "A quantified association cannot be two-way", ErrorCode.INVALID_FORMAT)
    with db.transaction() as session:
        _refuse_duplicate(AssociationType, code, "Association type")
        association_type = AssociationType(code=code, labels=dict(labels or {}), is_quantified=is_quantified, is_two_way=is_two_way)
        session.add(association_type)
        session.flush()
        bump_revision()
    return association_type
