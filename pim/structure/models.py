"""Catalogue structure: locales, currencies, measurements, attributes, families, channels."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import Column, Enum, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pim.db import Base, Code, JsonDocument, Labels


class AttributeType(enum.StrEnum):
    """Attribute types, named as Akeneo names them so files and API payloads carry over."""

    IDENTIFIER = "pim_catalog_identifier"
    TEXT = "pim_catalog_text"
    TEXTAREA = "pim_catalog_textarea"
    NUMBER = "pim_catalog_number"
    METRIC = "pim_catalog_metric"
    PRICE_COLLECTION = "pim_catalog_price_collection"
    BOOLEAN = "pim_catalog_boolean"
    DATE = "pim_catalog_date"
    SIMPLE_SELECT = "pim_catalog_simpleselect"
    MULTI_SELECT = "pim_catalog_multiselect"
    IMAGE = "pim_catalog_image"
    FILE = "pim_catalog_file"


def _enum_column(enum_class: type[enum.Enum]) -> Enum:
    return Enum(
        enum_class,
        native_enum=False,
        length=40,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Locale(Base):
    """A locale such as en_US; active when at least one channel uses it."""

    __tablename__ = "locale"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[Code] = mapped_column(unique=True)

    def __repr__(self) -> str:
        return f"<Locale {self.code}>"


class Currency(Base):
    """An ISO 4217 currency; prices may only use enabled currencies."""

    __tablename__ = "currency"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(3), unique=True)
    is_enabled: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<Currency {self.code}>"


class MeasurementFamily(Base):
    """A physical quantity (weight, length...) and its units."""

    __tablename__ = "measurement_family"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[Code] = mapped_column(unique=True)
    labels: Mapped[Labels]
    standard_unit: Mapped[Code]
    units: Mapped[list[MeasurementUnit]] = relationship(back_populates="family", cascade="all, delete-orphan", order_by="MeasurementUnit.sort_order")


class MeasurementUnit(Base):
    """A unit; `base = amount * factor + offset` converts an amount to the family's standard unit."""

    __tablename__ = "measurement_unit"
    __table_args__ = (UniqueConstraint("family_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("measurement_family.id", ondelete="CASCADE"))
    code: Mapped[Code]
    labels: Mapped[Labels]
    symbol: Mapped[str] = mapped_column(String(20), default="")
    # Decimal strings, so conversions are exact.
    factor: Mapped[str] = mapped_column(String(60), default="1")
    offset: Mapped[str] = mapped_column(String(60), default="0")
    sort_order: Mapped[int] = mapped_column(default=0)
    family: Mapped[MeasurementFamily] = relationship(back_populates="units")


class AttributeGroup(Base):
    """A group of attributes shown together in the product form."""

    __tablename__ = "attribute_group"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[Code] = mapped_column(unique=True)
    labels: Mapped[Labels]
    sort_order: Mapped[int] = mapped_column(default=0)
    attributes: Mapped[list[Attribute]] = relationship(back_populates="group")


class Attribute(Base):
    """A typed property of products, with its validation rules."""

    __tablename__ = "attribute"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[Code] = mapped_column(unique=True)
    type: Mapped[AttributeType] = mapped_column(_enum_column(AttributeType))
    group_id: Mapped[int] = mapped_column(ForeignKey("attribute_group.id"))
    labels: Mapped[Labels]
    sort_order: Mapped[int] = mapped_column(default=0)
    is_localizable: Mapped[bool] = mapped_column(default=False)
    is_scopable: Mapped[bool] = mapped_column(default=False)
    is_unique: Mapped[bool] = mapped_column(default=False)
    # Locale-specific attribute: values exist only for these locales (None means all).
    available_locales: Mapped[list[Any] | None] = mapped_column(JsonDocument)
    max_characters: Mapped[int | None]
    validation_regexp: Mapped[str | None] = mapped_column(Text)
    is_wysiwyg: Mapped[bool] = mapped_column(default=False)
    number_min: Mapped[str | None] = mapped_column(String(60))
    number_max: Mapped[str | None] = mapped_column(String(60))
    is_decimals_allowed: Mapped[bool] = mapped_column(default=True)
    is_negative_allowed: Mapped[bool] = mapped_column(default=True)
    date_min: Mapped[str | None] = mapped_column(String(10))
    date_max: Mapped[str | None] = mapped_column(String(10))
    allowed_extensions: Mapped[list[Any] | None] = mapped_column(JsonDocument)
    max_file_size: Mapped[int | None]
    metric_family: Mapped[str | None] = mapped_column(String(100))
    default_metric_unit: Mapped[str | None] = mapped_column(String(100))
    group: Mapped[AttributeGroup] = relationship(back_populates="attributes")

    def __repr__(self) -> str:
        return f"<Attribute {self.code} {self.type.value}>"


class AttributeOption(Base):
    """An allowed value of a simple or multi select attribute."""

    __tablename__ = "attribute_option"
    __table_args__ = (UniqueConstraint("attribute_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    attribute_id: Mapped[int] = mapped_column(ForeignKey("attribute.id", ondelete="CASCADE"))
    code: Mapped[Code]
    labels: Mapped[Labels]
    sort_order: Mapped[int] = mapped_column(default=0)


family_attribute = Table(
    "family_attribute",
    Base.metadata,
    Column("family_id", ForeignKey("family.id", ondelete="CASCADE"), primary_key=True),
    Column("attribute_id", ForeignKey("attribute.id"), primary_key=True, index=True),
)


class Family(Base):
    """A kind of product: its attributes and, per channel, the ones required there."""

    __tablename__ = "family"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[Code] = mapped_column(unique=True)
    labels: Mapped[Labels]
    attribute_as_label_id: Mapped[int | None] = mapped_column(ForeignKey("attribute.id"))
    attribute_as_image_id: Mapped[int | None] = mapped_column(ForeignKey("attribute.id"))
    attributes: Mapped[list[Attribute]] = relationship(secondary=family_attribute, order_by=Attribute.sort_order)
    attribute_as_label: Mapped[Attribute | None] = relationship(foreign_keys=[attribute_as_label_id])
    attribute_as_image: Mapped[Attribute | None] = relationship(foreign_keys=[attribute_as_image_id])
    requirements: Mapped[list[AttributeRequirement]] = relationship(back_populates="family", cascade="all, delete-orphan")
    variants: Mapped[list[FamilyVariant]] = relationship(back_populates="family")


class AttributeRequirement(Base):
    """An attribute a family requires for a channel."""

    __tablename__ = "attribute_requirement"
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True)
    attribute_id: Mapped[int] = mapped_column(ForeignKey("attribute.id"), primary_key=True, index=True)
    family: Mapped[Family] = relationship(back_populates="requirements")
    channel: Mapped[Channel] = relationship()
    attribute: Mapped[Attribute] = relationship()


class FamilyVariant(Base):
    """A family's variant structure: one or two levels, each with its axes and attributes."""

    __tablename__ = "family_variant"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[Code] = mapped_column(unique=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id"))
    labels: Mapped[Labels]
    family: Mapped[Family] = relationship(back_populates="variants")
    attribute_sets: Mapped[list[FamilyVariantAttribute]] = relationship(back_populates="family_variant", cascade="all, delete-orphan")

    @property
    def level_count(self) -> int:
        """Number of variation levels (1 or 2)."""
        return max((s.level for s in self.attribute_sets), default=0)


class FamilyVariantAttribute(Base):
    """An attribute held at one level of a family variant, possibly as an axis of that level."""

    __tablename__ = "family_variant_attribute"
    family_variant_id: Mapped[int] = mapped_column(ForeignKey("family_variant.id", ondelete="CASCADE"), primary_key=True)
    attribute_id: Mapped[int] = mapped_column(ForeignKey("attribute.id"), primary_key=True, index=True)
    level: Mapped[int]
    is_axis: Mapped[bool] = mapped_column(default=False)
    axis_order: Mapped[int] = mapped_column(default=0)
    family_variant: Mapped[FamilyVariant] = relationship(back_populates="attribute_sets")
    attribute: Mapped[Attribute] = relationship()


channel_locale = Table(
    "channel_locale",
    Base.metadata,
    Column("channel_id", ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True),
    Column("locale_id", ForeignKey("locale.id"), primary_key=True, index=True),
)

channel_currency = Table(
    "channel_currency",
    Base.metadata,
    Column("channel_id", ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True),
    Column("currency_id", ForeignKey("currency.id"), primary_key=True, index=True),
)


class Channel(Base):
    """A destination and the scope of scopable values: its locales, currencies, category tree and fallback."""

    __tablename__ = "channel"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[Code] = mapped_column(unique=True)
    labels: Mapped[Labels]
    category_tree_id: Mapped[int] = mapped_column(ForeignKey("category.id"))
    # where a product has no scopable value of its own for this channel, the fallback's is used
    fallback_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id", ondelete="SET NULL"))
    locales: Mapped[list[Locale]] = relationship(secondary=channel_locale, order_by=Locale.code)
    currencies: Mapped[list[Currency]] = relationship(secondary=channel_currency, order_by=Currency.code)

    def __repr__(self) -> str:
        return f"<Channel {self.code}>"


class AssociationType(Base):
    """A kind of link between products: cross-sell, up-sell, substitution, pack (with quantities)."""

    __tablename__ = "association_type"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[Code] = mapped_column(unique=True)
    labels: Mapped[Labels]
    is_quantified: Mapped[bool] = mapped_column(default=False)
    is_two_way: Mapped[bool] = mapped_column(default=False)


class StructureRevision(Base):
    """A single counter bumped by every structure change, so cached structure knows it is stale."""

    __tablename__ = "structure_revision"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[str] = mapped_column(String(32), default="")


__all__ = [
    "Attribute",
    "AttributeGroup",
    "AttributeOption",
    "AttributeRequirement",
    "AttributeType",
    "AssociationType",
    "Channel",
    "Currency",
    "Family",
    "FamilyVariant",
    "FamilyVariantAttribute",
    "Locale",
    "MeasurementFamily",
    "MeasurementUnit",
    "StructureRevision",
]
