"""Facets: the values products are filtered on, in tables of their own.

Counting the products of a brand, those above a price or those whose name holds a word would
otherwise read the values document of every product and of its models. The write path stores
one row per (attribute, channel, locale, value) a product holds, its own or inherited: option
codes and yes/no values in `product_facet`; numbers, measures (in their family's standard
unit), prices (one row per currency) and dates (as day numbers) in `product_number`; single-line
texts, lower-cased in every alphabet, in `product_text`. Filters on those attributes become
index lookups, range scans, or scans of one attribute's short rows.

Textareas are kept where they are written, not per product: a product's own in
`product_long_text`, a model's own in `model_long_text`. A model's description is shared by all
its variants; a copy per variant would make a table as big as the catalogue's values. Their
filters find the matching models first, then the variants below them. These tables have no key
of their own, so a load appends their long rows instead of threading them into a B-tree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Table, and_, bindparam, delete, select

from pim import db
from pim.catalog.models import ModelLongText, ProductFacet, ProductLongText, ProductNumber, ProductText
from pim.structure.models import AttributeType
from pim.structure.snapshot import ALL_CHANNELS, ALL_LOCALES

FACETED_TYPES = frozenset({AttributeType.SIMPLE_SELECT, AttributeType.MULTI_SELECT, AttributeType.BOOLEAN})

# (attribute id, channel, locale, value, product id); "" stands for every channel or every locale
FacetKey = tuple[int, str, str, str, int]
FACET_COLUMNS = ("attribute_id", "scope", "locale", "value", "product_id")

NUMBERED_TYPES = frozenset({AttributeType.NUMBER, AttributeType.METRIC, AttributeType.PRICE_COLLECTION, AttributeType.DATE})

# (attribute id, channel, locale, currency or "", value, product id)
NumberKey = tuple[int, str, str, str, float, int]
NUMBER_COLUMNS = ("attribute_id", "scope", "locale", "unit", "value", "product_id")

TEXTED_TYPES = frozenset({AttributeType.TEXT})
# kept only where they are written (see above)
LONG_TEXT_TYPES = frozenset({AttributeType.TEXTAREA})

# (attribute id, channel, locale, product id, text lower-cased)
TextKey = tuple[int, str, str, int, str]
TEXT_COLUMNS = ("attribute_id", "scope", "locale", "product_id", "value")

# (product or model id, attribute id, channel, locale, text lower-cased): in the order of the owners' ids
LongTextKey = tuple[int, int, str, str, str]
LONG_TEXT_COLUMNS = ("product_id", "attribute_id", "scope", "locale", "value")
MODEL_LONG_TEXT_COLUMNS = ("model_id", "attribute_id", "scope", "locale", "value")


def slot(scope: str, locale: str) -> tuple[str, str]:
    """Return how a value's channel and locale are stored: "" for every channel or locale (short keys insert faster)."""
    return ("" if scope == ALL_CHANNELS else scope, "" if locale == ALL_LOCALES else locale)


def facet_value(data: Any) -> Iterator[str]:
    """Yield the facet values of one value's data: an option code, each code of a list, true or false."""
    if isinstance(data, bool):
        yield "true" if data else "false"
    elif isinstance(data, str):
        if data:
            yield data
    elif isinstance(data, list):
        yield from dict.fromkeys(str(code) for code in data if code not in (None, ""))


_Spec = TypeVar("_Spec")


def _held_values(effective: Mapping[str, Any], attributes: Mapping[str, _Spec]) -> Iterator[tuple[_Spec, str, str, Any]]:
    """Yield (attribute, channel, locale, data) for each value a product holds of the given attributes, slots stored as slot() gives them."""
    for code, spec in attributes.items():
        by_scope = effective.get(code)
        if not by_scope:
            continue
        for scope, by_locale in by_scope.items():
            for locale, data in by_locale.items():
                if data is not None:
                    channel, language = slot(scope, locale)
                    yield spec, channel, language, data


def facet_rows(product_id: int, effective: Mapping[str, Any], faceted: Mapping[str, int]) -> list[FacetKey]:
    """Return the facets of a product from its values, own and inherited."""
    rows = _Collected()
    rows.add(product_id, effective, {code: (_OPTIONS, attribute_id, None) for code, attribute_id in faceted.items()})
    return rows.option_rows()


@lru_cache(maxsize=4096)
def day_number(day: str) -> int:
    """Return the day number of a date (YYYY-MM-DD, or a longer ISO time), as dates are stored."""
    return dt.date.fromisoformat(day[:10]).toordinal()


def number_rows(product_id: int, effective: Mapping[str, Any], numbered: Mapping[str, tuple[int, AttributeType]]) -> list[NumberKey]:
    """Return the numbers of a product from its values, own and inherited."""
    rows = _Collected()
    rows.add(product_id, effective, {code: (_NUMBERS, attribute_id, kind) for code, (attribute_id, kind) in numbered.items()})
    return rows.number_rows()


def texted_attributes(attributes: Iterable[Any], types: frozenset[AttributeType] = TEXTED_TYPES) -> dict[str, int]:
    """Return the attribute ids by code of the attributes whose texts are kept (single-line texts, or with `types` textareas)."""
    return {a.code: a.id for a in attributes if a.type in types}


def text_rows(product_id: int, effective: Mapping[str, Any], texted: Mapping[str, int]) -> list[TextKey]:
    """Return the texts of a product, lower-cased as text filters compare them, from its values, own and inherited."""
    rows = _Collected()
    rows.add(product_id, effective, {code: (_TEXTS, attribute_id, None) for code, attribute_id in texted.items()})
    return rows.text_rows()


# the table an attribute's values go to
_OPTIONS, _NUMBERS, _TEXTS = "options", "numbers", "texts"
# by attribute code: (table, attribute id, attribute type)
Kinds = Mapping[str, tuple[str, int, AttributeType | None]]


def value_kinds(attributes: Iterable[Any]) -> dict[str, tuple[str, int, AttributeType | None]]:
    """Return, by attribute code, where the values of the attributes that have facets, numbers or texts are kept."""
    kinds: dict[str, tuple[str, int, AttributeType | None]] = {}
    for attribute in attributes:
        if attribute.type in FACETED_TYPES:
            kinds[attribute.code] = (_OPTIONS, attribute.id, attribute.type)
        elif attribute.type in NUMBERED_TYPES:
            kinds[attribute.code] = (_NUMBERS, attribute.id, attribute.type)
        elif attribute.type in TEXTED_TYPES:
            kinds[attribute.code] = (_TEXTS, attribute.id, attribute.type)
    return kinds


class _Collected:
    """The facet, number and text rows of some products, grouped by all of their key but the product.

    A bulk load derives some thirty rows from each product, and they are written in key order
    (see FacetBatch.prepare). Sorting the rows themselves compares tuples over and over; here
    only the groups are sorted, and within a group the products come in the order they were
    added, which is their id order when ids were added ascending.
    """

    def __init__(self) -> None:
        self.options: dict[tuple[int, str, str, str], list[int]] = {}
        self.numbers: dict[tuple[int, str, str, str, float], list[int]] = {}
        self.texts: dict[tuple[int, str, str], list[tuple[int, str]]] = {}
        self.last_id: int | None = None
        self.ascending = True
        self.by_model: dict[int, dict[str, list[_Entry]]] = {}

    def add(self, product_id: int, values: Mapping[str, Any], kinds: Kinds, models: Sequence[tuple[int, Mapping[str, Any]]] = ()) -> None:
        """Take the rows of a product's own values and of those it inherits from `models` ((id, values), root first).

        As when the values are merged, an attribute held at a level hides it at the levels
        above. Each attribute goes where `kinds` says. A model's rows are worked out once for all
        of its variants.
        """
        if self.last_id is not None and product_id <= self.last_id:
            self.ascending = False
        self.last_id = product_id
        for entries in self._entries(values, kinds).values():
            _put(product_id, entries)
        held = [values]
        for model_id, model_values in reversed(models):
            by_code = self.by_model.get(model_id)
            if by_code is None:
                by_code = self.by_model[model_id] = self._entries(model_values, kinds)
            for code, entries in by_code.items():
                for lower in held:
                    if code in lower:
                        break
                else:
                    _put(product_id, entries)
            held.append(model_values)

    def _entries(self, values: Mapping[str, Any], kinds: Kinds) -> dict[str, list[_Entry]]:
        """Return, by attribute, where each of some values goes: (group, key, lower-cased text or None)."""
        options, numbers, texts = self.options, self.numbers, self.texts
        by_code: dict[str, list[_Entry]] = {}
        for code, by_scope in values.items():
            spec = kinds.get(code)
            if spec is None or not by_scope:
                continue
            table, attribute_id, kind = spec
            entries: list[_Entry] = []
            for scope, by_locale in by_scope.items():
                channel = "" if scope == ALL_CHANNELS else scope
                for locale, data in by_locale.items():
                    if data is None:
                        continue
                    language = "" if locale == ALL_LOCALES else locale
                    if table is _TEXTS:
                        if data and isinstance(data, str):
                            entries.append((texts, (attribute_id, channel, language), data.lower()))
                    elif table is _OPTIONS:
                        entries.extend(
                            (options, (attribute_id, channel, language, value), None)
                            for value in ((data,) if type(data) is str else facet_value(data))
                            if value
                        )
                    else:
                        entries.extend((numbers, (attribute_id, channel, language, unit, number), None) for unit, number in _numbers_of(kind, data))
            if entries:
                by_code[code] = entries
        return by_code

    def option_rows(self) -> list[FacetKey]:
        return self._rows(self.options)

    def number_rows(self) -> list[NumberKey]:
        return self._rows(self.numbers)

    def _rows(self, groups: Mapping[tuple[Any, ...], list[int]]) -> list[Any]:
        rows: list[Any] = []
        for key in sorted(groups):
            ids = groups[key] if self.ascending else sorted(set(groups[key]))
            rows.extend([(*key, product_id) for product_id in ids])
        return rows

    def text_rows(self) -> list[TextKey]:
        rows: list[TextKey] = []
        for (attribute_id, channel, language), texts in sorted(self.texts.items()):
            rows.extend([(attribute_id, channel, language, product_id, text) for product_id, text in (texts if self.ascending else sorted(set(texts)))])
        return rows


# where a value's row goes: the groups of its table, its key there, and for texts the text
_Entry = tuple[dict[Any, list[Any]], tuple[Any, ...], str | None]


def _put(product_id: int, entries: list[_Entry]) -> None:
    for groups, key, text in entries:
        if text is None:
            ids = groups.setdefault(key, [])
            if not ids or ids[-1] != product_id:
                ids.append(product_id)
        else:
            groups.setdefault(key, []).append((product_id, text))


def _numbers_of(kind: AttributeType | None, data: Any) -> list[tuple[str, float]]:
    """Return the (currency or "", number) pairs a value is kept as: one per priced currency, or one."""
    try:
        if kind is AttributeType.PRICE_COLLECTION:
            return [(price["currency"], float(price["amount"])) for price in data if price["amount"]]
        if kind is AttributeType.METRIC:
            return [("", float(data["base_data"]))] if data["base_data"] else []
        if kind is AttributeType.DATE:
            return [("", float(day_number(data)))]
        return [("", float(data))]
    except (TypeError, ValueError, KeyError, AttributeError):
        return []  # not a number: the values document keeps it, filters cannot compare it


def long_text_rows(owner_id: int, values: Mapping[str, Any], long_texts: Mapping[str, int]) -> list[LongTextKey]:
    """Return the textarea texts a product or model holds itself, lower-cased as text filters compare them."""
    return [
        (owner_id, attribute_id, channel, language, data.lower())
        for attribute_id, channel, language, data in _held_values(values, long_texts)
        if data and isinstance(data, str)
    ]


class FacetBatch:
    """The facets of a batch of products being written, saved in the batch's transaction."""

    def __init__(self, attributes: Iterable[Any]):
        attributes = list(attributes)
        self.kinds = value_kinds(attributes)
        self.long_texts = texted_attributes(attributes, LONG_TEXT_TYPES)
        self.collected = _Collected()
        self.option_rows: list[FacetKey] = []
        self.number_rows: list[NumberKey] = []
        self.text_rows: list[TextKey] = []
        self.long_text_rows: list[LongTextKey] = []
        self.encoded: list[Any] | None = None

    def add(self, product_id: int, own: Mapping[str, Any], models: Sequence[tuple[int, Mapping[str, Any]]] = ()) -> None:
        """Take the facets of one product from its own values and those it inherits from `models` ((id, values), root first), and its textareas from its own values."""
        self.collected.add(product_id, own, self.kinds, models)
        if self.long_texts:
            self.long_text_rows.extend(long_text_rows(product_id, own, self.long_texts))

    def _tables(self) -> tuple[tuple[Table, Sequence[str], list[Any]], ...]:
        return (
            (ProductFacet.__table__, FACET_COLUMNS, self.option_rows),
            (ProductNumber.__table__, NUMBER_COLUMNS, self.number_rows),
            (ProductText.__table__, TEXT_COLUMNS, self.text_rows),
            (ProductLongText.__table__, LONG_TEXT_COLUMNS, self.long_text_rows),
        )

    def prepare(self, written_ids: Sequence[int] = ()) -> None:
        """Put the rows in key order, each once, so each insert lands next to the previous one in the table's B-tree.

        Products without stored facets (`written_ids` empty) need no comparison when saved:
        their rows are encoded for the database here, ahead of the write.
        """
        self.option_rows = self.collected.option_rows()
        self.number_rows = self.collected.number_rows()
        self.text_rows = self.collected.text_rows()
        self.long_text_rows = sorted(set(self.long_text_rows))
        self.collected = _Collected()
        self.encoded = None
        if not written_ids:
            self.encoded = [db.encode_records(table, columns, rows) for table, columns, rows in self._tables()]
            # a batch waits for its write with only the encoded rows
            self.option_rows, self.number_rows, self.text_rows, self.long_text_rows = [], [], [], []

    def save(self, written_ids: Sequence[int]) -> None:
        """Bring the stored facets in step: insert the new, delete the gone, keep the rest.

        `written_ids` are the products that may have facets stored already; a re-import that
        changes no value then writes nothing here. The rows must have been prepared.
        """
        tables = self._tables()
        if self.encoded is not None and not written_ids:
            for (table, columns, _rows), payload in zip(tables, self.encoded, strict=True):
                db.write_encoded(table, columns, payload)
            return
        for table, columns, rows in tables:
            _replace(table, columns, rows, written_ids)


def save_model_texts(models: Iterable[tuple[int, Mapping[str, Any]]], attributes: Iterable[Any], written_ids: Sequence[int]) -> None:
    """Bring the stored textarea texts of product models in step with their own values, given as (model id, values)."""
    long_texts = texted_attributes(attributes, LONG_TEXT_TYPES)
    rows = sorted({row for model_id, values in models for row in long_text_rows(model_id, values, long_texts)})
    _replace(ModelLongText.__table__, MODEL_LONG_TEXT_COLUMNS, rows, written_ids, owner="model_id")


def _replace(table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], written_ids: Sequence[int], owner: str = "product_id") -> None:
    """Write prepared rows of some products (or models), keeping those already stored and deleting those gone."""
    session = db.session
    stored: set[tuple[Any, ...]] = set()
    selected = [table.c[name] for name in columns]
    for start in range(0, len(written_ids), 900):
        chunk = written_ids[start : start + 900]
        stored.update(tuple(row) for row in session.execute(select(*selected).where(table.c[owner].in_(chunk))))
    if stored:
        new = set(rows)
        gone = [key for key in stored if key not in new]
        if gone:
            session.execute(
                delete(table).where(and_(*(table.c[name] == bindparam(f"b_{name}") for name in columns))),
                [{f"b_{name}": value for name, value in zip(columns, key, strict=True)} for key in gone],
            )
        rows = [row for row in rows if row not in stored]
    db.insert_records(table, columns, rows)
