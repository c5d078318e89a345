"""A read-only, cached picture of the catalogue structure for the write and read paths.

Validating a million products must not query attributes, families and channels per product,
so the structure is loaded once into plain Python objects and reused until a structure
service changes it (each change writes a new random revision token).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from pim import db
from pim.structure.models import (
    AssociationType,
    Attribute,
    AttributeOption,
    AttributeRequirement,
    AttributeType,
    Channel,
    Currency,
    Family,
    FamilyVariant,
    Locale,
    MeasurementFamily,
    StructureRevision,
    channel_currency,
    channel_locale,
    family_attribute,
)

ALL_CHANNELS = "<all_channels>"
ALL_LOCALES = "<all_locales>"


@dataclass(frozen=True)
class AttributeInfo:
    """What the write path needs to know about an attribute."""

    id: int
    code: str
    type: AttributeType
    is_localizable: bool
    is_scopable: bool
    is_unique: bool
    available_locales: frozenset[str] | None
    max_characters: int | None
    validation_regexp: str | None
    number_min: Decimal | None
    number_max: Decimal | None
    is_decimals_allowed: bool
    is_negative_allowed: bool
    date_min: str | None
    date_max: str | None
    allowed_extensions: frozenset[str] | None
    max_file_size: int | None
    metric_family: str | None
    default_metric_unit: str | None
    labels: dict[str, str]
    options: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FamilyInfo:
    """A family's attributes and its required attributes per channel."""

    id: int
    code: str
    attributes: frozenset[str]
    attribute_as_label: str | None
    attribute_as_image: str | None
    requirements: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class VariantLevel:
    """One level of a family variant: its axes (in order) and the attributes held there."""

    level: int
    axes: tuple[str, ...]
    attributes: frozenset[str]


@dataclass(frozen=True)
class FamilyVariantInfo:
    """A family variant's levels; attributes of no level are common, held by the root model."""

    id: int
    code: str
    family: str
    levels: tuple[VariantLevel, ...]

    @property
    def level_count(self) -> int:
        """Number of variation levels."""
        return len(self.levels)


@dataclass(frozen=True)
class ChannelInfo:
    """A channel's locales, currencies, category tree and the chain of scopes its values are read from."""

    id: int
    code: str
    locales: tuple[str, ...]
    currencies: tuple[str, ...]
    category_tree_id: int
    labels: dict[str, str]
    # this channel first, then its fallback, then the fallback's own fallback...
    scopes: tuple[str, ...] = ()

    @property
    def fallback(self) -> str | None:
        """Return the code of the channel whose values this one falls back to, or None."""
        return self.scopes[1] if len(self.scopes) > 1 else None


@dataclass(frozen=True)
class UnitInfo:
    """A unit's conversion to its family's standard unit."""

    code: str
    factor: Decimal
    offset: Decimal
    symbol: str


@dataclass(frozen=True)
class MeasurementInfo:
    """A measurement family's standard unit and units."""

    code: str
    standard_unit: str
    units: dict[str, UnitInfo]


@dataclass
class Structure:
    """The whole catalogue structure, keyed by code."""

    revision: str
    attributes: dict[str, AttributeInfo] = field(default_factory=dict)
    attributes_by_id: dict[int, AttributeInfo] = field(default_factory=dict)
    identifier_attribute: str = "sku"
    families: dict[str, FamilyInfo] = field(default_factory=dict)
    families_by_id: dict[int, FamilyInfo] = field(default_factory=dict)
    family_variants: dict[str, FamilyVariantInfo] = field(default_factory=dict)
    family_variants_by_id: dict[int, FamilyVariantInfo] = field(default_factory=dict)
    channels: dict[str, ChannelInfo] = field(default_factory=dict)
    locales: dict[str, int] = field(default_factory=dict)
    active_locales: frozenset[str] = frozenset()
    currencies: frozenset[str] = frozenset()
    measurements: dict[str, MeasurementInfo] = field(default_factory=dict)
    association_types: dict[str, tuple[int, bool]] = field(default_factory=dict)
    # unique attributes other than the identifier (an EAN), checked on every product write
    unique_attributes: tuple[AttributeInfo, ...] = ()
    # image and file attributes, whose values name stored media files
    media_attributes: tuple[str, ...] = ()
    # (attribute, locale, channel) triples already found valid, so each is checked once
    checked_dimensions: set[tuple[str, Any, Any]] = field(default_factory=set)

    def attribute(self, code: str) -> AttributeInfo | None:
        """Return an attribute by code, or None."""
        return self.attributes.get(code)


_cache: dict[str, Structure] = {}
_lock = threading.Lock()


def current_revision() -> str:
    """Return the structure revision token stored in the database."""
    token = db.session.execute(select(StructureRevision.revision).where(StructureRevision.id == 1)).scalar()
    return str(token) if token is not None else ""


def bump_revision() -> None:
    """Mark the structure as changed, so every cached copy is reloaded."""
    token = uuid.uuid4().hex
    row = db.session.get(StructureRevision, 1)
    if row is None:
        db.session.add(StructureRevision(id=1, revision=token))
    else:
        row.revision = token
    db.session.flush()


def get_structure() -> Structure:
    """Return the current structure, from cache when nothing changed since it was loaded."""
    revision = current_revision()
    bind = db.session.get_bind()
    key = str(getattr(bind, "engine", bind).url)
    cached = _cache.get(key)
    if cached is not None and cached.revision == revision and revision:
        return cached
    structure = _load(revision)
    with _lock:
        _cache[key] = structure
    return structure


def _decimal(value: str | None) -> Decimal | None:
    return Decimal(value) if value not in (None, "") else None


def _load(revision: str) -> Structure:
    session = db.session
    structure = Structure(revision=revision)
    options: dict[int, set[str]] = {}
    for attribute_id, code in session.execute(select(AttributeOption.attribute_id, AttributeOption.code)):
        options.setdefault(attribute_id, set()).add(code)
    for a in session.scalars(select(Attribute)):
        info = AttributeInfo(
            id=a.id,
            code=a.code,
            type=a.type,
            is_localizable=a.is_localizable,
            is_scopable=a.is_scopable,
            is_unique=a.is_unique,
            available_locales=frozenset(a.available_locales) if a.available_locales else None,
            max_characters=a.max_characters,
            validation_regexp=a.validation_regexp,
            number_min=_decimal(a.number_min),
            number_max=_decimal(a.number_max),
            is_decimals_allowed=a.is_decimals_allowed,
            is_negative_allowed=a.is_negative_allowed,
            date_min=a.date_min,
            date_max=a.date_max,
            allowed_extensions=frozenset(e.lower() for e in a.allowed_extensions) if a.allowed_extensions else None,
            max_file_size=a.max_file_size,
            metric_family=a.metric_family,
            default_metric_unit=a.default_metric_unit,
            labels=dict(a.labels or {}),
            options=frozenset(options.get(a.id, ())),
        )
        structure.attributes[a.code] = info
        structure.attributes_by_id[a.id] = info
        if a.type is AttributeType.IDENTIFIER:
            structure.identifier_attribute = a.code

    structure.unique_attributes = tuple(a for a in structure.attributes.values() if a.is_unique and a.type is not AttributeType.IDENTIFIER)
    structure.media_attributes = tuple(a.code for a in structure.attributes.values() if a.type in (AttributeType.IMAGE, AttributeType.FILE))
    code_of = {i: a.code for i, a in structure.attributes_by_id.items()}
    channel_codes = dict(session.execute(select(Channel.id, Channel.code)).all())
    family_attrs: dict[int, set[str]] = {}
    for family_id, attribute_id in session.execute(select(family_attribute.c.family_id, family_attribute.c.attribute_id)):
        family_attrs.setdefault(family_id, set()).add(code_of[attribute_id])
    requirements: dict[int, dict[str, list[str]]] = {}
    for family_id, channel_id, attribute_id in session.execute(
        select(AttributeRequirement.family_id, AttributeRequirement.channel_id, AttributeRequirement.attribute_id)
    ):
        requirements.setdefault(family_id, {}).setdefault(channel_codes[channel_id], []).append(code_of[attribute_id])
    for f in session.scalars(select(Family)):
        required = {channel: tuple(sorted({structure.identifier_attribute, *codes})) for channel, codes in requirements.get(f.id, {}).items()}
        for channel in channel_codes.values():
            required.setdefault(channel, (structure.identifier_attribute,))
        info_f = FamilyInfo(
            id=f.id,
            code=f.code,
            attributes=frozenset(family_attrs.get(f.id, set()) | {structure.identifier_attribute}),
            attribute_as_label=code_of.get(f.attribute_as_label_id) if f.attribute_as_label_id else None,
            attribute_as_image=code_of.get(f.attribute_as_image_id) if f.attribute_as_image_id else None,
            requirements=required,
        )
        structure.families[f.code] = info_f
        structure.families_by_id[f.id] = info_f

    for fv in session.scalars(select(FamilyVariant)):
        by_level: dict[int, list] = {}
        for s in fv.attribute_sets:
            by_level.setdefault(s.level, []).append(s)
        levels = []
        for level in sorted(by_level):
            sets = by_level[level]
            axes = tuple(code_of[s.attribute_id] for s in sorted(sets, key=lambda s: s.axis_order) if s.is_axis)
            levels.append(VariantLevel(level, axes, frozenset(code_of[s.attribute_id] for s in sets)))
        info_fv = FamilyVariantInfo(fv.id, fv.code, structure.families_by_id[fv.family_id].code, tuple(levels))
        structure.family_variants[fv.code] = info_fv
        structure.family_variants_by_id[fv.id] = info_fv

    locale_codes = dict(session.execute(select(Locale.id, Locale.code)).all())
    structure.locales = {code: i for i, code in locale_codes.items()}
    currency_codes = dict(session.execute(select(Currency.id, Currency.code)).all())
    channel_locales: dict[int, list[str]] = {}
    for channel_id, locale_id in session.execute(select(channel_locale.c.channel_id, channel_locale.c.locale_id)):
        channel_locales.setdefault(channel_id, []).append(locale_codes[locale_id])
    channel_currencies: dict[int, list[str]] = {}
    for channel_id, currency_id in session.execute(select(channel_currency.c.channel_id, channel_currency.c.currency_id)):
        channel_currencies.setdefault(channel_id, []).append(currency_codes[currency_id])
    channel_rows = list(session.scalars(select(Channel)))
    fallback_of = {c.id: c.fallback_id for c in channel_rows}
    code_of_channel = {c.id: c.code for c in channel_rows}
    for c in channel_rows:
        chain = [c.code]
        next_id = fallback_of.get(c.id)
        while next_id is not None and code_of_channel[next_id] not in chain:
            chain.append(code_of_channel[next_id])
            next_id = fallback_of.get(next_id)
        structure.channels[c.code] = ChannelInfo(
            id=c.id,
            code=c.code,
            locales=tuple(sorted(channel_locales.get(c.id, []))),
            currencies=tuple(sorted(channel_currencies.get(c.id, []))),
            category_tree_id=c.category_tree_id,
            labels=dict(c.labels or {}),
            scopes=tuple(chain),
        )
    structure.active_locales = frozenset(code for c in structure.channels.values() for code in c.locales)
    structure.currencies = frozenset(session.scalars(select(Currency.code).where(Currency.is_enabled)))

    for mf in session.scalars(select(MeasurementFamily)):
        structure.measurements[mf.code] = MeasurementInfo(
            code=mf.code,
            standard_unit=mf.standard_unit,
            units={u.code: UnitInfo(u.code, Decimal(u.factor), Decimal(u.offset), u.symbol) for u in mf.units},
        )
    for at in session.scalars(select(AssociationType)):
        structure.association_types[at.code] = (at.id, at.is_quantified)
    return structure
