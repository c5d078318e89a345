"""Facet, number and text rows derived from product values, own and inherited."""

from __future__ import annotations

from typing import Any, NamedTuple

from pim.catalog.facets import FacetBatch, facet_rows, number_rows, text_rows
from pim.structure.models import AttributeType


class Attribute(NamedTuple):
    id: int
    code: str
    type: AttributeType


ATTRIBUTES = [
    Attribute(1, "brand", AttributeType.SIMPLE_SELECT),
    Attribute(2, "features", AttributeType.MULTI_SELECT),
    Attribute(3, "price", AttributeType.PRICE_COLLECTION),
    Attribute(4, "weight", AttributeType.METRIC),
    Attribute(5, "name", AttributeType.TEXT),
    Attribute(6, "released", AttributeType.DATE),
    Attribute(7, "description", AttributeType.TEXTAREA),
]


def one(data: Any, *, scope: str = "<all_channels>", locale: str = "<all_locales>") -> dict[str, Any]:
    return {scope: {locale: data}}


ROOT = {"brand": one("acme"), "name": {"<all_channels>": {"en_US": "Trail Boot", "de_DE": "Wanderstiefel"}}, "released": one("2026-03-01")}
SUB = {"features": one(["waterproof", "vegan", "waterproof"]), "weight": one({"amount": "1.2", "unit": "KILOGRAM", "base_data": "1.2"})}


def merged(own: dict[str, Any], *models: dict[str, Any]) -> dict[str, Any]:
    effective: dict[str, Any] = {}
    for values in [*models, own]:
        effective.update(values)
    return effective


def expected(products: list[tuple[int, dict[str, Any]]]) -> tuple[list[Any], list[Any], list[Any]]:
    """The rows of each product worked out alone from its merged values, in key order."""
    faceted = {a.code: a.id for a in ATTRIBUTES if a.type in (AttributeType.SIMPLE_SELECT, AttributeType.MULTI_SELECT)}
    numbered = {a.code: (a.id, a.type) for a in ATTRIBUTES if a.type in (AttributeType.PRICE_COLLECTION, AttributeType.METRIC, AttributeType.DATE)}
    texted = {"name": 5}
    return (
        sorted(row for product_id, values in products for row in facet_rows(product_id, values, faceted)),
        sorted(row for product_id, values in products for row in number_rows(product_id, values, numbered)),
        sorted(row for product_id, values in products for row in text_rows(product_id, values, texted)),
    )


def rows_of(batch: FacetBatch) -> tuple[list[Any], list[Any], list[Any]]:
    batch.prepare([0])  # as for stored products: the rows stay readable
    return batch.option_rows, batch.number_rows, batch.text_rows


def test_variants_get_the_rows_of_the_values_they_inherit():
    own_a = {"price": one([{"amount": "99.90", "currency": "EUR"}, {"amount": "0", "currency": "USD"}], scope="ecommerce")}
    own_b = {"price": one([{"amount": "89.90", "currency": "EUR"}], scope="ecommerce")}
    batch = FacetBatch(ATTRIBUTES)
    batch.add(10, own_a, [(1, ROOT), (2, SUB)])
    batch.add(11, own_b, [(1, ROOT), (2, SUB)])
    batch.add(12, {"brand": one("other")})
    options, numbers, texts = rows_of(batch)
    assert (options, numbers, texts) == expected([(10, merged(own_a, ROOT, SUB)), (11, merged(own_b, ROOT, SUB)), (12, {"brand": one("other")})])
    assert (1, "", "", "acme", 11) in options and (2, "", "", "waterproof", 10) in options
    assert options.count((2, "", "", "waterproof", 10)) == 1
    assert (5, "", "de_DE", 11, "wanderstiefel") in texts
    assert (3, "ecommerce", "", "EUR", 89.9, 11) in numbers and (3, "ecommerce", "", "USD", 0.0, 10) in numbers


def test_a_value_held_lower_hides_the_one_above_as_in_the_merged_values():
    sub = {**SUB, "brand": one("sub-brand")}
    own = {"name": {"<all_channels>": {"en_US": "Own name"}}}
    batch = FacetBatch(ATTRIBUTES)
    batch.add(20, own, [(1, ROOT), (2, sub)])
    options, _numbers, texts = rows_of(batch)
    assert (options, _numbers, texts) == expected([(20, merged(own, ROOT, sub))])
    assert [row for row in options if row[0] == 1] == [(1, "", "", "sub-brand", 20)]
    # the root's German name is hidden too: an attribute is merged whole, not per locale
    assert [row for row in texts if row[0] == 5] == [(5, "", "en_US", 20, "own name")]


def test_products_added_out_of_id_order_come_out_in_key_order_once_each():
    batch = FacetBatch(ATTRIBUTES)
    for product_id in (7, 3, 9, 3):
        batch.add(product_id, {"brand": one("acme"), "name": one("Boot", locale="en_US")}, [(1, ROOT)])
    options, numbers, texts = rows_of(batch)
    assert options == sorted(set(options)) and numbers == sorted(set(numbers)) and texts == sorted(set(texts))
    assert [row[-1] for row in options if row[0] == 1] == [3, 7, 9]
    assert [row[3] for row in texts] == [3, 7, 9]
