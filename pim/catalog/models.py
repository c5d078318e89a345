"""Catalogue content: categories, product models, products, completeness, media files."""

from __future__ import annotations

import unicodedata
import uuid as uuid_module
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pim.db import Base, Code, JsonDocument, Labels, Timestamp, new_uuid

# Identifiers and their keys are compared byte by byte on every backend, so "starts with" is an
# index range and no database collation decides which identifiers count as the same.
IdentifierKey = String(1000).with_variant(String(1000, collation="C"), "postgresql")


def identifier_key(identifier: str) -> str:
    """Return the form product identifiers and model codes are unique in: case and Unicode composition ignored.

    "A238B", "a238b" and "A238b" name one product, as they do in Akeneo; so do an "é" typed as
    one character and as "e" plus an accent.
    """
    if identifier.isascii():
        return identifier.lower()
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", identifier).casefold())


def _identifier_key_of_row(context: Any) -> str:
    return identifier_key(context.get_current_parameters()["identifier"])


def _code_key_of_row(context: Any) -> str:
    return identifier_key(context.get_current_parameters()["code"])


class Category(Base):
    """A node of a category tree; a category without parent is a tree root.

    `path` lists the ids from the root down to the node ("/1/7/42/"), so "this category or any
    below" is one prefix match on the small category table, then an index lookup on the links.
    """

    __tablename__ = "category"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[Code] = mapped_column(unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"), index=True)
    root_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    path: Mapped[str] = mapped_column(String(1000), index=True, default="")
    level: Mapped[int] = mapped_column(default=0)
    sort_order: Mapped[int] = mapped_column(default=0)
    labels: Mapped[Labels]
    parent: Mapped[Category | None] = relationship(remote_side=[id], foreign_keys=[parent_id])

    def __repr__(self) -> str:
        return f"<Category {self.code}>"


class ProductModel(Base):
    """The shared values of a group of variant products (a root model or a sub-model)."""

    __tablename__ = "product_model"
    __table_args__ = (
        UniqueConstraint("parent_id", "axis_key"),
        Index("uq_product_model_code_key", "code_key", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(255), unique=True)
    # identifier_key(code): model codes ignore case as product identifiers do
    code_key: Mapped[str | None] = mapped_column(IdentifierKey, default=_code_key_of_row)
    family_variant_id: Mapped[int] = mapped_column(ForeignKey("family_variant.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("product_model.id"), index=True)
    axis_key: Mapped[str | None] = mapped_column(String(1000))
    values: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    categories: Mapped[list[Any]] = mapped_column(JsonDocument, default=list)
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]
    version: Mapped[int] = mapped_column(default=1)

    def __repr__(self) -> str:
        return f"<ProductModel {self.code}>"


class Product(Base):
    """A sellable item, identified by its SKU and a stable UUID; values are one JSON document."""

    __tablename__ = "product"
    __table_args__ = (
        UniqueConstraint("parent_id", "axis_key"),
        # Keyset pages sorted by update time: the id breaks ties so a page never sorts a tie group.
        # PostgreSQL keeps the parent beside them, so filters that test it (textareas, inherited
        # values) walk the index without reading each product.
        Index("ix_product_updated", "updated_at", "id", postgresql_include=["parent_id"]),
        Index("ix_product_family_updated", "family_id", "updated_at", "id"),
        Index("ix_product_enabled_updated", "is_enabled", "updated_at", "id"),
        # Walking enabled products by key (exports, grids sorted by id): without it SQLite answers
        # `is_enabled AND id > ? ORDER BY id LIMIT n` from the index above, sorting every match per page.
        Index("ix_product_enabled_id", "is_enabled", "id"),
        Index("uq_product_identifier_key", "identifier_key", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(Uuid, unique=True, default=new_uuid)
    identifier: Mapped[str] = mapped_column(String(255), unique=True)
    # identifier_key(identifier): what makes two identifiers the same product
    identifier_key: Mapped[str | None] = mapped_column(IdentifierKey, default=_identifier_key_of_row)
    family_id: Mapped[int | None] = mapped_column(ForeignKey("family.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("product_model.id"), index=True)
    axis_key: Mapped[str | None] = mapped_column(String(1000))
    is_enabled: Mapped[bool] = mapped_column(default=True)
    values: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    categories: Mapped[list[Any]] = mapped_column(JsonDocument, default=list)
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]
    version: Mapped[int] = mapped_column(default=1)

    def __repr__(self) -> str:
        return f"<Product {self.identifier}>"


# The tables from here to UniqueValue are derived from each product's values, categories and
# models, and rewritten by the write path with the product. They carry no foreign keys: on
# PostgreSQL each key is a trigger run once per inserted row, which doubled the time of a bulk
# load. The services that delete products and channels delete their rows themselves.


class ProductCategory(Base):
    """A product's classification, its own categories plus those inherited from its models."""

    __tablename__ = "product_category"
    category_id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(primary_key=True)
    __table_args__ = (Index("ix_product_category_product", "product_id"),)


class Completeness(Base):
    """An incomplete (product, channel, locale) pair: how many required values and which are missing.

    Complete pairs have no row; their figures follow from the family's requirements. This keeps
    the table to the pairs users act on, and "complete" filters to a NOT EXISTS probe.
    """

    __tablename__ = "completeness"
    __table_args__ = (Index("ix_completeness_channel_locale_ratio", "channel_id", "locale_id", "ratio", "product_id"),)
    product_id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(primary_key=True)
    locale_id: Mapped[int] = mapped_column(primary_key=True)
    required: Mapped[int]
    missing: Mapped[int]
    ratio: Mapped[int]
    missing_attributes: Mapped[list[Any]] = mapped_column(JsonDocument, default=list)


class ProductFacet(Base):
    """One option code or yes/no value of a product, its own or inherited from its models.

    Filters and match counts on select, multi-select and boolean attributes read this table's
    key instead of every product's values document. The write path keeps it in step with
    the values.
    """

    __tablename__ = "product_facet"
    __table_args__ = (Index("ix_product_facet_product", "product_id"), {"sqlite_with_rowid": False})
    attribute_id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    locale: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)
    product_id: Mapped[int] = mapped_column(primary_key=True)


class ProductNumber(Base):
    """One number a product holds, its own or inherited: a number, a measure in its family's
    standard unit, a price in one currency (`unit`), or a date as its day number.

    Comparisons and match counts on number, metric, price and date attributes are range scans
    of this table's key instead of reads of every product's values document.
    """

    __tablename__ = "product_number"
    __table_args__ = (Index("ix_product_number_product", "product_id"), {"sqlite_with_rowid": False})
    attribute_id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    locale: Mapped[str] = mapped_column(String(100), primary_key=True)
    unit: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[float] = mapped_column(Float, primary_key=True)
    product_id: Mapped[int] = mapped_column(primary_key=True)


class ProductText(Base):
    """One single-line text a product holds, its own or inherited, lower-cased in every alphabet.

    Text filters (CONTAINS, STARTS WITH, ...) and their match counts scan one attribute's
    short rows here instead of every product's values document.
    """

    __tablename__ = "product_text"
    __table_args__ = (Index("ix_product_text_product", "product_id"), {"sqlite_with_rowid": False})
    attribute_id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    locale: Mapped[str] = mapped_column(String(100), primary_key=True)
    product_id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ProductLongText(Base):
    """One textarea text a product holds itself, lower-cased in every alphabet.

    Textarea filters scan these rows instead of every product's values document. The table has
    no key of its own (a heap on PostgreSQL, a rowid table on SQLite): a bulk load appends its
    rows; small indexes find the rows of a product, and those of one attribute, channel and
    locale. A model's texts are in `model_long_text`, kept once for all its variants.
    """

    __tablename__ = "product_long_text"
    __table_args__ = (Index("ix_product_long_text_product", "product_id"), Index("ix_product_long_text_slot", "attribute_id", "scope", "locale"))
    __mapper_args__ = {"primary_key": ["product_id", "attribute_id", "scope", "locale"]}
    product_id: Mapped[int] = mapped_column()
    attribute_id: Mapped[int] = mapped_column()
    scope: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(Text)


class ModelLongText(Base):
    """One textarea text a product model holds itself, lower-cased in every alphabet: textarea
    filters find the models whose text matches here, then the variants below them."""

    __tablename__ = "model_long_text"
    __table_args__ = (Index("ix_model_long_text_model", "model_id"), Index("ix_model_long_text_slot", "attribute_id", "scope", "locale"))
    __mapper_args__ = {"primary_key": ["model_id", "attribute_id", "scope", "locale"]}
    model_id: Mapped[int] = mapped_column()
    attribute_id: Mapped[int] = mapped_column()
    scope: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(Text)


class UniqueValue(Base):
    """The value of a unique attribute (an EAN) held by a product, unique across the catalogue."""

    __tablename__ = "unique_value"
    attribute_id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)
    product_id: Mapped[int] = mapped_column(index=True)


class ProductAssociation(Base):
    """A link from a product to another product or product model, with a quantity for packs."""

    __tablename__ = "product_association"
    __table_args__ = (UniqueConstraint("owner_id", "association_type_id", "target_product_id", "target_model_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    association_type_id: Mapped[int] = mapped_column(ForeignKey("association_type.id"), index=True)
    target_product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    target_model_id: Mapped[int | None] = mapped_column(ForeignKey("product_model.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int | None]


class MediaFile(Base):
    """An uploaded file, stored once under the instance folder by the hash of its content."""

    __tablename__ = "media_file"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    original_filename: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    created_at: Mapped[Timestamp]


__all__ = [
    "Category",
    "Completeness",
    "MediaFile",
    "Product",
    "ProductAssociation",
    "ProductCategory",
    "ProductModel",
    "UniqueValue",
    "identifier_key",
]
