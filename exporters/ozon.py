"""OZON Seller API: request bodies for `POST /v3/product/import`, one file per request.

OZON takes products through its API, not as a feed file, so the "feed" is the sequence of
request bodies a sender posts in order: `<code>-0001.json`, `<code>-0002.json`, ... each
`{"items": [...]}` with at most 100 items. Products that left the channel (deleted records of
a delta run) cannot be expressed in an import request; their offer ids go to separate bodies
in the shape of `POST /v1/product/archive`'s request, `<code>-archive-0001.json`, ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, Any, TypeGuard

import orjson

from exporters.base import (
    FeedFormat,
    FeedSettings,
    FieldRule,
    Measure,
    Money,
    Param,
    Problem,
    Record,
    RecordGroup,
    Sink,
    clean_text,
    format_number,
    gtin_problem,
    register,
)

MAX_ITEMS_PER_REQUEST = 100
MAX_OFFER_ID_LENGTH = 50
MAX_IMAGES = 30
CURRENCIES = frozenset(("RUB", "BYN", "KZT", "EUR", "USD", "CNY"))
VAT_RATES = frozenset(("0", "0.05", "0.07", "0.1", "0.2", "0.22"))
DIMENSION_UNITS = frozenset(("mm", "cm", "in"))
WEIGHT_UNITS = frozenset(("g", "kg", "lb"))
# OZON caps the packed weight at 1000 kg; in pounds that is 2204.6, so 2204 is the last whole pound under it.
MAX_WEIGHT = {"g": 1_000_000, "kg": 1000, "lb": 2204}
_CENT = Decimal("0.01")


def price_text(money: Money) -> str:
    """Return a price as OZON takes it: rounded half up to kopecks, a dot, no trailing zeros ("8990", "12.5")."""
    return format_number(_cents(money.amount))


def vat_text(value: Any) -> str:
    """Return a VAT rate as OZON spells it, so that a number 0.20 reads as "0.2"."""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return format_number(value)
    return str(value).strip()


def value_text(value: Any) -> str:
    """Return one attribute value as the text OZON's `value` takes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Measure):
        return format_number(value.amount)
    if isinstance(value, Decimal | int):
        return format_number(value)
    return clean_text(value)


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def _is_whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _attribute_problem(param: Any) -> Problem | None:
    if not isinstance(param, Param):
        return Problem("attributes", f"attributes must hold characteristics, got {param!r}", "invalid")
    if not _is_whole(param.id):
        return Problem("attributes", f"attribute {param.name!r} has no OZON attribute id", "invalid")
    if isinstance(param.value, list | tuple):
        if isinstance(param.value_id, list | tuple):
            if len(param.value_id) != len(param.value):
                return Problem("attributes", f"attribute {param.id} has {len(param.value)} values but {len(param.value_id)} dictionary ids", "invalid")
        elif param.value_id is not None:
            return Problem("attributes", f"attribute {param.id} has several values and one dictionary id; give one id per value", "invalid")
    return None


def attribute_entry(param: Param) -> dict[str, Any]:
    """Return one characteristic as an OZON attribute; a list value becomes several values of a collection."""
    values: list[dict[str, Any]] = []
    pairs: list[tuple[Any, Any]]
    if isinstance(param.value, list | tuple):
        ids = param.value_id if isinstance(param.value_id, list | tuple) else [None] * len(param.value)
        pairs = list(zip(ids, param.value, strict=True))
    else:
        pairs = [(param.value_id, param.value)]
    for value_id, value in pairs:
        entry: dict[str, Any] = {} if value_id is None else {"dictionary_value_id": value_id}
        entry["value"] = value_text(value)
        values.append(entry)
    return {"id": param.id, "complex_id": 0, "values": values}


def import_item(record: Record) -> dict[str, Any]:
    """Return a checked record as one item of `/v3/product/import`, fields in the order OZON documents them."""
    item: dict[str, Any] = {"offer_id": clean_text(record.get("offer_id", record.key))}
    name = record.get("name")
    if name is not None:
        item["name"] = clean_text(name)
    item["description_category_id"] = record.get("description_category_id")
    item["type_id"] = record.get("type_id")
    price: Money = record.get("price")
    item["price"] = price_text(price)
    old_price = record.get("old_price")
    if old_price is not None:
        item["old_price"] = price_text(old_price)
    item["currency_code"] = price.currency
    vat = record.get("vat")
    if vat is not None:
        item["vat"] = vat_text(vat)
    barcode = record.get("barcode")
    if barcode is not None:
        item["barcode"] = str(barcode)
    for field_name in ("depth", "width", "height", "dimension_unit", "weight", "weight_unit"):
        value = record.get(field_name)
        if value is not None:
            item[field_name] = value
    images = record.get("images")
    if images is not None:
        item["images"] = [clean_text(url) for url in images]
    for field_name in ("primary_image", "color_image"):
        url = record.get(field_name)
        if url is not None:
            item[field_name] = clean_text(url)
    attributes = record.get("attributes")
    if attributes is not None:
        item["attributes"] = [attribute_entry(param) for param in attributes]
    return item


class _Bodies:
    """Collect request entries and write every full chunk as one request body file.

    The main series opens its first file at once, so that the feed's main file is the first one
    the sink sees and exists even when the run has nothing to import.
    """

    def __init__(self, sink: Sink, name: Callable[[int], str], wrap: Callable[[list[Any]], dict[str, Any]], size: int, *, is_main: bool) -> None:
        self._sink = sink
        self._name = name
        self._wrap = wrap
        self._size = size
        self._entries: list[Any] = []
        self._first: IO[bytes] | None = sink.open(name(1)) if is_main else None
        self.count = 0

    def add(self, entry: Any) -> None:
        """Add one entry, writing the chunk when it is full."""
        self._entries.append(entry)
        if len(self._entries) == self._size:
            self._flush()

    def finish(self) -> None:
        """Write what is left, and the reserved first body even when it stayed empty."""
        if self._entries or self._first is not None:
            self._flush()

    def _flush(self) -> None:
        self.count += 1
        out = self._first if self._first is not None else self._sink.open(self._name(self.count))
        self._first = None
        # Close each body at once: a large catalogue has thousands of bodies, more than a process may hold open.
        with out:
            out.write(orjson.dumps(self._wrap(self._entries)) + b"\n")
        self._entries = []


def items_per_request(settings: FeedSettings) -> int:
    """Return the chunk size: OZON's 100, or less when the profile asks for less."""
    wanted = settings.options.get("items_per_request", MAX_ITEMS_PER_REQUEST)
    if not _is_whole(wanted) or wanted < 1:
        raise ValueError(f"items_per_request must be a whole number from 1 to {MAX_ITEMS_PER_REQUEST}, got {wanted!r}")
    return min(wanted, MAX_ITEMS_PER_REQUEST)


def _records(items: Iterator[Record | RecordGroup]) -> Iterator[Record]:
    for item in items:
        if isinstance(item, RecordGroup):
            yield from item.variants
        else:
            yield item


@register
class OzonImportFeed(FeedFormat):
    """OZON product import: `{"items": [...]}` request bodies of at most 100 items, one file each.

    Every size and colour is its own item; OZON merges items into one card by their model name
    attribute (9048), which the profile maps like any other attribute. A deleted record needs only
    its offer id and goes to an archive request body (`{"offer_id": [...]}`, the shape of
    `/v1/product/archive`), in full runs as in delta runs.
    """

    code = "ozon"
    label = "OZON Seller API (product import)"
    media_type = "application/json"
    extension = "json"
    supports_delta = True
    fields = (
        FieldRule("offer_id", max_length=MAX_OFFER_ID_LENGTH, description="Seller article; our SKU when empty."),
        FieldRule("name", max_length=500, description="Starts with the product type; no promo words."),
        FieldRule("description_category_id", required=True, kind="integer", description="Leaf category of OZON's tree."),
        FieldRule("type_id", required=True, kind="integer", description="Product type under the category."),
        FieldRule("price", required=True, kind="money", description="Price after discounts, more than zero."),
        FieldRule("old_price", kind="money", description="Crossed-out price, higher than price."),
        FieldRule("vat", kind="any", choices=VAT_RATES, description="VAT rate as a fraction."),
        FieldRule("barcode", description="EAN/UPC barcode."),
        FieldRule("depth", required=True, kind="integer", description="Packed depth in dimension_unit."),
        FieldRule("width", required=True, kind="integer", description="Packed width in dimension_unit."),
        FieldRule("height", required=True, kind="integer", description="Packed height in dimension_unit."),
        FieldRule("dimension_unit", required=True, choices=DIMENSION_UNITS, description="Unit of depth, width and height."),
        FieldRule("weight", required=True, kind="integer", description="Packed weight in weight_unit, at most 1000 kg."),
        FieldRule("weight_unit", required=True, choices=WEIGHT_UNITS, description="Unit of weight."),
        FieldRule("images", kind="url", max_items=MAX_IMAGES, description="Public JPG/PNG addresses in display order."),
        FieldRule("primary_image", kind="url", description="Main image, when not the first of images."),
        FieldRule("color_image", kind="url", description="Colour swatch image."),
        FieldRule("attributes", kind="list", description="Category attributes with OZON ids and dictionary value ids."),
    )

    def check(self, record: Record, settings: FeedSettings | None = None) -> list[Problem]:
        """Return the rules the record breaks; a deleted record needs only a usable offer id."""
        if record.is_deleted:
            return self._offer_id_problems(record, always=True)
        problems = super().check(record)
        problems.extend(self._offer_id_problems(record, always=False))
        fields = record.fields
        price, old_price = fields.get("price"), fields.get("old_price")
        if isinstance(price, Money):
            if price.currency not in CURRENCIES:
                allowed = ", ".join(sorted(CURRENCIES))
                problems.append(
                    Problem("currency_code", f"currency_code comes from the price, which is in {price.currency}; OZON takes {allowed}", "not_allowed")
                )
            # A negative amount is already reported by the money rule.
            if price.amount >= 0 and _cents(price.amount) <= 0:
                problems.append(Problem("price", f"price must be more than zero, got {price}", "invalid"))
            if isinstance(old_price, Money) and old_price.amount >= 0:
                if old_price.currency != price.currency:
                    problems.append(Problem("old_price", f"old_price is in {old_price.currency} and price in {price.currency}", "invalid"))
                elif _cents(old_price.amount) <= _cents(price.amount):
                    problems.append(Problem("old_price", f"old_price {old_price} must be higher than price {price}", "invalid"))
        vat = record.get("vat")
        if vat is not None and not isinstance(vat, list | tuple) and vat_text(vat) not in VAT_RATES:
            allowed = ", ".join(sorted(VAT_RATES))
            problems.append(Problem("vat", f"vat must be one of {allowed}; got {str(vat)[:20]!r}", "not_allowed"))
        barcode = record.get("barcode")
        if isinstance(barcode, str | int) and not isinstance(barcode, bool):
            reason = gtin_problem(str(barcode), is_global=False)
            if reason is not None:
                problems.append(Problem("barcode", f"barcode {barcode} {reason}", "invalid_gtin"))
        for name in ("depth", "width", "height", "weight"):
            value = fields.get(name)
            if _is_whole(value) and value <= 0:
                problems.append(Problem(name, f"{name} must be more than zero, got {value}", "invalid"))
        weight, unit = fields.get("weight"), fields.get("weight_unit")
        if _is_whole(weight) and unit in MAX_WEIGHT and weight > MAX_WEIGHT[unit]:
            problems.append(Problem("weight", f"weight {weight} {unit} is more than OZON's 1000 kg", "too_large"))
        images = record.get("images")
        if record.get("primary_image") is not None and isinstance(images, list) and len(images) == MAX_IMAGES:
            problems.append(Problem("images", f"images has {MAX_IMAGES} addresses; with primary_image OZON takes at most {MAX_IMAGES - 1}", "too_many"))
        attributes = record.get("attributes")
        if isinstance(attributes, list):
            for param in attributes:
                problem = _attribute_problem(param)
                if problem is not None:
                    problems.append(problem)
                    break
        return problems

    def _offer_id_problems(self, record: Record, *, always: bool) -> list[Problem]:
        # A set offer_id is checked by its field rule; the SKU that stands in for an empty one is checked here.
        if record.get("offer_id") is not None and not always:
            return []
        offer_id = str(record.get("offer_id", record.key))
        if len(offer_id) > MAX_OFFER_ID_LENGTH:
            message = f"offer_id {offer_id[:60]!r} is {len(offer_id)} characters long; OZON takes at most {MAX_OFFER_ID_LENGTH}"
            return [Problem("offer_id", message, "too_long")]
        return []

    def file_name(self, settings: FeedSettings) -> str:
        """Return the name of the first request body."""
        return f"{settings.code}-0001.{self.extension}"

    def write(self, items: Iterator[Record | RecordGroup], settings: FeedSettings, sink: Sink) -> None:
        """Write import request bodies of at most 100 items, and archive bodies for deleted records."""
        size = items_per_request(settings)
        code, extension = settings.code, self.extension
        imports = _Bodies(sink, lambda number: f"{code}-{number:04d}.{extension}", lambda entries: {"items": entries}, size, is_main=True)
        archives = _Bodies(sink, lambda number: f"{code}-archive-{number:04d}.{extension}", lambda entries: {"offer_id": entries}, size, is_main=False)
        for record in _records(items):
            if record.is_deleted:
                archives.add(clean_text(record.get("offer_id", record.key)))
            else:
                imports.add(import_item(record))
        imports.finish()
        archives.finish()
