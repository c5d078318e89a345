"""The web shop feed: JSON Lines for the shop's import, a flat CSV, and schema.org JSON-LD for its pages.

One run writes three files in one pass over the records:

- `<code>.jsonl`: one line per product model (with its variants nested) or single product, and in
  a delta run one `{"type": "deleted", "sku": ...}` line per product that left the channel;
- `<code>.csv`: one row per sellable product, variants flattened with their model's code in the
  `group` column (deleted products are left out; the JSON Lines file carries the deletions);
- `<code>.jsonld.jsonl`: one schema.org `ProductGroup` or `Product` document per line, ready to
  be embedded in the product page (`<`, `>` and `&` are written as JSON escapes so a text holding
  `</script>` cannot close the page's script element).

The options `csv: false` and `jsonld: false` leave those two files out (the JSON Lines file, which
carries the deletions of a delta run, is always written); each file costs its share of a run.

The shop takes whatever the export profile maps, so records are free-form; the format only needs
a name and a price, and checks addresses when they are given.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

import orjson

from exporters.base import (
    CsvLine,
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
    compile_rules,
    format_amount,
    format_number,
    gtin_problem,
    register,
    spreadsheet_safe,
    value_check,
)

logger = logging.getLogger(__name__)

# Control characters other than tab/LF/CR, and lone surrogates, which UTF-8 cannot encode.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

# ISO 4217 currencies whose minor unit is not the cent; every other currency has two decimals.
_CURRENCY_PLACES = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}

# A record field with one of these names would overwrite the structure of its JSON Lines line.
_RESERVED_FIELDS = frozenset({"type", "variants"})
_GROUP_KEYS = frozenset({"type", "code", "axes", "variants"})
_PRODUCT_SKIPPED = _RESERVED_FIELDS | {"sku"}

_SCHEMA = "https://schema.org/"
_VARIES_BY = {
    "color": "color",
    "size": "size",
    "material": "material",
    "pattern": "pattern",
    "gender": "suggestedGender",
    "age": "suggestedAge",
}
_AVAILABILITY = {
    name.lower(): name
    for name in (
        "InStock",
        "OutOfStock",
        "PreOrder",
        "BackOrder",
        "Discontinued",
        "InStoreOnly",
        "LimitedAvailability",
        "OnlineOnly",
        "PreSale",
        "SoldOut",
        "MadeToOrder",
        "Reserved",
    )
}
_CONDITION = {name.lower(): name for name in ("NewCondition", "RefurbishedCondition", "UsedCondition", "DamagedCondition")}
_GTIN_KEYS = {8: "gtin8", 12: "gtin12", 13: "gtin13", 14: "gtin14"}
_INT64 = 2**63 - 1
_IMAGE = FieldRule("image", kind="url", description="Absolute http(s) address of the main image, or a list of addresses.")


def _clean(text: str) -> str:
    # Printable text holds none of the unwritable characters; testing that is much cheaper than the pattern.
    return text if text.isprintable() else _UNWRITABLE.sub("", text)


def _money_text(money: Money) -> str:
    return format_amount(money.amount, _CURRENCY_PLACES.get(money.currency.upper(), 2))


# the types most fields hold, told writable without walking the checks below
_WRITABLE_TYPES = frozenset({str, bool, int, float, Decimal, Money, Measure, Param, date, time, datetime, type(None)})


def _is_writable(value: Any) -> bool:
    """Tell whether the feed knows how to write a value of this type."""
    if type(value) in _WRITABLE_TYPES:
        return True
    if isinstance(value, list | tuple):
        return all(_is_writable(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_writable(item) for key, item in value.items())
    return value is None or isinstance(value, str | bool | int | float | Decimal | Money | Measure | Param | date | time)


def _json_value(value: Any) -> Any:
    """Return a field value as plain JSON data: prices and amounts as decimal strings."""
    if type(value) is str:
        return value if value.isprintable() else _UNWRITABLE.sub("", value)
    convert = _JSON_OF_TYPE.get(type(value))
    return convert(value) if convert is not None else _json_other(value)


def _json_list(items: list[Any] | tuple[Any, ...]) -> list[Any]:
    return [item if type(item) is str and item.isprintable() else _json_value(item) for item in items]


def _json_int(value: int) -> int | str:
    # orjson refuses integers beyond 64 bits; a string keeps every digit.
    return value if -_INT64 - 1 <= value <= _INT64 else str(value)


def _json_other(value: Any) -> Any:
    """Return a value of a subclass of the types `_JSON_OF_TYPE` knows as JSON data (a str or int enum member, say)."""
    if isinstance(value, str):
        return _clean(value)
    for kind, convert in _JSON_OF_TYPE.items():
        if isinstance(value, kind):
            return convert(value)
    raise TypeError(f"the web shop feed cannot write a {type(value).__name__} value")


def _same(value: Any) -> Any:
    return value


# How each type a field holds becomes JSON data, by exact type (`_json_other` takes subclasses).
_JSON_OF_TYPE: dict[type, Callable[[Any], Any]] = {
    type(None): _same,
    bool: _same,
    float: _same,
    int: _json_int,
    Decimal: lambda value: f"{value:f}",
    Money: lambda value: {"amount": _money_text(value), "currency": _clean(value.currency)},
    Measure: lambda value: {"amount": format_number(value.amount), "unit": _clean(value.unit)},
    Param: lambda value: {"name": _clean(value.name), "value": _json_value(value.value), "unit": None if value.unit is None else _clean(value.unit)},
    list: _json_list,
    tuple: _json_list,
    dict: lambda value: {_clean(key): _json_value(item) for key, item in value.items()},
    datetime: datetime.isoformat,
    date: date.isoformat,
    time: time.isoformat,
}

# For each set of field names a record holds (in its order) and names to skip: the names to
# write, in name order, with their cleaned spelling. A profile's records hold a few such sets.
_NAME_ORDERS: dict[tuple[tuple[str, ...], frozenset[str]], list[tuple[str, str]]] = {}


def _json_fields(fields: dict[str, Any], skip: frozenset[str]) -> dict[str, Any]:
    """Return the fields as JSON data in name order, leaving out the names in `skip`."""
    key = (tuple(fields), skip)
    names = _NAME_ORDERS.get(key)
    if names is None:
        if len(_NAME_ORDERS) >= 4096:
            _NAME_ORDERS.clear()
        names = _NAME_ORDERS[key] = [(name, _clean(name)) for name in sorted(fields) if name not in skip]
    data = {}
    for name, clean in names:
        value = fields[name]
        if type(value) is str and value.isprintable():
            data[clean] = value
        elif value is not None:
            data[clean] = _json_value(value)
    return data


def _sku(record: Record) -> str:
    value = record.get("sku")
    return record.key if value is None else _clean(str(value))


# --- JSON Lines ----------------------------------------------------------------------------


# What the run renders for a record or a model while resolving it (see `WebshopFeed.render`): a
# plain tuple of its parts in the three files, by these positions. For a single product: its
# JSON Lines line, CSV row and JSON-LD line; for a variant: its object in its model's line, its
# CSV row (its model's fields included) and its object in its model's JSON-LD document; for a
# model: the start of its line and of its document, up to the variants.
_LINE, _ROW, _LD = 0, 1, 2


def _product_line(record: Record) -> bytes:
    return orjson.dumps({"type": "product", "sku": _sku(record), **_json_fields(record.fields, _PRODUCT_SKIPPED)}) + b"\n"


def _variant_object(record: Record) -> bytes:
    return orjson.dumps({"sku": _sku(record), **_json_fields(record.fields, _PRODUCT_SKIPPED)})


def _model_start(group: RecordGroup) -> bytes:
    """Return a model's JSON Lines object up to its variants: the line is this, the variants' objects joined by commas, and `]}`."""
    document: dict[str, Any] = {"type": "product_model", "code": _clean(group.key)}
    if group.axes:
        document["axes"] = [_clean(axis) for axis in group.axes]
    document.update(_json_fields(group.fields, _GROUP_KEYS))
    # compact JSON ends with "}": without it, the variants' key can follow
    return orjson.dumps(document)[:-1] + b',"variants":['


class _JsonLinesWriter:
    """Write one JSON object per model or single product, and one per deleted product."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out

    def _deleted(self, record: Record) -> None:
        self._out.write(orjson.dumps({"type": "deleted", "sku": _sku(record)}) + b"\n")

    def add_product(self, record: Record) -> None:
        if record.is_deleted:
            self._deleted(record)
            return
        self._out.write(record.rendered[_LINE] if record.rendered is not None else _product_line(record))

    def add_group(self, group: RecordGroup) -> None:
        variants = [variant for variant in group.variants if not variant.is_deleted]
        if variants:
            start = group.rendered[_LINE] if group.rendered is not None else _model_start(group)
            parts = [variant.rendered[_LINE] if variant.rendered is not None else _variant_object(variant) for variant in variants]
            self._out.write(start + b",".join(parts) + b"]}\n")
        for variant in group.variants:
            if variant.is_deleted:
                self._deleted(variant)


# --- CSV -----------------------------------------------------------------------------------


class _Utf8Lines:
    """Let the csv module write text rows into a binary file as UTF-8."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out

    def write(self, text: str) -> int:
        return self._out.write(text.encode("utf-8"))


def _cell_text(value: Any) -> str:
    """Return a field value as the text of a CSV cell or a schema.org property."""
    if type(value) is str:
        return value if value.isprintable() else _UNWRITABLE.sub("", value)
    convert = _CELL_OF_TYPE.get(type(value))
    return convert(value) if convert is not None else _cell_other(value)


def _cell_other(value: Any) -> str:
    """Return the cell text of a value of a subclass of the types `_CELL_OF_TYPE` knows, or of any other type."""
    if isinstance(value, str):
        return _clean(value)
    for kind, convert in _CELL_OF_TYPE.items():
        if isinstance(value, kind):
            return convert(value)
    return _clean(str(value))


def _param_cell(value: Param) -> str:
    unit = f" {_clean(value.unit)}" if value.unit else ""
    return f"{_clean(value.name)}: {_cell_text(value.value)}{unit}"


# How each type a field holds becomes cell text, by exact type (`_cell_other` takes subclasses and the rest).
_CELL_OF_TYPE: dict[type, Callable[[Any], str]] = {
    type(None): lambda value: "",
    bool: lambda value: "true" if value else "false",
    int: str,
    float: str,
    Decimal: lambda value: f"{value:f}",
    Money: lambda value: f"{_money_text(value)} {_clean(value.currency)}",
    Param: _param_cell,
    Measure: lambda value: _clean(str(value)),
    list: lambda value: "|".join(_cell_text(item) for item in value),
    tuple: lambda value: "|".join(_cell_text(item) for item in value),
    dict: lambda value: _clean(orjson.dumps(_json_value(value)).decode()),
    datetime: datetime.isoformat,
    date: date.isoformat,
    time: time.isoformat,
}


def _people_cell(value: Any) -> str:
    """Return a cell a spreadsheet shows as text, never runs as a formula."""
    text = _cell_text(value)
    # A number is only digits, a sign and a dot: a spreadsheet reads it as a number, never a formula.
    return text if isinstance(value, bool | int | float | Decimal) else spreadsheet_safe(text)


class _CsvWriter:
    """Write one row per sellable product under a header fixed by the options or the first product.

    The file streams, so the header cannot wait for every field name: without `csv_columns` in the
    options the columns are `sku`, `group`, then the field names of the first item in the order the
    profile maps them (for a product model: the model's fields, then those of its variants). Fields
    that appear only later have no column; the run logs their names once at the end.
    """

    def __init__(self, out: IO[bytes], settings: FeedSettings) -> None:
        if settings.options.get("excel"):
            out.write("\ufeff".encode())
        self._out = out
        self._writer = csv.writer(_Utf8Lines(out))
        self._cell: Callable[[Any], str] = _people_cell if settings.is_for_people else _cell_text
        configured = settings.options.get("csv_columns")
        self._columns: list[str] | None = list(configured) if configured else None
        self._is_derived = not configured
        self._has_header = False
        self._missing: set[str] = set()
        self._feed = settings.code

    def _start(self, names: Iterable[str]) -> list[str]:
        if self._columns is None:
            self._columns = ["sku", "group", *dict.fromkeys(name for name in names if name not in ("sku", "group"))]
        if not self._has_header:
            self._writer.writerow([self._cell(name) for name in self._columns])
            self._has_header = True
        return self._columns

    def _row(self, columns: list[str], fields: dict[str, Any]) -> None:
        cell = self._cell
        self._writer.writerow([cell(fields.get(column)) for column in columns])
        if self._is_derived:
            self._missing.update(fields.keys() - columns)

    def add_product(self, record: Record) -> None:
        if record.is_deleted:
            return
        if record.rendered is not None:
            self._start(())
            self._out.write(record.rendered[_ROW].encode())
            return
        columns = self._start(record.fields)
        self._row(columns, {**record.fields, "sku": _sku(record), "group": record.group or ""})

    def add_group(self, group: RecordGroup) -> None:
        variants = [variant for variant in group.variants if not variant.is_deleted]
        if not variants:
            return
        columns = self._start(name for fields in (group.fields, *(variant.fields for variant in variants)) for name in fields)
        for variant in variants:
            if variant.rendered is not None:
                self._out.write(variant.rendered[_ROW].encode())
            else:
                self._row(columns, {**group.fields, **variant.fields, "sku": _sku(variant), "group": group.key})

    def finish(self) -> None:
        self._start(())
        missing = self._missing - {"sku", "group"}
        if missing:
            logger.warning("The CSV of feed %s has no column for %s; list them in the csv_columns option", self._feed, ", ".join(sorted(missing)))


# --- schema.org JSON-LD --------------------------------------------------------------------


def _ld_text(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_ld_text(item) for item in value]
    return _cell_text(value)


def _gtin(record: Record) -> tuple[str, str] | None:
    """Return the schema.org property and value of the record's first valid global GTIN."""
    for name in ("gtin", "ean"):
        value = record.get(name)
        for candidate in value if isinstance(value, list | tuple) else (value,):
            text = str(candidate).strip() if candidate is not None else ""
            # A wrong or in-store code in the page is worse than none: search engines reject the page's product.
            if text and gtin_problem(text) is None:
                return _GTIN_KEYS[len(text)], text
    return None


def _schema_name(value: Any, names: dict[str, str], suffix: str = "") -> str | None:
    """Return the schema.org URL of an enumeration member given as `in_stock`, `InStock` or its URL."""
    text = str(value).strip()
    text = text.removeprefix(_SCHEMA).removeprefix("http://schema.org/")
    key = text.replace("_", "").replace(" ", "").replace("-", "").lower()
    name = names.get(key) or names.get(key + suffix.lower())
    return None if name is None else _SCHEMA + name


def _offer(record: Record) -> dict[str, Any] | None:
    sale = record.get("sale_price")
    price = sale if isinstance(sale, Money) else record.get("price")
    if not isinstance(price, Money):
        return None
    offer: dict[str, Any] = {"@type": "Offer"}
    url = record.get("url")
    if url is not None:
        offer["url"] = _cell_text(url)
    offer["price"] = _money_text(price)
    offer["priceCurrency"] = _clean(price.currency)
    availability = record.get("availability")
    offer_availability = _SCHEMA + "InStock" if availability is None else _schema_name(availability, _AVAILABILITY)
    if offer_availability is not None:
        offer["availability"] = offer_availability
    condition = record.get("condition")
    item_condition = _SCHEMA + "NewCondition" if condition is None else _schema_name(condition, _CONDITION, "Condition")
    if item_condition is not None:
        offer["itemCondition"] = item_condition
    return offer


def _add_properties(document: dict[str, Any], record: Record, names: tuple[str, ...]) -> None:
    """Add the record's fields of these names as schema.org texts, then its brand."""
    for name in names:
        value = record.get(name)
        if value is not None:
            document[name] = _ld_text(value)
    brand = record.get("brand")
    if brand is not None:
        document["brand"] = {"@type": "Brand", "name": _cell_text(brand)}


def _ld_product(record: Record, group: str | None = None) -> dict[str, Any]:
    product: dict[str, Any] = {"@type": "Product", "sku": _sku(record)}
    gtin = _gtin(record)
    if gtin is not None:
        product[gtin[0]] = gtin[1]
    _add_properties(product, record, ("name", "description", "mpn", "image", "url", "color", "size", "material", "pattern"))
    if group is not None:
        product["inProductGroupWithID"] = _clean(group)
    offer = _offer(record)
    if offer is not None:
        product["offers"] = offer
    return product


def _ld_escaped(data: bytes) -> bytes:
    # Outside strings JSON has no <, > or &, so escaping them keeps the value and makes the line safe inside <script>.
    return data.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


def _ld_product_line(record: Record) -> bytes:
    return _ld_escaped(orjson.dumps({"@context": "https://schema.org", **_ld_product(record, record.group)})) + b"\n"


def _ld_variant(record: Record, group_key: str) -> bytes:
    return _ld_escaped(orjson.dumps(_ld_product(record, group_key)))


def _ld_group_start(group: RecordGroup) -> bytes:
    """Return a model's ProductGroup document up to its variants: the line is this, the variants' Products joined by commas, and `]}`."""
    model = Record(group.key, group.fields)
    document: dict[str, Any] = {"@context": "https://schema.org", "@type": "ProductGroup", "productGroupID": _clean(group.key)}
    _add_properties(document, model, ("name", "description", "image", "url"))
    varies_by = [_SCHEMA + _VARIES_BY[axis] for axis in group.axes if axis in _VARIES_BY]
    if varies_by:
        document["variesBy"] = varies_by
    return _ld_escaped(orjson.dumps(document))[:-1] + b',"hasVariant":['


class _JsonLdWriter:
    """Write one schema.org document per line: a ProductGroup with its variants, or a Product."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out

    def add_product(self, record: Record) -> None:
        if not record.is_deleted:
            self._out.write(record.rendered[_LD] if record.rendered is not None else _ld_product_line(record))

    def add_group(self, group: RecordGroup) -> None:
        variants = [variant for variant in group.variants if not variant.is_deleted]
        if not variants:
            return
        start = group.rendered[_LD] if group.rendered is not None else _ld_group_start(group)
        parts = [variant.rendered[_LD] if variant.rendered is not None else _ld_variant(variant, group.key) for variant in variants]
        self._out.write(start + b",".join(parts) + b"]}\n")


# --- the format ----------------------------------------------------------------------------


def _files(settings: FeedSettings) -> tuple[bool, bool]:
    """Tell whether a run writes the CSV and the JSON-LD file besides the JSON Lines."""
    return settings.options.get("csv", True) is not False, settings.options.get("jsonld", True) is not False


@register
class WebshopFeed(FeedFormat):
    """Our own web shop: JSON Lines of models and products, a flat CSV and schema.org JSON-LD."""

    code = "webshop"
    label = "Web shop (JSON Lines, CSV, schema.org JSON-LD)"
    media_type = "application/x-ndjson"
    extension = "jsonl"
    supports_delta = True
    is_grouped = True
    accepts_any_field = True
    renders_records = True
    fields = (
        FieldRule("sku", description="Our SKU; the record's key when the profile maps none."),
        FieldRule("name", required=True, description="Product name as the shop shows it."),
        FieldRule("price", required=True, kind="money", description="Regular price with its currency."),
        FieldRule("sale_price", kind="money", description="Price to charge now; schema.org offers show it instead of the regular price."),
        FieldRule("url", kind="url", description="Absolute http(s) address of the product page."),
        _IMAGE,
    )

    def __init__(self) -> None:
        super().__init__()
        # An image may be one address or a list of them with no limit, which a single rule cannot say.
        self._check_fields = compile_rules(rule for rule in self.fields if rule.name != "image")
        self._check_image = value_check(_IMAGE)
        self._parts_for: tuple[FeedSettings, tuple[Callable[[dict[str, Any]], str] | None, bool] | None] | None = None

    def check(self, record: Record, settings: FeedSettings | None = None) -> list[Problem]:
        """Return every rule of the shop the record breaks (empty when it may be published)."""
        problems = super().check(record)
        if record.get("sku") is None and not record.key:
            problems.append(Problem("sku", "sku is required by the channel and is empty", "required"))
        images = record.fields.get("image")
        check_image = self._check_image
        for image in images if isinstance(images, list | tuple) else (images,):
            found = None if image is None or image == "" or check_image is None else check_image(image)
            if found is not None:
                problems.append(found)
                break
        for name, value in record.fields.items():
            if type(value) in _WRITABLE_TYPES and name not in _RESERVED_FIELDS:
                continue
            if name in _RESERVED_FIELDS:
                problems.append(Problem(name, f"{name} names a part of the web shop feed's lines; map the field under another name", "reserved"))
            elif not _is_writable(value):
                problems.append(Problem(name, f"{name} holds a {type(value).__name__}, which the web shop feed cannot write", "invalid"))
        return problems

    def option_problems(self, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Return (option, message) for every web shop option the format cannot use."""
        problems = [
            (name, f"{name} is true or false (write the file or leave it out)") for name in ("csv", "jsonld") if not isinstance(options.get(name, True), bool)
        ]
        columns = options.get("csv_columns")
        if columns is not None and not (isinstance(columns, list) and columns and all(isinstance(column, str) for column in columns)):
            problems.append(("csv_columns", "csv_columns lists the CSV's columns by field name"))
        return problems

    def render(self, record: Record, settings: FeedSettings) -> tuple[bytes, str, bytes] | None:
        """Return a single product's JSON Lines line, CSV row and JSON-LD line (empty for a file the
        run leaves out); None (nothing prepared) when the CSV is written and its columns are not
        configured, as they then follow the first product."""
        parts = self._parts(settings)
        if parts is None:
            return None
        row, has_ld = parts
        return (
            _product_line(record),
            "" if row is None else row({**record.fields, "sku": _sku(record), "group": record.group or ""}),
            _ld_product_line(record) if has_ld else b"",
        )

    def render_group(self, group: RecordGroup, variants: list[Record], settings: FeedSettings) -> tuple[Any, list[Any]]:
        """Return the start of a model's JSON Lines line and JSON-LD document, and each variant's
        object in them with its CSV row (the model's fields repeated in it)."""
        parts = self._parts(settings)
        if parts is None:
            return None, [None] * len(variants)
        row, has_ld = parts
        key = group.key
        rendered = [
            (
                _variant_object(variant),
                "" if row is None else row({**group.fields, **variant.fields, "sku": _sku(variant), "group": key}),
                _ld_variant(variant, key) if has_ld else b"",
            )
            for variant in variants
        ]
        return (_model_start(group), "", _ld_group_start(group) if has_ld else b""), rendered

    def _parts(self, settings: FeedSettings) -> tuple[Callable[[dict[str, Any]], str] | None, bool] | None:
        """Return what a run renders besides the JSON Lines: the function that makes a product's
        CSV row (None when the CSV is left out) and whether it writes JSON-LD; None when the CSV is
        written without configured columns, so nothing can be rendered ahead."""
        cached = self._parts_for
        if cached is None or cached[0] is not settings:
            has_csv, has_ld = _files(settings)
            configured = settings.options.get("csv_columns")
            parts: tuple[Callable[[dict[str, Any]], str] | None, bool] | None = (None, has_ld)
            if has_csv:
                if configured:
                    columns = list(configured)
                    cell = _people_cell if settings.is_for_people else _cell_text
                    line = CsvLine()

                    def renderer(fields: dict[str, Any]) -> str:
                        return line([cell(fields.get(column)) for column in columns])

                    parts = (renderer, parts[1])
                else:
                    parts = None
            cached = self._parts_for = (settings, parts)
        return cached[1]

    def file_names(self, settings: FeedSettings) -> list[str]:
        """Return the names of the files of a run: the JSON Lines, then the CSV and the JSON-LD unless left out."""
        has_csv, has_ld = _files(settings)
        return [self.file_name(settings), *([f"{settings.code}.csv"] if has_csv else []), *([f"{settings.code}.jsonld.jsonl"] if has_ld else [])]

    def write(self, items: Iterator[Record | RecordGroup], settings: FeedSettings, sink: Sink) -> None:
        """Stream the models and products into the JSON Lines, CSV and JSON-LD files at once."""
        has_csv, has_ld = _files(settings)
        names = self.file_names(settings)
        # opened in the order of the names: the first file is the feed's main one
        writers: list[Any] = [_JsonLinesWriter(sink.open(names[0]))]
        table = _CsvWriter(sink.open(names[1]), settings) if has_csv else None
        if table is not None:
            writers.append(table)
        if has_ld:
            writers.append(_JsonLdWriter(sink.open(names[-1])))
        for item in items:
            for writer in writers:
                if isinstance(item, RecordGroup):
                    writer.add_group(item)
                else:
                    writer.add_product(item)
        if table is not None:
            table.finish()
