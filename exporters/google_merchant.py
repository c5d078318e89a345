"""Google Merchant Center product feed: RSS 2.0 with `g:` elements, one `<item>` per variant.

Besides the format, this module holds the price, weight and sale rules that Google's
specification defines and other catalogue feeds (Meta's) repeat word for word.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from exporters.base import (
    FeedFormat,
    FeedSettings,
    FieldRule,
    Measure,
    Money,
    Problem,
    Record,
    RecordGroup,
    Sink,
    format_amount,
    format_number,
    register,
    xml_text,
)

G = "http://base.google.com/ns/1.0"

# ISO 4217 currencies whose minor unit is not the cent; every other currency has two decimals.
_CURRENCY_PLACES = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}

# Our measurement unit codes (Akeneo's) and the unit names Google's feed takes, with each
# unit's family: unit pricing compares a measure with its base measure only within a family.
_UNIT_NAMES = {
    "MILLIGRAM": "mg",
    "GRAM": "g",
    "KILOGRAM": "kg",
    "OUNCE": "oz",
    "POUND": "lb",
    "MILLILITER": "ml",
    "CENTILITER": "cl",
    "LITER": "l",
    "CUBIC_METER": "cbm",
    "FLUID_OUNCE": "floz",
    "GALLON": "gal",
    "CENTIMETER": "cm",
    "METER": "m",
    "INCH": "in",
    "FOOT": "ft",
    "YARD": "yd",
    "SQUARE_METER": "sqm",
    "SQUARE_FOOT": "sqft",
}
_UNIT_FAMILIES = {
    **dict.fromkeys(("mg", "g", "kg", "oz", "lb"), "weight"),
    **dict.fromkeys(("ml", "cl", "l", "cbm", "floz", "pt", "qt", "gal"), "volume"),
    **dict.fromkeys(("cm", "m", "in", "ft", "yd"), "length"),
    **dict.fromkeys(("sqm", "sqft"), "area"),
    **dict.fromkeys(("ct", "sheet", "item"), "count"),
}
# Shipping weight takes only these four units.
_WEIGHT_UNITS = frozenset(("g", "kg", "lb", "oz"))
_BASE_AMOUNTS = frozenset((1, 2, 4, 8, 10, 100))
_BASE_SPECIAL = frozenset(((75, "cl"), (750, "ml"), (50, "kg"), (1000, "kg")))


def price_text(money: Money) -> str:
    """Return a price as feeds write it: amount in the currency's minor unit, space, code ("15.00 EUR")."""
    return f"{format_amount(money.amount, _CURRENCY_PLACES.get(money.currency, 2))} {money.currency}"


def feed_unit(unit: str) -> str | None:
    """Return the feed's name for one of our units (or a feed unit name given as is), None if unknown."""
    name = _UNIT_NAMES.get(unit, unit)
    return name if name in _UNIT_FAMILIES else None


def weight_text(weight: Measure) -> str:
    """Return a shipping weight as feeds write it, e.g. "750 g"."""
    return f"{format_number(weight.amount)} {feed_unit(weight.unit) or weight.unit.lower()}"


def weight_problem(record: Record, name: str) -> Problem | None:
    """Return why a weight field does not use a unit shipping rates accept, or None."""
    weight = record.get(name)
    if isinstance(weight, Measure) and feed_unit(weight.unit) not in _WEIGHT_UNITS:
        return Problem(name, f"{name} must be in g, kg, lb or oz, got {weight.unit!r}", "invalid")
    return None


def parse_moment(text: str) -> datetime | None:
    """Return an ISO 8601 date or date-time as an aware datetime (UTC when no offset), None if it is not one."""
    if len(text) < 8:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    # Google reads a moment without a time zone as UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def sale_problems(record: Record) -> list[Problem]:
    """Return why a record's sale price or its effective period cannot be published."""
    problems: list[Problem] = []
    price, sale = record.get("price"), record.get("sale_price")
    if isinstance(price, Money) and isinstance(sale, Money):
        if sale.currency != price.currency:
            problems.append(Problem("sale_price", f"sale_price is in {sale.currency} but price is in {price.currency}", "invalid"))
        elif sale.amount >= price.amount:
            problems.append(Problem("sale_price", f"sale_price {price_text(sale)} must be lower than price {price_text(price)}", "invalid"))
    period = record.get("sale_price_effective_date")
    if isinstance(period, str):
        parts = period.split("/")
        start = parse_moment(parts[0])
        end = parse_moment(parts[1]) if len(parts) == 2 else None
        if start is None or end is None:
            problems.append(
                Problem("sale_price_effective_date", f"sale_price_effective_date must be an ISO 8601 interval start/end, got {period[:80]!r}", "invalid")
            )
        elif start >= end:
            problems.append(Problem("sale_price_effective_date", f"sale_price_effective_date ends before it starts: {period!r}", "invalid"))
    return problems


def _choices(*values: str) -> frozenset[str]:
    return frozenset(values)


@register
class GoogleMerchantFeed(FeedFormat):
    """Write Google Merchant Center's RSS 2.0 product feed.

    Identifiers: Google treats an item without `identifier_exists` as claiming a
    manufacturer-assigned identifier, and limits or disapproves it when neither `gtin` nor
    `mpn` is there. A record that carries neither is, as far as the catalogue knows, a product
    without one (own-brand, handmade, sold loose), which is exactly what Google's
    `identifier_exists` = `no` declares, so the feed adds it instead of dropping the item. A
    record that states the opposite of its data (`identifier_exists` true with no gtin or
    mpn, or false with one) is reported, since only people can tell which side is wrong.
    """

    code = "google_merchant"
    label = "Google Merchant Center (RSS 2.0)"
    media_type = "application/xml"
    extension = "xml"
    supports_delta = False
    is_grouped = False
    renders_records = True
    fields = (
        FieldRule("id", required=True, max_length=50, description="Stable item id, 1-50 characters."),
        FieldRule("title", required=True, max_length=150),
        FieldRule("description", required=True, max_length=5000, description="Plain text."),
        FieldRule("link", required=True, kind="url", max_length=2000),
        FieldRule("image_link", required=True, kind="url", max_length=2000),
        FieldRule("additional_image_link", kind="url", max_items=10, item_max_length=2000),
        FieldRule("availability", required=True, choices=_choices("in_stock", "out_of_stock", "preorder", "backorder")),
        FieldRule("availability_date", description="ISO 8601; required for preorder and backorder."),
        FieldRule("price", required=True, kind="money"),
        FieldRule("sale_price", kind="money", description="Lower than price, same currency."),
        FieldRule("sale_price_effective_date", max_length=51, description="ISO 8601 interval start/end."),
        FieldRule("brand", max_length=70),
        FieldRule("gtin", kind="gtin"),
        FieldRule("mpn", max_length=70),
        FieldRule("identifier_exists", kind="boolean", description="Written as no when there is neither gtin nor mpn."),
        FieldRule("condition", choices=_choices("new", "refurbished", "used")),
        FieldRule("google_product_category", description="Taxonomy id, or its full path."),
        FieldRule("product_type", max_length=750),
        FieldRule("item_group_id", max_length=50, description="The product model's code when empty."),
        FieldRule("color", max_length=100),
        FieldRule("size", max_length=100),
        FieldRule("size_system", choices=_choices("AU", "BR", "CN", "DE", "EU", "FR", "IT", "JP", "MEX", "UK", "US")),
        FieldRule("size_type", choices=_choices("regular", "petite", "maternity", "big", "tall", "plus")),
        FieldRule("gender", choices=_choices("male", "female", "unisex")),
        FieldRule("age_group", choices=_choices("newborn", "infant", "toddler", "kids", "adult")),
        FieldRule("material", max_length=200),
        FieldRule("pattern", max_length=100),
        FieldRule("shipping_weight", kind="measure"),
        FieldRule("unit_pricing_measure", kind="measure"),
        FieldRule("unit_pricing_base_measure", kind="measure"),
        *(FieldRule(f"custom_label_{number}", max_length=100) for number in range(5)),
    )

    def check(self, record: Record, settings: FeedSettings | None = None) -> list[Problem]:
        """Return every rule of Google's specification the record breaks."""
        problems = super().check(record)
        if record.get("availability") in ("preorder", "backorder") and record.get("availability_date") is None:
            problems.append(Problem("availability_date", f"availability_date is required when availability is {record.get('availability')}", "required"))
        moment = record.get("availability_date")
        if isinstance(moment, str) and parse_moment(moment) is None:
            problems.append(Problem("availability_date", f"availability_date must be an ISO 8601 date, got {moment[:80]!r}", "invalid"))
        problems.extend(sale_problems(record))
        problems.extend(self._identifier_problems(record))
        if record.get("item_group_id") is None and record.group is not None and len(record.group) > 50:
            problems.append(
                Problem("item_group_id", f"item_group_id {record.group[:60]!r}... is {len(record.group)} characters long; Google takes at most 50", "too_long")
            )
        weight = weight_problem(record, "shipping_weight")
        if weight is not None:
            problems.append(weight)
        problems.extend(self._unit_pricing_problems(record))
        return problems

    def _identifier_problems(self, record: Record) -> list[Problem]:
        stated = record.get("identifier_exists")
        has_identifier = record.get("gtin") is not None or record.get("mpn") is not None
        if stated is True and not has_identifier:
            return [Problem("identifier_exists", "identifier_exists is yes but the item has neither gtin nor mpn", "invalid")]
        if stated is False and has_identifier:
            return [Problem("identifier_exists", "identifier_exists is no but the item has a gtin or mpn", "invalid")]
        return []

    def _unit_pricing_problems(self, record: Record) -> list[Problem]:
        measure, base = record.get("unit_pricing_measure"), record.get("unit_pricing_base_measure")
        problems: list[Problem] = []
        measure_unit = feed_unit(measure.unit) if isinstance(measure, Measure) else None
        if isinstance(measure, Measure) and measure_unit is None:
            problems.append(Problem("unit_pricing_measure", f"unit_pricing_measure has a unit Google does not know: {measure.unit!r}", "invalid"))
        if not isinstance(base, Measure):
            return problems
        base_unit = feed_unit(base.unit)
        if base_unit is None:
            problems.append(Problem("unit_pricing_base_measure", f"unit_pricing_base_measure has a unit Google does not know: {base.unit!r}", "invalid"))
            return problems
        amount = base.amount if isinstance(base.amount, Decimal) else Decimal(str(base.amount))
        if amount != amount.to_integral_value() or (int(amount) not in _BASE_AMOUNTS and (int(amount), base_unit) not in _BASE_SPECIAL):
            problems.append(
                Problem(
                    "unit_pricing_base_measure",
                    f"unit_pricing_base_measure must be 1, 2, 4, 8, 10 or 100 units (or 75cl, 750ml, 50kg, 1000kg), got {format_number(amount)}{base_unit}",
                    "invalid",
                )
            )
        if measure is None:
            problems.append(Problem("unit_pricing_measure", "unit_pricing_measure is required with unit_pricing_base_measure", "required"))
        elif measure_unit is not None and _UNIT_FAMILIES[measure_unit] != _UNIT_FAMILIES[base_unit]:
            problems.append(
                Problem("unit_pricing_base_measure", "unit_pricing_base_measure must measure the same kind of quantity as unit_pricing_measure", "invalid")
            )
        return problems

    def write(self, items: Iterator[Record | RecordGroup], settings: FeedSettings, sink: Sink) -> None:
        """Stream the records as one RSS 2.0 file, one `<item>` each.

        The items are written as text built here, escaped as lxml escapes element text (every
        text has been through `xml_text`, so no character needs lxml's own handling), a batch of
        items per write.
        """
        out = sink.open(self.file_name(settings))
        out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
        header = [f'<rss xmlns:g="{G}" version="2.0">\n <channel>']
        for tag, text in (("title", settings.title), ("link", settings.link), ("description", settings.description)):
            header.append(f"\n  <{tag}>{_escaped(xml_text(text))}</{tag}>")
        out.write("".join(header).encode())
        chunk: list[str] = []
        for record in items:
            # Only records come to a format that is not grouped; a full feed leaves a
            # deleted product out by not listing it.
            if not isinstance(record, Record) or record.is_deleted:
                continue
            chunk.append(record.rendered if record.rendered is not None else _item_xml(record))
            if len(chunk) >= 512:
                out.write("".join(chunk).encode())
                chunk = []
        chunk.append("\n </channel>\n</rss>\n")
        out.write("".join(chunk).encode())

    def render(self, record: Record, settings: FeedSettings) -> str | Problem:
        """Return the record's `<item>` element as the feed writes it."""
        return _item_xml(record)


def _item_xml(record: Record) -> str:
    """Return one item's element as text, its elements in the specification's order."""
    fields = record.fields
    parts = ["\n  <item>"]
    for name, tag in _ITEM_TAGS:
        value = fields.get(name)
        if value is None or (isinstance(value, str | list) and not value):
            value = None
            if name == "item_group_id":
                value = record.group or None
            elif name == "identifier_exists" and record.get("gtin") is None and record.get("mpn") is None:
                value = False
            if value is None:
                continue
        if isinstance(value, list | tuple):
            for item in value:
                if item is not None and item != "":
                    parts.append(f"\n   <{tag}>{_escaped(xml_text(_value_text(name, item)))}</{tag}>")
        else:
            parts.append(f"\n   <{tag}>{_escaped(xml_text(_value_text(name, value)))}</{tag}>")
    parts.append("\n  </item>")
    return "".join(parts)


# every field's name and its element's name with the prefix the feed's root declares, in the specification's order
_ITEM_TAGS = tuple((rule.name, f"g:{rule.name}") for rule in GoogleMerchantFeed.fields)


def _escaped(text: str) -> str:
    """Escape text as lxml writes an element's text: &, <, > and carriage returns."""
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return text


def _value_text(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Money):
        return price_text(value)
    if isinstance(value, Measure):
        if name == "shipping_weight":
            return weight_text(value)
        # Google's unit pricing examples write the unit right after the number ("750ml").
        return f"{format_number(value.amount)}{feed_unit(value.unit) or value.unit.lower()}"
    if isinstance(value, int | Decimal):
        return format_number(value)
    return str(value)
