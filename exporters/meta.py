"""Meta (Facebook and Instagram) catalogue feed: CSV, one row per variant, a fixed set of columns."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
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
    format_number,
    register,
    spreadsheet_safe,
    strip_control,
)
from exporters.google_merchant import price_text, sale_problems, weight_problem, weight_text

# Meta rejects descriptions that carry markup or character entities; plain text may still
# hold a lone "<" or "&" ("size < 42", "Black & White").
_MARKUP = re.compile(r"</?[a-zA-Z][^<>]*>|&(?:[a-zA-Z][a-zA-Z0-9]*|#[0-9]+|#x[0-9a-fA-F]+);")
# A lone surrogate cannot be encoded as UTF-8; it only ever comes from broken input.
_SURROGATE = re.compile("[\ud800-\udfff]")
_IMAGE_LIST_LIMIT = 2000


def _choices(*values: str) -> frozenset[str]:
    return frozenset(values)


@register
class MetaCatalogFeed(FeedFormat):
    """Write Meta's catalogue CSV: a header of every column, then one row per record."""

    code = "meta"
    label = "Meta catalogue (CSV)"
    media_type = "text/csv"
    extension = "csv"
    supports_delta = False
    is_grouped = False
    fields = (
        FieldRule("id", required=True, max_length=100, description="Equals the content_id the pixel sends."),
        FieldRule("title", required=True, max_length=200),
        FieldRule("description", required=True, max_length=9999, description="Plain text, no HTML."),
        FieldRule("availability", required=True, choices=_choices("in stock", "out of stock", "preorder", "available for order", "discontinued")),
        FieldRule("condition", required=True, choices=_choices("new", "refurbished", "used")),
        FieldRule("price", required=True, kind="money"),
        FieldRule("sale_price", kind="money"),
        FieldRule("sale_price_effective_date", description="ISO 8601 interval start/end."),
        FieldRule("link", required=True, kind="url"),
        FieldRule("image_link", required=True, kind="url"),
        FieldRule("additional_image_link", kind="url", max_items=20, description="Written in one cell, separated by commas."),
        FieldRule("brand", description="At least one of brand, gtin and mpn."),
        FieldRule("gtin", kind="gtin"),
        FieldRule("mpn"),
        FieldRule("item_group_id", description="The product model's code when empty."),
        FieldRule("color"),
        FieldRule("size"),
        FieldRule("gender", choices=_choices("female", "male", "unisex")),
        FieldRule("age_group", choices=_choices("adult", "all ages", "infant", "kids", "newborn", "teen", "toddler")),
        FieldRule("material"),
        FieldRule("pattern"),
        FieldRule("google_product_category", description="Google taxonomy id or path."),
        FieldRule("fb_product_category", description="Meta category id or path."),
        FieldRule("product_type", max_length=750),
        FieldRule("shipping_weight", kind="measure"),
        *(FieldRule(f"custom_label_{number}", max_length=100) for number in range(5)),
    )

    def check(self, record: Record, settings: FeedSettings | None = None) -> list[Problem]:
        """Return every rule of Meta's catalogue the record breaks."""
        problems = super().check(record)
        if record.get("brand") is None and record.get("gtin") is None and record.get("mpn") is None:
            problems.append(Problem("brand", "brand is required when the item has neither gtin nor mpn", "required"))
        description = record.get("description")
        if isinstance(description, str) and _MARKUP.search(description):
            problems.append(Problem("description", "description must be plain text, without HTML tags or character entities", "invalid"))
        problems.extend(sale_problems(record))
        problems.extend(_image_list_problems(record))
        weight = weight_problem(record, "shipping_weight")
        if weight is not None:
            problems.append(weight)
        return problems

    def write(self, items: Iterator[Record | RecordGroup], settings: FeedSettings, sink: Sink) -> None:
        """Stream the records as one CSV file: UTF-8 without BOM, CRLF, every column in the header."""
        out = sink.open(self.file_name(settings))
        text = io.TextIOWrapper(out, encoding="utf-8", newline="")
        try:
            writer = csv.writer(text)
            writer.writerow(_COLUMNS)
            for record in items:
                # Only records come to a format that is not grouped; a full feed leaves a
                # deleted product out by not listing it.
                if not isinstance(record, Record) or record.is_deleted:
                    continue
                row = [_cell_text(name, record) for name in _COLUMNS]
                writer.writerow([spreadsheet_safe(cell) for cell in row] if settings.is_for_people else row)
            text.flush()
        finally:
            # The sink's file stays open: the publisher closes and publishes it.
            text.detach()


_COLUMNS = tuple(rule.name for rule in MetaCatalogFeed.fields)


def _image_list_problems(record: Record) -> list[Problem]:
    images = record.get("additional_image_link")
    if not isinstance(images, list | tuple):
        return []
    if any("," in str(image) for image in images):
        return [Problem("additional_image_link", "additional_image_link has an address with a comma, which the list uses as separator", "invalid")]
    total = len(",".join(str(image) for image in images))
    if total > _IMAGE_LIST_LIMIT:
        return [
            Problem("additional_image_link", f"additional_image_link is {total} characters long in all; Meta takes at most {_IMAGE_LIST_LIMIT}", "too_long")
        ]
    return []


def _cell_text(name: str, record: Record) -> str:
    """Return one cell's text: typed values formatted, control characters removed."""
    value = record.get(name)
    if value is None and name == "item_group_id":
        value = record.group or None
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        text = ",".join(_value_text(item) for item in value if item is not None and item != "")
    else:
        text = _value_text(value)
    return _SURROGATE.sub("", strip_control(text))


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Money):
        return price_text(value)
    if isinstance(value, Measure):
        return weight_text(value)
    if isinstance(value, int | Decimal):
        return format_number(value)
    return str(value)
