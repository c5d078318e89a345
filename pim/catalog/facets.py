"""Facets: the option codes and yes/no values of each product, in a table of their own.

Counting the products of a brand or a colour would otherwise read the values document of
every product and of its models. The write path stores one row per (attribute, channel,
locale, value) a product holds, its own or inherited, and filters on select, multi-select
and boolean attributes become index lookups.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import delete

from pim import db
from pim.catalog.models import ProductFacet
from pim.structure.models import AttributeType

FACETED_TYPES = frozenset({AttributeType.SIMPLE_SELECT, AttributeType.MULTI_SELECT, AttributeType.BOOLEAN})


def faceted_attributes(attributes: Iterable[Any]) -> dict[str, int]:
    """Return the attribute ids by code of the attributes that have facets."""
    return {a.code: a.id for a in attributes if a.type in FACETED_TYPES}


def facet_value(data: Any) -> Iterator[str]:
    """Yield the facet values of one value's data: an option code, each code of a list, true or false."""
    if isinstance(data, bool):
        yield "true" if data else "false"
    elif isinstance(data, str):
        if data:
            yield data
    elif isinstance(data, list):
        yield from dict.fromkeys(str(code) for code in data if code not in (None, ""))


def facet_rows(product_id: int, effective: Mapping[str, Any], faceted: Mapping[str, int]) -> Iterator[dict[str, Any]]:
    """Yield the facet rows of a product from its values, own and inherited."""
    for code, attribute_id in faceted.items():
        by_scope = effective.get(code)
        if not by_scope:
            continue
        for scope, by_locale in by_scope.items():
            for locale, data in by_locale.items():
                for value in facet_value(data):
                    yield {"attribute_id": attribute_id, "scope": scope, "locale": locale, "value": value, "product_id": product_id}


def replace_facets(rows: Sequence[Mapping[str, Any]], replaced_ids: Sequence[int]) -> None:
    """Delete the facets of products written again, then insert the new rows."""
    session = db.session
    for start in range(0, len(replaced_ids), 900):
        session.execute(delete(ProductFacet).where(ProductFacet.product_id.in_(replaced_ids[start : start + 900])))
    if rows:
        db.bulk_insert(ProductFacet.__table__, rows)
