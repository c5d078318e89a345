"""Facets: the option codes and yes/no values of each product, in a table of their own.

Counting the products of a brand or a colour would otherwise read the values document of
every product and of its models. The write path stores one row per (attribute, channel,
locale, value) a product holds, its own or inherited, and filters on select, multi-select
and boolean attributes become index lookups.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, select

from pim import db
from pim.catalog.models import ProductFacet
from pim.structure.models import AttributeType
from pim.structure.snapshot import ALL_CHANNELS, ALL_LOCALES

FACETED_TYPES = frozenset({AttributeType.SIMPLE_SELECT, AttributeType.MULTI_SELECT, AttributeType.BOOLEAN})

# (attribute id, channel, locale, value, product id); "" stands for every channel or every locale
FacetKey = tuple[int, str, str, str, int]
FACET_COLUMNS = ("attribute_id", "scope", "locale", "value", "product_id")


def faceted_attributes(attributes: Iterable[Any]) -> dict[str, int]:
    """Return the attribute ids by code of the attributes that have facets."""
    return {a.code: a.id for a in attributes if a.type in FACETED_TYPES}


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


def facet_rows(product_id: int, effective: Mapping[str, Any], faceted: Mapping[str, int]) -> list[FacetKey]:
    """Return the facets of a product from its values, own and inherited."""
    rows: list[FacetKey] = []
    for code, attribute_id in faceted.items():
        by_scope = effective.get(code)
        if not by_scope:
            continue
        for scope, by_locale in by_scope.items():
            for locale, data in by_locale.items():
                channel, language = slot(scope, locale)
                if type(data) is str:  # the common case, a simple select
                    if data:
                        rows.append((attribute_id, channel, language, data, product_id))
                else:
                    rows.extend((attribute_id, channel, language, value, product_id) for value in facet_value(data))
    return rows


def replace_facets(facets: Sequence[FacetKey], written_ids: Sequence[int]) -> None:
    """Bring the facets of products just written in step: insert the new, delete the gone, keep the rest.

    `written_ids` are the products that may have facets stored already; a re-import that
    changes no option then writes nothing here.
    """
    session = db.session
    table = ProductFacet.__table__
    new = set(facets)
    gone: list[FacetKey] = []
    stored: set[FacetKey] = set()
    for start in range(0, len(written_ids), 900):
        chunk = written_ids[start : start + 900]
        rows = session.execute(
            select(table.c.attribute_id, table.c.scope, table.c.locale, table.c.value, table.c.product_id).where(table.c.product_id.in_(chunk))
        )
        for row in rows:
            key = tuple(row)
            stored.add(key)  # type: ignore[arg-type]
            if key not in new:
                gone.append(key)  # type: ignore[arg-type]
    if gone:
        session.execute(
            delete(table).where(
                table.c.attribute_id == bindparam("b_a"),
                table.c.scope == bindparam("b_s"),
                table.c.locale == bindparam("b_l"),
                table.c.value == bindparam("b_v"),
                table.c.product_id == bindparam("b_p"),
            ),
            [{"b_a": a, "b_s": s, "b_l": loc, "b_v": v, "b_p": p} for a, s, loc, v, p in gone],
        )
    added = [f for f in dict.fromkeys(facets) if f not in stored] if stored else list(dict.fromkeys(facets))
    db.insert_records(table, FACET_COLUMNS, added)
