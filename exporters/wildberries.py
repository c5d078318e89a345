"""Wildberries Content API: request bodies for `POST /content/v2/cards/upload`, one file per request.

Each body is a JSON array of `{"subjectID": ..., "variants": [card, ...]}` objects: one object per
product model (its colours merged into one group) or per standalone product. A card is one colour
(one `vendorCode`); its `sizes` list every size of that colour with price and barcode. Bodies hold at
most 100 objects and 10 MB and are written as `<code>-0001.json`, `<code>-0002.json`, ...
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, Any

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

MAX_CARDS_PER_GROUP = 30
MAX_GROUPS_PER_REQUEST = 100
# Wildberries answers 413 above 10 MB; the decimal reading is the safe side of either meaning.
MAX_REQUEST_BYTES = 10_000_000
# What a body adds around its objects: "[" before them and "]\n" after them.
_BODY_FRAME = 3
_ROUBLE = Decimal(1)


def roubles(money: Money) -> int:
    """Return a price as Wildberries takes it: whole roubles, rounded half up."""
    return int(money.amount.quantize(_ROUBLE, rounding=ROUND_HALF_UP))


def _is_number(value: Any) -> bool:
    if isinstance(value, Measure):
        value = value.amount
    if isinstance(value, Decimal):
        return value.is_finite()
    return isinstance(value, int) and not isinstance(value, bool)


def json_number(value: int | Decimal | Measure) -> Any:
    """Return a number for orjson: a Decimal goes in as its exact digits, never through a float."""
    if isinstance(value, Measure):
        value = value.amount
    if isinstance(value, Decimal):
        return orjson.Fragment(format_number(value))
    return value


def characteristic_entry(param: Param) -> dict[str, Any]:
    """Return a characteristic as Wildberries takes it: a number for numeric ones, else a list of strings."""
    value = param.value
    if isinstance(value, list | tuple):
        return {"id": param.id, "value": [clean_text(item) for item in value]}
    if _is_number(value):
        return {"id": param.id, "value": json_number(value)}
    return {"id": param.id, "value": [clean_text(value)]}


def _characteristic_problem(param: Any) -> Problem | None:
    if not isinstance(param, Param):
        return Problem("characteristics", f"characteristics must hold characteristics, got {param!r}", "invalid")
    if not isinstance(param.id, int) or isinstance(param.id, bool):
        return Problem("characteristics", f"characteristic {param.name!r} has no Wildberries characteristic id", "invalid")
    value = param.value
    if isinstance(value, bool) or (isinstance(value, Decimal | Measure) and not _is_number(value)):
        return Problem("characteristics", f"characteristic {param.id} must be text, a list of texts or a number, got {value!r}", "invalid")
    return None


def _value(record: Record, model: dict[str, Any], name: str) -> Any:
    # Variant records come with their model's values resolved; the model's own fields fill only what is still empty.
    value = record.get(name)
    if value is None:
        value = model.get(name)
        if value == "" or value == []:
            return None
    return value


def _card(record: Record, model: dict[str, Any], vendor_code: str) -> dict[str, Any]:
    card: dict[str, Any] = {"vendorCode": vendor_code}
    for name in ("title", "description", "brand"):
        text = _value(record, model, name)
        if text is not None:
            card[name] = clean_text(text)
    dimensions: dict[str, Any] = {}
    for name in ("length", "width", "height", "weightBrutto"):
        number = _value(record, model, name)
        if number is not None:
            dimensions[name] = json_number(number)
    if dimensions:
        card["dimensions"] = dimensions
    characteristics = _value(record, model, "characteristics")
    if characteristics is not None:
        card["characteristics"] = [characteristic_entry(param) for param in characteristics]
    card["sizes"] = []
    return card


def _size(record: Record, model: dict[str, Any]) -> dict[str, Any]:
    size: dict[str, Any] = {}
    for name in ("techSize", "wbSize"):
        text = _value(record, model, name)
        if text is not None:
            size[name] = clean_text(text)
    price = _value(record, model, "price")
    if isinstance(price, Money):
        size["price"] = roubles(price)
    sku = _value(record, model, "sku")
    if sku is not None:
        size["skus"] = [str(sku)]
    return size


def group_objects(records: list[Record], model: dict[str, Any], label: str) -> tuple[list[bytes], Problem | None]:
    """Return the upload objects of one product model (or one standalone product), or why it cannot be sent.

    Records sharing a `vendorCode` become one card whose `sizes` list them; more than 30 cards
    are split over several objects, since one merged group holds at most 30.
    """
    cards: dict[str, dict[str, Any]] = {}
    sizes_seen: dict[str, dict[str | None, str]] = {}
    subjects: dict[Any, str] = {}
    duplicate: Problem | None = None
    for record in records:
        subjects.setdefault(_value(record, model, "subjectID"), record.key)
        vendor_code = clean_text(_value(record, model, "vendorCode") or "")
        if vendor_code not in cards:
            cards[vendor_code] = _card(record, model, vendor_code)
            sizes_seen[vendor_code] = {}
        size = _size(record, model)
        tech_size = size.get("techSize")
        seen = sizes_seen[vendor_code]
        if tech_size not in seen:
            seen[tech_size] = record.key
        elif duplicate is None:
            shown = "no size" if tech_size is None else f"size {tech_size!r}"
            message = f"card {vendor_code} of {label} has {shown} twice (products {seen[tech_size]} and {record.key}); a card lists each size once"
            duplicate = Problem("techSize", message, "duplicate")
        cards[vendor_code]["sizes"].append(size)
    if len(subjects) > 1:
        listed = ", ".join(f"{subject} ({key})" for subject, key in subjects.items())
        return [], Problem("subjectID", f"products of {label} are in different subjects: {listed}; a merged group takes one subject", "inconsistent")
    if duplicate is not None:
        return [], duplicate
    subject = next(iter(subjects))
    variants = list(cards.values())
    chunks = [variants[start : start + MAX_CARDS_PER_GROUP] for start in range(0, len(variants), MAX_CARDS_PER_GROUP)]
    return [orjson.dumps({"subjectID": subject, "variants": chunk}) for chunk in chunks], None


class _Bodies:
    """Write upload objects into request bodies, starting a new file before a limit would be passed."""

    def __init__(self, sink: Sink, code: str, extension: str, max_bytes: int) -> None:
        self._sink = sink
        self._code = code
        self._extension = extension
        self.max_bytes = max_bytes
        self._out: IO[bytes] | None = None
        self._objects = 0
        self._bytes = 0
        self.count = 0

    def fits(self, data: bytes) -> bool:
        """Tell whether one object fits in a body of its own."""
        return len(data) + _BODY_FRAME <= self.max_bytes

    def add(self, data: bytes) -> None:
        """Append one serialized object to the current body, or to a new one when it is full."""
        if self._out is not None and (self._objects == MAX_GROUPS_PER_REQUEST or self._bytes + 1 + len(data) > self.max_bytes):
            self._close()
        if self._out is None:
            self._out = self._open()
            self._out.write(b"[")
        else:
            self._out.write(b",")
            self._bytes += 1
        self._out.write(data)
        self._bytes += len(data)
        self._objects += 1

    def finish(self) -> None:
        """Close the last body; write an empty one when there was nothing to upload."""
        if self._out is None and self.count == 0:
            self._out = self._open()
            self._out.write(b"[")
        if self._out is not None:
            self._close()

    def _open(self) -> IO[bytes]:
        self.count += 1
        self._objects = 0
        self._bytes = _BODY_FRAME
        return self._sink.open(f"{self._code}-{self.count:04d}.{self._extension}")

    def _close(self) -> None:
        assert self._out is not None
        self._out.write(b"]\n")
        # Close each body at once: a large catalogue has thousands of bodies, more than a process may hold open.
        self._out.close()
        self._out = None


def max_request_bytes(settings: FeedSettings) -> int:
    """Return the body size cap: Wildberries' 10 MB, or less when the profile asks for less."""
    wanted = settings.options.get("max_request_bytes", MAX_REQUEST_BYTES)
    if not isinstance(wanted, int) or isinstance(wanted, bool) or wanted <= _BODY_FRAME:
        raise ValueError(f"max_request_bytes must be a whole number of bytes up to {MAX_REQUEST_BYTES}, got {wanted!r}")
    return min(wanted, MAX_REQUEST_BYTES)


@register
class WildberriesCardsFeed(FeedFormat):
    """Wildberries card creation: `cards/upload` bodies of at most 100 groups of at most 30 cards, 10 MB each.

    `rejected` lists, after `write`, the records left out for rules that span several records
    (a model whose products are in different subjects, a size twice in one card, a group too
    large for one request), as (record key, problem); `check` sees one record and cannot tell.
    """

    code = "wildberries"
    label = "Wildberries Content API (cards upload)"
    media_type = "application/json"
    extension = "json"
    is_grouped = True
    fields = (
        FieldRule("vendorCode", required=True, description="Article of the card (one colour); shared by its sizes."),
        FieldRule("subjectID", required=True, kind="integer", description="Wildberries subject (category)."),
        FieldRule("title", required=True, description="Card title."),
        FieldRule("description", description="Card description."),
        FieldRule("brand", description="Brand."),
        FieldRule("length", kind="integer", description="Packed length in cm."),
        FieldRule("width", kind="integer", description="Packed width in cm."),
        FieldRule("height", kind="integer", description="Packed height in cm."),
        FieldRule("weightBrutto", kind="decimal", description="Packed weight in kg."),
        FieldRule("characteristics", kind="list", description="Subject characteristics with Wildberries ids."),
        FieldRule("techSize", description="Seller's size, e.g. 42 or S."),
        FieldRule("wbSize", description="Russian size."),
        FieldRule("price", required=True, kind="money", description="Price in roubles."),
        FieldRule("sku", description="Barcode of the size."),
    )

    def __init__(self) -> None:
        super().__init__()
        self.rejected: list[tuple[str, Problem]] = []

    def check(self, record: Record, settings: FeedSettings | None = None) -> list[Problem]:
        """Return the rules the record breaks on its own."""
        problems = super().check(record)
        fields = record.fields
        price = fields.get("price")
        if isinstance(price, Money):
            if price.currency != "RUB":
                problems.append(Problem("price", f"price must be in RUB for Wildberries, got {price}", "not_allowed"))
            elif price.amount >= 0 and roubles(price) < 1:  # a negative amount is already reported by the money rule
                problems.append(Problem("price", f"price must be at least 1 rouble after rounding, got {price}", "invalid"))
        sku = record.get("sku")
        if isinstance(sku, str | int) and not isinstance(sku, bool):
            reason = gtin_problem(str(sku), is_global=False)
            if reason is not None:
                problems.append(Problem("sku", f"sku {sku} {reason}", "invalid_gtin"))
        for name in ("length", "width", "height", "weightBrutto"):
            value = fields.get(name)
            if isinstance(value, Decimal) and not value.is_finite():
                problems.append(Problem(name, f"{name} must be a number, got {value}", "invalid"))
            elif isinstance(value, int | Decimal) and not isinstance(value, bool) and value <= 0:
                problems.append(Problem(name, f"{name} must be more than zero, got {value}", "invalid"))
        characteristics = record.get("characteristics")
        if isinstance(characteristics, list):
            for param in characteristics:
                problem = _characteristic_problem(param)
                if problem is not None:
                    problems.append(problem)
                    break
        return problems

    def file_name(self, settings: FeedSettings) -> str:
        """Return the name of the first request body."""
        return f"{settings.code}-0001.{self.extension}"

    def write(self, items: Iterator[Record | RecordGroup], settings: FeedSettings, sink: Sink) -> None:
        """Write upload bodies; groups that break a rule across records go to `rejected` instead."""
        self.rejected = []
        bodies = _Bodies(sink, settings.code, self.extension, max_request_bytes(settings))
        for item in items:
            if isinstance(item, RecordGroup):
                records, model = item.variants, item.fields
            else:
                records, model = [item], {}
            if not records:
                continue
            objects, problem = group_objects(records, model, item.key)
            if problem is None and not all(bodies.fits(data) for data in objects):
                problem = Problem("variants", f"the cards of {item.key} take more than the {bodies.max_bytes} bytes of one request", "too_large")
            if problem is not None:
                self.rejected.extend((record.key, problem) for record in records)
                continue
            for data in objects:
                bodies.add(data)
        bodies.finish()
