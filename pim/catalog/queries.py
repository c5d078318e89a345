"""Selecting products: the one query service behind the grid, the CLI, exports and bulk edits.

Filters use the JSON syntax of Akeneo's REST API `search` parameter, so a filter can be stored
(saved views, export profiles, bulk edits) and copied from Akeneo tooling unchanged:

    {"family": [{"operator": "IN", "value": ["shoes"]}],
     "completeness": [{"operator": ">=", "value": 100, "scope": "ecommerce", "locale": "en_US"}],
     "name": [{"operator": "CONTAINS", "value": "boot", "locale": "en_US"}],
     "search": [{"operator": "=", "value": "red boot"}]}

Negative operators on attribute values (!=, NOT IN, DOES NOT CONTAIN, NOT BETWEEN) select the
products that hold a value, their own or inherited from a model, as Akeneo does; EMPTY selects
the others. CONTAINS, STARTS WITH and ENDS WITH ignore case in every alphabet; = and IN do not.

Pages are read by keyset (`after` cursor), never by OFFSET, so page 10,000 costs what page 1 does.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Float,
    Numeric,
    String,
    and_,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement, Select

from pim import db
from pim.catalog.facets import FACETED_TYPES, LONG_TEXT_TYPES, NUMBERED_TYPES, TEXTED_TYPES, day_number, slot
from pim.catalog.models import (
    Category,
    Completeness,
    ModelLongText,
    Product,
    ProductCategory,
    ProductFacet,
    ProductLongText,
    ProductModel,
    ProductNumber,
    ProductText,
    identifier_key,
)
from pim.catalog.search import match_condition
from pim.errors import ErrorCode, Invalid
from pim.structure.models import AttributeType
from pim.structure.snapshot import ALL_CHANNELS, ALL_LOCALES, AttributeInfo, Structure, get_structure

FIELD_PROPERTIES = {"identifier", "uuid", "family", "enabled", "categories", "completeness", "updated", "created", "parent", "search"}
SORT_FIELDS = {"identifier", "updated", "created", "label"}
MAX_PAGE = 1000
# Number of matches above which a category or option filter probes per product (see linked()).
BIG_SUBTREE = 20000
_LOWEST = Decimal("-1e300")


@dataclass
class Page:
    """A page of products, the cursor of the next page (None on the last) and the match count."""

    items: list[Any]
    next_cursor: str | None
    count: int | None = None


@dataclass
class ProductQuery:
    """A stored-able description of a product selection: filters, sort and locale for labels."""

    filters: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    sort: str = "identifier"
    descending: bool = False
    locale: str | None = None
    scope: str | None = None


def _bad(field_name: str, message: str, code: str = ErrorCode.INVALID_FORMAT) -> Invalid:
    return Invalid.one(f"search.{field_name}", message, code)


def parse_filters(raw: Any) -> dict[str, list[dict[str, Any]]]:
    """Read a filter given as JSON text or a mapping; refuse anything not in the search syntax."""
    if raw in (None, ""):
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise Invalid.one("search", f"The filter is not valid JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(raw, Mapping):
        raise Invalid.one("search", 'The filter must be an object like {"family": [{"operator": "IN", "value": ["shoes"]}]}')
    filters = {}
    for name, conditions in raw.items():
        if isinstance(conditions, Mapping):
            conditions = [conditions]
        if not isinstance(conditions, list) or not all(isinstance(c, Mapping) and "operator" in c for c in conditions):
            raise _bad(name, f"Filter on {name!r} must be a list of {{operator, value}} objects")
        filters[name] = [dict(c) for c in conditions]
    return filters


class _Builder:
    """Turn filters into SQL conditions, joining product models only when attribute values are read."""

    def __init__(self, structure: Structure, query: ProductQuery, *, is_count: bool = False):
        self.structure = structure
        self.query = query
        # a count reads every match, so set-based conditions beat per-product probes
        self.is_count = is_count
        self.parent = aliased(ProductModel, name="parent_model")
        self.grandparent = aliased(ProductModel, name="grandparent_model")
        self.needs_models = False
        self.dialect = db.session.get_bind().dialect.name

    # -- value expressions over the product and its models

    def documents(self, attribute: AttributeInfo) -> list[Any]:
        """Return the JSON documents where a value of the attribute may live (product, models)."""
        self.needs_models = True
        return [Product.values, self.parent.values, self.grandparent.values]

    def path(self, attribute: AttributeInfo, locale: str | None, scope: str | None, name: str) -> tuple[str, str, str]:
        locale = locale or self.query.locale
        scope = scope or self.query.scope
        if attribute.is_localizable and not locale:
            raise _bad(name, f"Attribute {attribute.code!r} is localizable: give a locale", ErrorCode.REQUIRED)
        if attribute.is_scopable and not scope:
            raise _bad(name, f"Attribute {attribute.code!r} is scopable: give a scope (channel)", ErrorCode.REQUIRED)
        return (
            attribute.code,
            scope if attribute.is_scopable else ALL_CHANNELS,
            locale if attribute.is_localizable else ALL_LOCALES,
        )

    def scalar(self, document: Any, path: tuple[str, ...]) -> ColumnElement[Any]:
        """Return the text of the value at a path of a JSON document."""
        if self.dialect == "postgresql":
            return document.op("#>>")(literal(list(path), type_=_text_array()))
        return func.json_extract(document, _sqlite_path(path))

    def numeric(self) -> Any:
        """Return the type numbers are compared in: exact on PostgreSQL, floating point on SQLite."""
        return Numeric() if self.dialect == "postgresql" else Float()

    def any_document(self, attribute: AttributeInfo, build: Any) -> ColumnElement[bool]:
        return or_(*(build(document) for document in self.documents(attribute)))

    def none_of_documents(self, attribute: AttributeInfo, path: tuple[str, ...], build: Any) -> ColumnElement[bool]:
        """Match products holding a value at the path (own or inherited) for which no document meets `build`."""
        # The models' documents are NULL for products without models, and NULL OR false is
        # NULL: without the coalesce, NOT would drop every product whose value does not match.
        present = self.any_document(attribute, lambda d: self.scalar(d, path).is_not(None))
        return and_(present, not_(func.coalesce(self.any_document(attribute, build), false())))

    def fold(self, column: Any) -> ColumnElement[Any]:
        """Return a text lower-cased in every alphabet, as Python's str.lower does."""
        if self.dialect != "sqlite":
            return func.lower(column)
        # SQLite's own lower() and LIKE fold ASCII letters only; pim_lower is Python's (db.py).
        return func.pim_lower(column)

    # -- conditions

    def condition(self, name: str, spec: Mapping[str, Any]) -> ColumnElement[bool]:
        operator = str(spec.get("operator", "")).upper().strip()
        value = spec.get("value")
        if name in ("identifier", self.structure.identifier_attribute):
            return _identifier_condition(operator, value, name)
        if name == "search":
            if not isinstance(value, str):
                raise _bad(name, "Full-text search needs a text value")
            return match_condition(value)
        if name == "uuid":
            return _in_condition(
                cast(Product.uuid, String), operator, [str(v).replace("-", "") if self.dialect == "sqlite" else str(v) for v in _list(value, name)], name
            )
        if name == "family":
            return self.family(operator, value)
        if name == "enabled":
            if operator not in ("=", "!=") or not isinstance(value, bool):
                raise _bad(name, "Filter on 'enabled' takes = or != and true or false")
            return Product.is_enabled == value if operator == "=" else Product.is_enabled != value
        if name == "categories":
            return self.categories(operator, value)
        if name == "completeness":
            return self.completeness(operator, value, spec)
        if name in ("updated", "created"):
            return _date_condition(Product.updated_at if name == "updated" else Product.created_at, operator, value, name)
        if name == "parent":
            return self.parent_condition(operator, value)
        attribute = self.structure.attributes.get(name)
        if attribute is None:
            raise _bad(name, f"Cannot filter on {name!r}: no such field or attribute", ErrorCode.UNKNOWN)
        return self.attribute(attribute, operator, value, spec, name)

    def family(self, operator: str, value: Any) -> ColumnElement[bool]:
        if operator == "EMPTY":
            return Product.family_id.is_(None)
        if operator == "NOT EMPTY":
            return Product.family_id.is_not(None)
        codes = _list(value, "family")
        unknown = [c for c in codes if c not in self.structure.families]
        if unknown:
            raise _bad("family", f"Family {unknown[0]!r} does not exist", ErrorCode.UNKNOWN)
        ids = [self.structure.families[c].id for c in codes]
        if operator == "IN":
            return Product.family_id.in_(ids)
        if operator == "NOT IN":
            return or_(Product.family_id.not_in(ids), Product.family_id.is_(None))
        raise _bad("family", f"Operator {operator!r} is not supported on family (IN, NOT IN, EMPTY, NOT EMPTY)")

    def categories(self, operator: str, value: Any) -> ColumnElement[bool]:
        classified = exists().where(ProductCategory.product_id == Product.id)
        if operator == "UNCLASSIFIED":
            return not_(classified)
        codes = _list(value, "categories")
        rows = db.session.execute(select(Category.code, Category.id, Category.path).where(Category.code.in_(codes))).all()
        unknown = set(codes) - {r.code for r in rows}
        if unknown:
            raise _bad("categories", f"Category {sorted(unknown)[0]!r} does not exist", ErrorCode.UNKNOWN)
        if operator in ("IN CHILDREN", "NOT IN CHILDREN"):
            ids = list(db.session.scalars(select(Category.id).where(or_(*(Category.path.startswith(r.path) for r in rows)))))
        elif operator in ("IN", "NOT IN", "IN OR UNCLASSIFIED"):
            ids = [r.id for r in rows]
        else:
            raise _bad("categories", f"Operator {operator!r} is not supported on categories")
        links = select(ProductCategory.product_id).where(ProductCategory.category_id.in_(ids))
        probe = exists().where(ProductCategory.product_id == Product.id, ProductCategory.category_id.in_(ids))
        if operator.startswith("NOT"):
            return not_(probe)
        linked = self.linked(links, probe)
        if operator == "IN OR UNCLASSIFIED":
            return or_(linked, not_(classified))
        return linked

    def linked(self, rows: Select[Any], probe: ColumnElement[bool]) -> ColumnElement[bool]:
        """Match the products whose ids `rows` selects, in the form that reads least.

        A page of many matches (most of the catalogue) is best probed product by product while
        the sort index is walked; a few matches, or a count, are best read whole first. Counting
        the rows up to a bound tells which, reading at most that many index entries.
        """
        whole = Product.id.in_(rows)
        if self.is_count:
            return whole
        is_big = db.session.scalar(select(func.count()).select_from(rows.limit(BIG_SUBTREE).subquery())) >= BIG_SUBTREE
        return probe if is_big else whole

    def holding(
        self, product_id: Any, conditions: Sequence[ColumnElement[bool]], *, but_not: Sequence[ColumnElement[bool]] | None = None
    ) -> ColumnElement[bool]:
        """Match the products with a row of a facets table meeting `conditions` (and, with `but_not`, none meeting those as well)."""
        rows = select(product_id).where(*conditions)
        probe = exists().where(product_id == Product.id, *conditions)
        if but_not is None:
            return self.linked(rows, probe)
        if self.is_count:
            # each set read once: a probe per match would read the facets of every match again
            return Product.id.in_(rows.except_(select(product_id).where(*conditions, *but_not)))
        return and_(self.linked(rows, probe), self.holding_none(product_id, [*conditions, *but_not]))

    def holding_none(self, product_id: Any, conditions: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
        """Match the products with no row of a facets table meeting `conditions`."""
        # NOT EXISTS, never NOT IN: PostgreSQL runs NOT IN over a big set row by row
        return not_(exists().where(product_id == Product.id, *conditions))

    def parent_condition(self, operator: str, value: Any) -> ColumnElement[bool]:
        if operator == "EMPTY":
            return Product.parent_id.is_(None)
        if operator == "NOT EMPTY":
            return Product.parent_id.is_not(None)
        codes = _list(value, "parent")
        ids = select(ProductModel.id).where(ProductModel.code_key.in_([identifier_key(str(code)) for code in codes]))
        if operator == "IN":
            return Product.parent_id.in_(ids)
        if operator == "=":
            return or_(Product.parent_id.in_(ids), Product.parent_id.in_(select(ProductModel.id).where(ProductModel.parent_id.in_(ids))))
        raise _bad("parent", f"Operator {operator!r} is not supported on parent (=, IN, EMPTY, NOT EMPTY)")

    def completeness(self, operator: str, value: Any, spec: Mapping[str, Any]) -> ColumnElement[bool]:
        scope = spec.get("scope") or self.query.scope
        channel = self.structure.channels.get(scope or "")
        if channel is None:
            raise _bad("completeness", f"Completeness needs the scope (channel) it is about; {scope!r} is not a channel", ErrorCode.UNKNOWN_CHANNEL)
        locales = (
            spec.get("locales")
            or ([spec["locale"]] if spec.get("locale") else None)
            or ([self.query.locale] if self.query.locale in channel.locales else list(channel.locales))
        )
        unknown = [loc for loc in locales if loc not in channel.locales]
        if unknown:
            raise _bad("completeness", f"Channel {channel.code!r} has no locale {unknown[0]!r}", ErrorCode.UNKNOWN_LOCALE)
        locale_ids = [self.structure.locales[loc] for loc in locales]
        # Without a suffix, "<" and "<=" hold when one locale is below (the product needs work
        # somewhere) and ">" and ">=" when every locale is above, so the two are complements.
        on_all = operator.endswith(" ON ALL LOCALES")
        on_one = operator.endswith(" ON AT LEAST ONE LOCALE")
        operator = operator.replace(" ON ALL LOCALES", "").replace(" ON AT LEAST ONE LOCALE", "")
        operator = operator.replace("GREATER OR EQUALS THAN", ">=").replace("GREATER THAN", ">")
        operator = operator.replace("LOWER OR EQUALS THAN", "<=").replace("LOWER THAN", "<")
        has_family = Product.family_id.is_not(None)

        def rows(*conditions: ColumnElement[bool], locale_ids: Sequence[int] = locale_ids) -> Any:
            return exists().where(
                Completeness.product_id == Product.id,
                Completeness.channel_id == channel.id,
                Completeness.locale_id.in_(locale_ids),
                *conditions,
            )

        if operator == "COMPLETE":
            return and_(has_family, not_(rows()))
        if operator == "INCOMPLETE":
            return rows()
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise _bad("completeness", f"Completeness compares with a whole percentage, got {value!r}") from None

        def below(strict: bool, every: bool) -> ColumnElement[bool]:
            """Products whose ratio is below the number on every locale, or on at least one."""
            if (number > 100) if strict else (number >= 100):
                return has_family
            condition = Completeness.ratio < number if strict else Completeness.ratio <= number
            if every:
                return and_(*(rows(condition, locale_ids=[i]) for i in locale_ids))
            return rows(condition)

        def above(strict: bool, every: bool) -> ColumnElement[bool]:
            """Products whose ratio is above the number on every locale, or on at least one."""
            # a locale without a row is complete (100)
            if (number >= 100) if strict else (number > 100):
                return false()
            condition = Completeness.ratio <= number if strict else Completeness.ratio < number
            if every:
                return and_(has_family, not_(rows(condition)))
            return and_(has_family, or_(*(not_(rows(condition, locale_ids=[i])) for i in locale_ids)))

        if operator in ("<", "<="):
            return below(operator == "<", every=on_all)
        if operator in (">", ">="):
            return above(operator == ">", every=not on_one)
        if operator in ("=", "!="):
            if number == 100:
                equal = and_(has_family, not_(rows()))
            else:
                equal = and_(*(rows(Completeness.ratio == number, locale_ids=[i]) for i in locale_ids))
            return equal if operator == "=" else and_(has_family, not_(equal))
        raise _bad("completeness", f"Operator {operator!r} is not supported on completeness (=, !=, <, <=, >, >=, COMPLETE, INCOMPLETE)")

    def attribute(self, attribute: AttributeInfo, operator: str, value: Any, spec: Mapping[str, Any], name: str) -> ColumnElement[bool]:
        path = self.path(attribute, spec.get("locale"), spec.get("scope"), name)
        kind = attribute.type
        if kind in FACETED_TYPES and operator in _FACET_OPERATORS:
            return self.facet(attribute, path, operator, value, name)
        if kind in NUMBERED_TYPES:
            return self.number(attribute, path, operator, value, name)
        if kind in TEXTED_TYPES and operator in _TEXT_OPERATORS:
            return self.text(attribute, path, operator, value, name)
        if kind in LONG_TEXT_TYPES and operator in _TEXT_OPERATORS:
            return self.long_text(attribute, path, operator, value, name)
        if operator in ("EMPTY", "NOT EMPTY"):
            present = self.any_document(attribute, lambda d: self.scalar(d, path).is_not(None))
            return not_(present) if operator == "EMPTY" else present
        if kind in (AttributeType.TEXT, AttributeType.TEXTAREA, AttributeType.IDENTIFIER, AttributeType.SIMPLE_SELECT, AttributeType.IMAGE, AttributeType.FILE):
            if kind is AttributeType.SIMPLE_SELECT and operator == "=":
                operator, value = "IN", [value]
            flipped = {"!=": "=", "NOT IN": "IN", "DOES NOT CONTAIN": "CONTAINS"}.get(operator)
            if flipped is None:
                return self.any_document(attribute, lambda d: _text_condition(self.scalar(d, path), operator, value, name, self.fold))
            return self.none_of_documents(attribute, path, lambda d: _text_condition(self.scalar(d, path), flipped, value, name, self.fold))
        if kind is AttributeType.MULTI_SELECT:
            raise _bad(name, f"Operator {operator!r} is not supported on {attribute.code!r} (IN, NOT IN, EMPTY, NOT EMPTY)")
        if kind is AttributeType.BOOLEAN:
            raise _bad(name, f"Filter on {attribute.code!r} takes = or != and true or false")
        raise _bad(name, f"Cannot filter on {attribute.code!r}")

    def facet(self, attribute: AttributeInfo, path: tuple[str, str, str], operator: str, value: Any, name: str) -> ColumnElement[bool]:
        """Filter on options or yes/no through the facets table (own and inherited values alike)."""
        scope, locale = slot(path[1], path[2])
        held = [ProductFacet.attribute_id == attribute.id, ProductFacet.scope == scope, ProductFacet.locale == locale]

        def holding(*conditions: ColumnElement[bool], but_not: Sequence[ColumnElement[bool]] | None = None) -> ColumnElement[bool]:
            return self.holding(ProductFacet.product_id, [*held, *conditions], but_not=but_not)

        if operator == "EMPTY":
            return self.holding_none(ProductFacet.product_id, held)
        if operator == "NOT EMPTY":
            return holding()
        if attribute.type is AttributeType.BOOLEAN:
            if operator not in ("=", "!=") or not isinstance(value, bool):
                raise _bad(name, f"Filter on {attribute.code!r} takes = or != and true or false")
            # every product holds one yes/no value per channel and locale: != true is = false
            return holding(ProductFacet.value == ("true" if value == (operator == "=") else "false"))
        if operator in ("=", "!="):
            if not isinstance(value, str):
                raise _bad(name, f"Filter on {name!r} compares with an option code, got {value!r}")
            codes = [value]
        else:
            codes = [str(v) for v in _list(value, name)]
        if operator in ("=", "IN"):
            return holding(ProductFacet.value.in_(codes))
        if attribute.type is AttributeType.SIMPLE_SELECT:
            return holding(ProductFacet.value.not_in(codes))
        # a product with several options is out when any of them is named
        return holding(but_not=[ProductFacet.value.in_(codes)])

    def text(self, attribute: AttributeInfo, path: tuple[str, str, str], operator: str, value: Any, name: str) -> ColumnElement[bool]:
        """Compare single-line texts through the texts table, lower-cased in every alphabet (own and inherited values alike)."""
        scope, locale = slot(path[1], path[2])
        held = [ProductText.attribute_id == attribute.id, ProductText.scope == scope, ProductText.locale == locale]
        if operator == "EMPTY":
            return self.holding_none(ProductText.product_id, held)
        if operator == "NOT EMPTY":
            return self.holding(ProductText.product_id, held)
        if operator in ("=", "IN", "!=", "NOT IN"):
            if operator in ("=", "!=") and not isinstance(value, str):
                raise _bad(name, f"Filter on {name!r} compares with a text, got {value!r}")
            texts = [value] if operator in ("=", "!=") else [str(v) for v in _list(value, name)]
            # the lower-cased texts narrow the products down; the exact texts are compared on those
            # alone, in a subquery of its own, so the rest never join their models' documents
            product, parent, grandparent = aliased(Product), aliased(ProductModel), aliased(ProductModel)
            narrowed = select(ProductText.product_id).where(*held, ProductText.value.in_([t.lower() for t in texts]))
            exact = (
                select(product.id)
                .outerjoin(parent, parent.id == product.parent_id)
                .outerjoin(grandparent, grandparent.id == parent.parent_id)
                .where(product.id.in_(narrowed), or_(*(self.scalar(d, path).in_(texts) for d in (product.values, parent.values, grandparent.values))))
            )
            if operator in ("=", "IN"):
                return Product.id.in_(exact)
            if self.dialect == "postgresql":
                # NOT EXISTS: an anti-join, where NOT IN would probe the set row by row once it
                # outgrows work_mem
                return and_(self.holding(ProductText.product_id, held), ~exact.where(product.id == Product.id).exists())
            # SQLite builds the set once for NOT IN; NOT EXISTS would run the subquery per product
            return and_(self.holding(ProductText.product_id, held), Product.id.not_in(exact))
        if not isinstance(value, str):
            raise _bad(name, f"Filter on {name!r} compares with a text, got {value!r}")
        matches = self.lowered_match(ProductText.value, operator, value)
        if operator == "DOES NOT CONTAIN":
            return self.holding(ProductText.product_id, held, but_not=[matches])
        return self.holding(ProductText.product_id, [*held, matches])

    def long_text(self, attribute: AttributeInfo, path: tuple[str, str, str], operator: str, value: Any, name: str) -> ColumnElement[bool]:
        """Compare textarea texts, lower-cased in every alphabet, through the rows of the products
        and models that hold them: the matching models' variants are found by their parent."""
        scope, locale = slot(path[1], path[2])

        def holders(product: Any, condition: Callable[[Any], ColumnElement[bool]] | None = None) -> ColumnElement[bool]:
            # products holding a text that meets the condition: their own, their model's or its parent model's
            own = select(ProductLongText.product_id).where(
                ProductLongText.attribute_id == attribute.id, ProductLongText.scope == scope, ProductLongText.locale == locale
            )
            models = select(ModelLongText.model_id).where(
                ModelLongText.attribute_id == attribute.id, ModelLongText.scope == scope, ModelLongText.locale == locale
            )
            if condition is not None:
                own, models = own.where(condition(ProductLongText.value)), models.where(condition(ModelLongText.value))
            # the matching models (their texts scanned once) and the sub-models below them, as one
            # set: one lookup per product. (A set of the matching products' ids instead counts no
            # match faster on PostgreSQL, but a broad match slower, and its pages far slower:
            # a set of every matching variant can outgrow what PostgreSQL hashes.)
            matched = models.cte().prefix_with("MATERIALIZED")
            with_below = select(matched.c.model_id).union_all(select(ProductModel.id).where(ProductModel.parent_id.in_(select(matched.c.model_id))))
            # parent_id IN (...) is NULL for a product without a model: the IS NOT NULL makes it false, so NOT works
            return or_(product.id.in_(own), and_(product.parent_id.is_not(None), product.parent_id.in_(with_below)))

        if operator == "EMPTY":
            return not_(holders(Product))
        if operator == "NOT EMPTY":
            return holders(Product)
        if operator in ("=", "IN", "!=", "NOT IN"):
            if operator in ("=", "!=") and not isinstance(value, str):
                raise _bad(name, f"Filter on {name!r} compares with a text, got {value!r}")
            texts = [value] if operator in ("=", "!=") else [str(v) for v in _list(value, name)]
            lowered = [text.lower() for text in texts]
            # the lower-cased texts narrow the products down; the exact texts are compared on those alone
            product, parent, grandparent = aliased(Product), aliased(ProductModel), aliased(ProductModel)
            exact = (
                select(product.id)
                .outerjoin(parent, parent.id == product.parent_id)
                .outerjoin(grandparent, grandparent.id == parent.parent_id)
                .where(
                    holders(product, lambda column: column.in_(lowered)),
                    or_(*(self.scalar(d, path).in_(texts) for d in (product.values, parent.values, grandparent.values))),
                )
            )
            if operator in ("=", "IN"):
                return Product.id.in_(exact)
            if self.dialect == "postgresql":
                return and_(holders(Product), ~exact.where(product.id == Product.id).exists())
            return and_(holders(Product), Product.id.not_in(exact))
        if not isinstance(value, str):
            raise _bad(name, f"Filter on {name!r} compares with a text, got {value!r}")
        matching = holders(Product, lambda column: self.lowered_match(column, operator, value))
        if operator == "DOES NOT CONTAIN":
            return and_(holders(Product), not_(matching))
        return matching

    def lowered_match(self, column: Any, operator: str, value: str) -> ColumnElement[bool]:
        """Match a column of lower-cased texts against a text for STARTS WITH, ENDS WITH or (DOES NOT) CONTAIN."""
        needle = value.lower()
        if operator in ("CONTAINS", "DOES NOT CONTAIN"):
            # a plain substring search: LIKE '%...%' walks texts in other alphabets several times slower
            return (func.strpos(column, needle) if self.dialect == "postgresql" else func.instr(column, needle)) > 0
        escaped = _like_escape(needle)
        return column.like(f"{escaped}%" if operator == "STARTS WITH" else f"%{escaped}", escape="\\")

    def number(self, attribute: AttributeInfo, path: tuple[str, str, str], operator: str, value: Any, name: str) -> ColumnElement[bool]:
        """Compare numbers, measures, prices or dates through the numbers table (own and inherited values alike)."""
        scope, locale = slot(path[1], path[2])
        kind = attribute.type
        unit: str | None = None
        if operator in ("EMPTY", "NOT EMPTY"):
            bounds: list[ColumnElement[bool]] = []
        elif kind is AttributeType.DATE:
            if operator in ("BETWEEN", "NOT BETWEEN"):
                days = _list(value, name)
                if len(days) != 2:
                    raise _bad(name, f"{operator} on {attribute.code!r} takes two dates, the first and the last day")
                low, high = (_day(day, name) for day in days)
                bounds = [ProductNumber.value.between(low, high)]
            else:
                bounds = [_comparison(ProductNumber.value, operator, _day(value, name), name, attribute, dates=True)]
        elif kind is AttributeType.METRIC:
            if not isinstance(value, Mapping) or "amount" not in value:
                raise _bad(name, f'Filter on {attribute.code!r} takes {{"amount": ..., "unit": ...}}')
            measurement = self.structure.measurements[attribute.metric_family or ""]
            measure = measurement.units.get(value.get("unit") or attribute.default_metric_unit or "")
            if measure is None:
                raise _bad(name, f"Unit {value.get('unit')!r} is not a unit of {measurement.code}", ErrorCode.UNKNOWN_UNIT)
            base = _number(value["amount"], name) * measure.factor + measure.offset
            bounds = [_comparison(ProductNumber.value, operator, float(base), name, attribute)]
        elif kind is AttributeType.PRICE_COLLECTION:
            if not isinstance(value, Mapping) or "amount" not in value or "currency" not in value:
                raise _bad(name, f'Filter on {attribute.code!r} takes {{"amount": ..., "currency": ...}}')
            unit = str(value["currency"])
            bounds = [_comparison(ProductNumber.value, operator, float(_number(value["amount"], name)), name, attribute)]
        else:
            bounds = [_comparison(ProductNumber.value, operator, float(_number(value, name)), name, attribute)]
        held = [ProductNumber.attribute_id == attribute.id, ProductNumber.scope == scope, ProductNumber.locale == locale]
        if kind is not AttributeType.PRICE_COLLECTION or unit is not None:
            # the unit (a currency, "" for the other types) is part of the key: without it, a
            # condition on the value could not narrow the key range
            held.append(ProductNumber.unit == (unit or ""))

        if operator == "EMPTY":
            return self.holding_none(ProductNumber.product_id, held)
        if operator == "NOT BETWEEN":
            return self.holding(ProductNumber.product_id, held, but_not=bounds)
        return self.holding(ProductNumber.product_id, [*held, *bounds])


_TEXT_OPERATORS = frozenset({"=", "!=", "IN", "NOT IN", "STARTS WITH", "ENDS WITH", "CONTAINS", "DOES NOT CONTAIN", "EMPTY", "NOT EMPTY"})
_FACET_OPERATORS = frozenset({"=", "!=", "IN", "NOT IN", "EMPTY", "NOT EMPTY"})


def _text_array() -> Any:
    from sqlalchemy.dialects.postgresql import ARRAY

    return ARRAY(String)


def _sqlite_path(path: Sequence[str]) -> str:
    return "$" + "".join(f'."{part}"' for part in path)


def _list(value: Any, name: str) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    if value is None:
        raise _bad(name, f"Filter on {name!r} needs a value")
    return [value]


def _number(value: Any, name: str) -> Decimal:
    try:
        if isinstance(value, bool):
            raise ValueError
        return Decimal(str(value))
    except Exception:
        raise _bad(name, f"Filter on {name!r} compares with a number, got {value!r}") from None


def _day(value: Any, name: str) -> float:
    try:
        return float(day_number(str(value)))
    except ValueError:
        raise _bad(name, f"Filter on {name!r} takes dates as YYYY-MM-DD, got {value!r}") from None


_COMPARISONS = {"=": "__eq__", "!=": "__ne__", "<": "__lt__", "<=": "__le__", ">": "__gt__", ">=": "__ge__"}


def _comparison(column: Any, operator: str, bound: float, name: str, attribute: AttributeInfo, *, dates: bool = False) -> ColumnElement[bool]:
    method = _COMPARISONS.get(operator)
    if method is None:
        more = ", BETWEEN, NOT BETWEEN" if dates else ""
        raise _bad(name, f"Operator {operator!r} is not supported on {attribute.code!r} (=, !=, <, <=, >, >={more}, EMPTY, NOT EMPTY)")
    return getattr(column, method)(bound)


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _text_condition(column: Any, operator: str, value: Any, name: str, fold: Any = func.lower) -> ColumnElement[bool]:
    if operator in ("IN", "NOT IN"):
        return _in_condition(column, operator, [str(v) for v in _list(value, name)], name)
    if not isinstance(value, str):
        raise _bad(name, f"Filter on {name!r} compares with a text, got {value!r}")
    if operator == "=":
        return column == value
    if operator == "!=":
        return column != value
    # Both sides are lower-cased: LIKE itself ignores case on SQLite (ASCII only) but not on PostgreSQL.
    if operator == "STARTS WITH":
        return fold(column).like(_like_escape(value.lower()) + "%", escape="\\")
    if operator == "ENDS WITH":
        return fold(column).like("%" + _like_escape(value.lower()), escape="\\")
    if operator == "CONTAINS":
        return fold(column).like("%" + _like_escape(value.lower()) + "%", escape="\\")
    if operator == "DOES NOT CONTAIN":
        return not_(fold(column).like("%" + _like_escape(value.lower()) + "%", escape="\\"))
    raise _bad(
        name, f"Operator {operator!r} is not supported on {name!r} (=, !=, IN, NOT IN, STARTS WITH, ENDS WITH, CONTAINS, DOES NOT CONTAIN, EMPTY, NOT EMPTY)"
    )


def _identifier_condition(operator: str, value: Any, name: str) -> ColumnElement[bool]:
    """Compare identifiers by their keys, so case and accents never hide a product."""
    column = Product.identifier_key
    if isinstance(value, (list, tuple)):
        value = [identifier_key(str(v)) for v in value]
    elif isinstance(value, str):
        value = identifier_key(value)
    if operator == "STARTS WITH" and isinstance(value, str):
        # a range of the key's index, not a scan; keys compare by code point on every backend
        return and_(column >= value, column < value + "\U0010ffff")
    return _text_condition(column, operator, value, name, lambda c: c)


def _in_condition(column: Any, operator: str, values: list[Any], name: str) -> ColumnElement[bool]:
    if operator == "IN":
        return column.in_(values)
    if operator == "NOT IN":
        return column.not_in(values)
    raise _bad(name, f"Operator {operator!r} is not supported on {name!r} (IN, NOT IN)")


def _parse_time(value: Any, name: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise _bad(name, f"Filter on {name!r} takes a time like 2026-01-31 12:00:00, got {value!r}") from None
    # SQLite stores UTC wall-clock times without offset, so a time with another offset is
    # converted first; PostgreSQL would compare the instants either way.
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _date_condition(column: Any, operator: str, value: Any, name: str) -> ColumnElement[bool]:
    if operator == "SINCE LAST N DAYS":
        try:
            days = int(value)
        except (TypeError, ValueError):
            raise _bad(name, f"SINCE LAST N DAYS takes a number of days, got {value!r}") from None
        return column >= db.utcnow() - dt.timedelta(days=days)
    if operator in ("BETWEEN", "NOT BETWEEN"):
        bounds = _list(value, name)
        if len(bounds) != 2:
            raise _bad(name, f"{operator} takes two times")
        condition = column.between(_parse_time(bounds[0], name), _parse_time(bounds[1], name))
        return condition if operator == "BETWEEN" else not_(condition)
    moment = _parse_time(value, name)
    comparisons = {"=": column == moment, "!=": column != moment, "<": column < moment, ">": column > moment, "<=": column <= moment, ">=": column >= moment}
    if operator not in comparisons:
        raise _bad(name, f"Operator {operator!r} is not supported on {name!r} (=, !=, <, >, BETWEEN, NOT BETWEEN, SINCE LAST N DAYS)")
    return comparisons[operator]


# --- the query service ---------------------------------------------------------------------


def _conditions(builder: _Builder, filters: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[ColumnElement[bool]]:
    conditions = []
    for name, specs in filters.items():
        for spec in specs:
            conditions.append(builder.condition(name, spec))
    return conditions


def _with_models(statement: Select[Any], builder: _Builder) -> Select[Any]:
    if not builder.needs_models:
        return statement
    return statement.outerjoin(builder.parent, builder.parent.id == Product.parent_id).outerjoin(
        builder.grandparent, builder.grandparent.id == builder.parent.parent_id
    )


def _sort_key(builder: _Builder, query: ProductQuery) -> list[Any]:
    sort = query.sort
    if sort == "identifier":
        # identifiers sort as they compare: "a10" beside "A10", whatever their case
        return [Product.identifier_key, Product.id]
    if sort == "updated":
        return [Product.updated_at, Product.id]
    if sort == "created":
        return [Product.created_at, Product.id]
    structure = builder.structure
    if sort == "label":
        label_attributes = sorted({f.attribute_as_label for f in structure.families.values() if f.attribute_as_label})
        expressions = []
        for code in label_attributes:
            attribute = structure.attributes[code]
            locale = query.locale or (sorted(structure.active_locales)[0] if structure.active_locales else None)
            path = builder.path(attribute, locale, query.scope or next(iter(structure.channels), None), "sort")
            expressions.extend(builder.scalar(d, path) for d in builder.documents(attribute))
        expression = func.coalesce(*expressions, Product.identifier) if expressions else Product.identifier
        return [expression, Product.id]
    attribute = structure.attributes.get(sort)
    if attribute is None:
        raise Invalid.one("sort", f"Cannot sort by {sort!r}: use identifier, updated, created, label or an attribute code", ErrorCode.UNKNOWN)
    path = builder.path(attribute, None, None, "sort")
    if attribute.type is AttributeType.METRIC:
        path = (*path, "base_data")
    expressions = [builder.scalar(d, path) for d in builder.documents(attribute)]
    expression: Any = func.coalesce(*expressions)
    if attribute.type in (AttributeType.NUMBER, AttributeType.METRIC):
        # Products without the value sort first; the stand-in keeps the key numeric on PostgreSQL
        # (a float there would make it double precision).
        lowest = literal(_LOWEST if builder.dialect == "postgresql" else float(_LOWEST), builder.numeric())
        expression = func.coalesce(cast(expression, builder.numeric()), lowest)
    else:
        expression = func.coalesce(expression, "")
    return [expression, Product.id]


def _encode_cursor(values: Sequence[Any]) -> str:
    encoded = [v.isoformat() if isinstance(v, dt.datetime) else (str(v) if isinstance(v, Decimal) else v) for v in values]
    return base64.urlsafe_b64encode(json.dumps(encoded).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, key: Sequence[Any]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(values, list) or len(values) != len(key):
            raise ValueError
        # A cursor of another sort order (or a forged one) must not reach the database as a
        # value of the wrong type: PostgreSQL refuses to compare a number with a text.
        return [_cursor_value(column, value) for column, value in zip(key, values, strict=True)]
    except Exception:
        raise Invalid.one("after", "The page cursor is not valid; start again from the first page") from None


def _cursor_value(column: Any, value: Any) -> Any:
    name = getattr(column, "key", None)
    if name in ("updated_at", "created_at"):
        return dt.datetime.fromisoformat(value)
    if name == "id" and not isinstance(value, int):
        raise TypeError(value)
    kind = getattr(column, "type", None)
    if isinstance(kind, (Numeric, Float)):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise TypeError(value)
        return float(value) if isinstance(kind, Float) else Decimal(str(value))
    return value


def select_products(query: ProductQuery, *, is_count: bool = False) -> tuple[Select[Any], list[Any], _Builder]:
    """Return the filtered (unsorted, unpaged) statement of product ids, its sort key and builder."""
    structure = get_structure()
    builder = _Builder(structure, query, is_count=is_count)
    conditions = _conditions(builder, parse_filters(query.filters))
    key = _sort_key(builder, query)
    statement = select(Product.id).where(*conditions)
    return _with_models(statement, builder), key, builder


def count_products(query: ProductQuery) -> int:
    """Return how many products match the filters."""
    statement, _key, _builder = select_products(query, is_count=True)
    return int(db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0)


def list_products(query: ProductQuery, *, limit: int = 50, after: str | None = None, with_count: bool = False) -> Page:
    """Return one page of matching products (Product rows) in sort order, with the next page's cursor."""
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid.one("limit", f"A page holds between 1 and {MAX_PAGE} products", ErrorCode.OUT_OF_RANGE)
    statement, key, _builder = select_products(query)
    columns = [k.label(f"k{i}") if i < len(key) - 1 else k for i, k in enumerate(key)]
    statement = statement.add_columns(*columns[:-1]) if len(columns) > 1 else statement
    if after:
        values = _decode_cursor(after, key)
        row = tuple_(*key)
        statement = statement.where(row < tuple_(*values) if query.descending else row > tuple_(*values))
    order = [k.desc() for k in key] if query.descending else list(key)
    rows = db.session.execute(statement.order_by(*order).limit(limit + 1)).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    ids = [r[0] for r in rows]
    products = {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))} if ids else {}
    items = [products[i] for i in ids]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        next_cursor = _encode_cursor([*last[1:], last[0]])
    count = count_products(query) if with_count else None
    return Page(items, next_cursor, count)


def iter_product_ids(query: ProductQuery, *, batch_size: int = 1000) -> Iterator[list[int]]:
    """Yield the ids of every matching product in batches, by keyset on the id."""
    statement, _key, _builder = select_products(query)
    last = 0
    while True:
        ids = list(db.session.scalars(statement.where(Product.id > last).order_by(Product.id).limit(batch_size)))
        if not ids:
            return
        yield ids
        last = ids[-1]


# --- usage counts for safe deletes ---------------------------------------------------------


def count_products_with_attribute(code: str) -> int:
    """Return how many products and product models hold a value of an attribute."""
    total = 0
    for model in (Product, ProductModel):
        if db.session.get_bind().dialect.name == "postgresql":
            condition = model.values.op("?")(code)
        else:
            condition = func.json_type(model.values, _sqlite_path([code])).is_not(None)
        total += int(db.session.scalar(select(func.count()).select_from(model).where(condition)) or 0)
    return total


def count_products_with_option(attribute: str, option: str) -> int:
    """Return how many products and product models use an option of a select attribute."""
    total = 0
    is_postgresql = db.session.get_bind().dialect.name == "postgresql"
    for table in ("product", "product_model"):
        if is_postgresql:
            # a simple select holds the code, a multi select a list of codes; in lax mode [*]
            # reads a lone code as a list of one
            sql = text(
                f'SELECT count(*) FROM {table} WHERE "values" ? CAST(:attribute AS text) AND '  # noqa: S608 - fixed table names
                'jsonb_path_exists("values", CAST(:path AS jsonpath), CAST(:vars AS jsonb))'
            )
            parameters = {
                "attribute": attribute,
                "path": f"lax $.{json.dumps(attribute)}.*.*[*] ? (@ == $o)",
                "vars": json.dumps({"o": option}),
            }
        else:
            sql = text(
                f'SELECT count(*) FROM {table} WHERE json_type("values", :path) IS NOT NULL AND EXISTS ('  # noqa: S608
                'SELECT 1 FROM json_tree("values", :path) WHERE atom = :option)'
            )
            parameters = {"path": _sqlite_path([attribute]), "option": option}
        total += int(db.session.scalar(sql, parameters) or 0)
    return total


__all__ = ["Page", "ProductQuery", "count_products", "iter_product_ids", "list_products", "parse_filters", "select_products"]
