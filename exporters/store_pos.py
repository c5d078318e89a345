"""Store till (POS) item file: one line per article, as CSV or as fixed-width records.

The export profile maps catalogue attributes onto the fields `article`, `ean`, `description`,
`price`, `vat_rate`, `unit`, `weighed` and `department`; the options of the profile choose
the file's shape:

- `layout`: `csv` (default) or `fixed`.
- `columns`: a list of `{field, width, align, pad, header}`; `field` is one of the fields
  above or `action`, `width` is required in the fixed layout (in CSV it only limits the
  length), `align` is `left` or `right`, `pad` is " " or "0", `header` names the CSV column.
  Without it, every field is written in the order above, with widths fitting a till.
- `delimiter` (";"), `header` (true): the CSV layout's separator and header row (fixed-width
  records have no header).
- `encoding`: utf-8 for CSV, cp1251 for the fixed layout, or any other (cp866, ascii...);
  text the encoding cannot hold is made to fit (see `exporters.translit`), never refused.
- `line_ending`: `crlf` (default) or `lf`.
- `description_length` (40): the till's description limit; longer descriptions are cut at
  a word boundary (the only value the format shortens; any other value longer than its
  column is a problem for that record).
- `transliterate` (false): write Cyrillic in Latin letters, also done whenever the
  encoding has no Cyrillic letters.
- `price_in_minor_units` (false): prices as whole kopecks or cents ("129900") instead of
  "1299.00".
- `vat_rates`: the VAT rates the till knows, e.g. [20, 10, 0]; any other rate is a problem.
- `weighed_prefix` ("22"): the GS1 restricted-circulation prefix (20-29) of in-store codes.

The file is `<profile>.csv`, or `<profile>.txt` for fixed-width records. Text cells are one
line each: line breaks, tabs and control characters become single spaces, typographic quotes,
dashes and special spaces their ASCII forms. CSV cells are otherwise exact (a machine file);
a profile for people (`for_people: true`) gets cells a spreadsheet would run as formulas
prefixed with an apostrophe.

A weighed item without an EAN gets an in-store EAN-13: the prefix, its `plu` (the scale's item
code; the article when there is none) as a 5-digit item code, five zeros the scale fills with price or weight, and the check digit.

Deletions: a delta file always has an `action` column (the first one, unless the profile
places it), "D" for an item that left the assortment and "U" for one added or changed. A
deletion line carries the article (the record's key, our SKU, when the pipeline knows
nothing more, so map `article` from the SKU for deletions to reach the till) and empty
other columns. A full file has the column only when the profile lists it; it never holds
deletions.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from exporters.base import (
    CsvLine,
    FeedFormat,
    FeedSettings,
    FieldRule,
    Money,
    Problem,
    Record,
    RecordGroup,
    Sink,
    format_number,
    gtin_check_digit,
    gtin_problem,
    register,
    spreadsheet_safe,
    strip_control,
)
from exporters.translit import encoding_name, make_encodable, plain_punctuation

UNITS = ("piece", "kg", "l", "m")
WEIGHED_UNITS = frozenset(("kg", "l"))
FIELD_NAMES = ("article", "ean", "description", "price", "vat_rate", "unit", "weighed", "department")
COLUMN_NAMES = ("action", *FIELD_NAMES, "plu")
# Widths of the default fixed-width record; the description's is the `description_length` option.
_DEFAULT_WIDTHS = {"action": 1, "article": 13, "ean": 13, "price": 10, "vat_rate": 5, "unit": 5, "weighed": 1, "department": 10}
_RIGHT_ALIGNED = frozenset(("price", "vat_rate"))
# what tills take in an article number: Latin letters, digits and the separators SKUs use
_ARTICLE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._/-]*")
_SPACES = re.compile(r"\s+")
_LINE_ENDINGS = {"crlf": "\r\n", "lf": "\n"}


class OptionError(ValueError):
    """A profile option the format cannot use; `option` names it."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the till file: which field, and in the fixed layout its width and padding."""

    field: str
    width: int | None = None
    align: str = "left"
    pad: str = " "
    header: str = ""


@dataclass(frozen=True, slots=True)
class TillOptions:
    """The profile's options, checked once per run."""

    is_fixed: bool
    columns: tuple[Column, ...]
    delimiter: str
    has_header: bool
    encoding: str
    line_ending: str
    description_length: int
    is_latin_only: bool
    is_price_in_minor_units: bool
    vat_rates: frozenset[Decimal] | None
    weighed_prefix: str

    @property
    def has_action(self) -> bool:
        """Tell whether the file says per line whether an item is updated or deleted."""
        return any(column.field == "action" for column in self.columns)


def read_options(settings: FeedSettings | None) -> TillOptions:
    """Return the till file's options from the profile's; OptionError says which one is wrong and why."""
    options: Mapping[str, Any] = settings.options if settings is not None else {}
    layout = options.get("layout", "csv")
    if layout not in ("csv", "fixed"):
        raise OptionError("layout", f"layout must be csv or fixed, got {layout!r}")
    is_fixed = layout == "fixed"
    description_length = _positive_whole(options, "description_length", 40)
    encoding = _encoding(options.get("encoding", "cp1251" if is_fixed else "utf-8"), is_fixed)
    delimiter = options.get("delimiter", ";")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n' or not _fits(delimiter, encoding):
        raise OptionError("delimiter", f"delimiter must be one character other than a quote or line break, got {delimiter!r}")
    line_ending = options.get("line_ending", "crlf")
    if line_ending not in _LINE_ENDINGS:
        raise OptionError("line_ending", f"line_ending must be crlf or lf, got {line_ending!r}")
    columns = _columns(options.get("columns"), is_fixed, description_length)
    if settings is not None and settings.is_delta and not any(column.field == "action" for column in columns):
        columns = (Column("action", 1 if is_fixed else None, header="action"), *columns)
    return TillOptions(
        is_fixed=is_fixed,
        columns=columns,
        delimiter=delimiter,
        has_header=_flag(options, "header", True),
        encoding=encoding,
        line_ending=_LINE_ENDINGS[line_ending],
        description_length=description_length,
        is_latin_only=_flag(options, "transliterate", False),
        is_price_in_minor_units=_flag(options, "price_in_minor_units", False),
        vat_rates=_vat_rates(options.get("vat_rates")),
        weighed_prefix=_weighed_prefix(options.get("weighed_prefix", "22")),
    )


def _flag(options: Mapping[str, Any], name: str, default: bool) -> bool:
    value = options.get(name, default)
    if not isinstance(value, bool):
        raise OptionError(name, f"{name} must be true or false, got {value!r}")
    return value


def _positive_whole(options: Mapping[str, Any], name: str, default: int) -> int:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OptionError(name, f"{name} must be a whole number of characters from 1, got {value!r}")
    return value


def _encoding(value: Any, is_fixed: bool) -> str:
    try:
        name = encoding_name(str(value))
    except ValueError as error:
        raise OptionError("encoding", str(error)) from None
    # A fixed-width record counts characters; with one byte per character its columns line up in bytes too.
    if is_fixed and len("AЖ€\u2603".encode(name, errors="replace")) != 4:
        raise OptionError("encoding", f"the fixed layout needs a single-byte encoding such as cp1251, cp866 or ascii, not {value!r}")
    return name


def _weighed_prefix(value: Any) -> str:
    prefix = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not (len(prefix) == 2 and prefix.isdigit() and prefix.isascii() and 20 <= int(prefix) <= 29):
        raise OptionError(
            "weighed_prefix",
            f"weighed_prefix must be two digits from 20 to 29 (GS1 restricted circulation, for in-store codes), got {value!r}",
        )
    return prefix


def _vat_rates(value: Any) -> frozenset[Decimal] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not value:
        raise OptionError("vat_rates", f"vat_rates must be a list of percentages such as [20, 10, 0], got {value!r}")
    rates = set()
    for rate in value:
        number = _decimal(rate)
        if number is None or not 0 <= number <= 100:
            raise OptionError("vat_rates", f"vat_rates must hold percentages from 0 to 100, got {rate!r}")
        rates.add(number)
    return frozenset(rates)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _columns(value: Any, is_fixed: bool, description_length: int) -> tuple[Column, ...]:
    if value is None:
        return tuple(_default_column(name, is_fixed, description_length) for name in FIELD_NAMES)
    if not isinstance(value, list | tuple) or not value:
        raise OptionError("columns", "columns must be a list of {field, width, align, pad, header}")
    columns = tuple(_column(spec, is_fixed) for spec in value)
    names = [column.field for column in columns]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise OptionError("columns", f"columns lists {', '.join(twice)} more than once")
    return columns


def _default_column(name: str, is_fixed: bool, description_length: int) -> Column:
    width = (description_length if name == "description" else _DEFAULT_WIDTHS[name]) if is_fixed else None
    return Column(name, width, "right" if name in _RIGHT_ALIGNED else "left", " ", name)


def _column(spec: Any, is_fixed: bool) -> Column:
    if not isinstance(spec, Mapping):
        raise OptionError("columns", f"a column is a mapping such as {{field: article, width: 13}}, got {spec!r}")
    unknown = sorted(set(spec) - {"field", "width", "align", "pad", "header"})
    if unknown:
        raise OptionError("columns", f"a column takes field, width, align, pad and header, not {', '.join(map(str, unknown))}")
    name = spec.get("field")
    if name not in COLUMN_NAMES:
        raise OptionError("columns", f"column field must be one of {', '.join(COLUMN_NAMES)}, got {name!r}")
    width = spec.get("width")
    if width is None and is_fixed:
        raise OptionError("columns", f"column {name} needs a width in the fixed layout")
    if width is not None and (isinstance(width, bool) or not isinstance(width, int) or width < 1):
        raise OptionError("columns", f"column {name}'s width must be a whole number from 1, got {width!r}")
    align = spec.get("align", "right" if name in _RIGHT_ALIGNED else "left")
    if align not in ("left", "right"):
        raise OptionError("columns", f"column {name}'s align must be left or right, got {align!r}")
    pad = spec.get("pad", " ")
    if pad not in (" ", "0"):
        raise OptionError("columns", f'column {name}\'s pad must be " " or "0", got {pad!r}')
    header = spec.get("header", name)
    return Column(name, width, align, pad, str(header))


def _fits(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


# --- values ------------------------------------------------------------------------------


def in_store_ean(prefix: str, item_code: str) -> str:
    """Return the in-store EAN-13 of a weighed item: prefix, 5-digit item code, five zeros for the scale, check digit."""
    body = f"{prefix}{item_code.rjust(5, '0')}00000"
    return body + str(gtin_check_digit(body))


def _item_code(record: Record) -> tuple[str, str]:
    """Return the field and text that make a weighed item's in-store code: its PLU, else its article."""
    name = "plu" if record.get("plu") is not None else "article"
    return name, str(record.get(name, ""))


def _item_code_problem(record: Record) -> Problem | None:
    name, text = _item_code(record)
    if not (text.isdigit() and text.isascii() and len(text) <= 5):
        return Problem(
            name,
            f"{name} {text[:40]!r} of a weighed item without EAN must be at most 5 digits: it becomes the item code of the in-store EAN",
            "invalid",
        )
    return None


def till_text(value: Any, options: TillOptions) -> str:
    """Return a value as one line of text the till file's encoding holds."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable() and "  " not in text:
        # no space but " ", no control character, no lone surrogate: most texts need only a strip,
        # and in UTF-8 their typographic punctuation made plain
        text = text.strip()
        if options.encoding == "utf-8" and not options.is_latin_only:
            return plain_punctuation(text)
    else:
        text = _SPACES.sub(" ", strip_control(text)).strip()
    return make_encodable(text, options.encoding, is_latin_only=options.is_latin_only)


def cut_at_word(text: str, limit: int) -> str:
    """Return text of at most `limit` characters, cut after the last whole word that fits.

    Punctuation left dangling at the cut goes too; only a first word longer than the limit is cut inside.
    """
    if len(text) <= limit:
        return text
    space = text.rfind(" ", 0, limit + 1)
    cut = text[:space].rstrip(" ,;:-") if space > 0 else ""
    return cut or text[:limit]


def _price_text(money: Money, options: TillOptions) -> str:
    if options.is_price_in_minor_units:
        return f"{(money.amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP):f}"
    return money.text()


CellReader = Callable[[Record], str]


def _cell_readers(options: TillOptions) -> tuple[CellReader, ...]:
    """Return, per column, the function that gives its text for a record that is not a deletion; made once per run."""
    return tuple(_cell_reader(column, options) for column in options.columns)


def _cell_reader(column: Column, options: TillOptions) -> CellReader:
    name = column.field
    if name == "action":
        return lambda record: "U"
    if name == "description":
        limit = min(options.description_length, column.width or options.description_length)
        return lambda record: cut_at_word(till_text(record.get("description") or "", options), limit)
    if name == "ean":

        def ean(record: Record) -> str:
            value = record.get("ean")
            if value is None and record.get("weighed") is True:
                return in_store_ean(options.weighed_prefix, _item_code(record)[1])
            return "" if value is None else str(value).strip()

        return ean
    if name == "price":

        def price(record: Record) -> str:
            value = record.get("price")
            return _price_text(value, options) if isinstance(value, Money) else ""

        return price
    if name == "vat_rate":

        def vat_rate(record: Record) -> str:
            value = record.get("vat_rate")
            return format_number(value) if isinstance(value, int | Decimal) and not isinstance(value, bool) else ""

        return vat_rate
    if name == "unit":
        return lambda record: str(record.get("unit") or "piece")
    if name == "weighed":
        return lambda record: "1" if record.get("weighed") is True else "0"

    def text(record: Record) -> str:
        value = record.get(name)
        return "" if value is None else till_text(value, options)

    return text


def _deletion_cell(record: Record, column: Column, options: TillOptions) -> str:
    """Return one column's text for a deletion: the action, the article, nothing else."""
    if column.field == "action":
        return "D"
    return till_text(record.get("article", record.key), options) if column.field == "article" else ""


def _fixed_cell(text: str, column: Column) -> str:
    width = column.width or len(text)
    return text.rjust(width, column.pad) if column.align == "right" else text.ljust(width, column.pad)


def _overflow(column: Column, text: str) -> Problem | None:
    if column.width is None or len(text) <= column.width:
        return None
    return _too_long(column, text)


def _too_long(column: Column, text: str) -> Problem:
    return Problem(column.field, f"{column.field} {text[:60]!r} is {len(text)} characters long; the till's column takes {column.width}", "too_long")


# --- the format ----------------------------------------------------------------------------


@register
class StorePosFeed(FeedFormat):
    """Write a till's item file: CSV or fixed-width lines, full or only what changed."""

    code = "store_pos"
    label = "Store till item file (CSV or fixed width)"
    media_type = "text/csv"
    extension = "csv"
    supports_delta = True
    is_grouped = False
    renders_records = True
    fields = (
        FieldRule("article", required=True, description="The till's article number: Latin letters, digits and . _ / -; a fixed column's width limits it."),
        FieldRule("ean", description="GTIN-8, 12, 13 or 14; in-store codes (prefixes 20-29) are accepted."),
        FieldRule("description", required=True, description="The till text; cut at a word boundary to description_length."),
        FieldRule("price", required=True, kind="money", description="Per unit of sale (per kg or l for weighed goods), in the feed's currency."),
        FieldRule("vat_rate", required=True, kind="decimal", description="A percentage: 20, 10, 0."),
        FieldRule("unit", choices=frozenset(UNITS), description="Unit of sale: piece (when empty), kg, l or m."),
        FieldRule("weighed", kind="boolean", description="Sold by weight at the till's scale; needs unit kg or l."),
        FieldRule("department", description="The till's department or category code."),
        FieldRule("plu", description="The scale's item code (up to 5 digits) of a weighed item: its in-store EAN is made from it (else from the article)."),
    )

    def __init__(self) -> None:
        super().__init__()
        self._options_for: tuple[FeedSettings | None, TillOptions] | None = None
        self._line_writer: tuple[TillOptions, CsvLine] | None = None
        self._readers_for: tuple[TillOptions, tuple[CellReader, ...]] | None = None

    def _options(self, settings: FeedSettings | None) -> TillOptions:
        # check() runs once per record with the same settings: read the options once
        if self._options_for is None or self._options_for[0] is not settings:
            self._options_for = (settings, read_options(settings))
        return self._options_for[1]

    def check(self, record: Record, settings: FeedSettings | None = None) -> list[Problem]:
        """Return every rule of the till file the record breaks, including its profile's options."""
        try:
            options = self._options(settings)
        except OptionError as error:
            return [Problem(error.option, str(error), "invalid_option")]
        problems = super().check(record)
        article = record.get("article")
        if article is not None and not _ARTICLE.fullmatch(str(article)):
            problems.append(Problem("article", f"article {str(article)[:40]!r} may hold only Latin letters, digits and . _ / -", "invalid"))
        ean = record.get("ean")
        if ean is not None:
            reason = gtin_problem(str(ean).strip(), is_global=False)
            if reason is not None:
                problems.append(Problem("ean", f"ean {ean!s} {reason}", "invalid_gtin"))
        problems.extend(_price_problems(record, settings))
        problems.extend(_vat_problems(record, options))
        problems.extend(_weighed_problems(record))
        if problems or not options.is_fixed:
            return problems
        for column, reader in zip(options.columns, self._readers(options), strict=True):
            if column.field != "description":
                problem = _overflow(column, reader(record))
                if problem is not None:
                    problems.append(problem)
        return problems

    def _readers(self, options: TillOptions) -> tuple[CellReader, ...]:
        if self._readers_for is None or self._readers_for[0] is not options:
            self._readers_for = (options, _cell_readers(options))
        return self._readers_for[1]

    def file_name(self, settings: FeedSettings) -> str:
        """Return `<profile>.csv`, or `<profile>.txt` for fixed-width records."""
        return f"{settings.code}.{'txt' if self._options(settings).is_fixed else 'csv'}"

    def render(self, record: Record, settings: FeedSettings) -> str | Problem:
        """Return the record's line of the till file, or the Problem that keeps it out (a value the till cannot take is never cut silently)."""
        options = self._options(settings)
        cells = _cells(record, options, self._readers(options))
        if isinstance(cells, Problem):
            return cells
        if options.is_fixed:
            return "".join(_fixed_cell(cell, column) for cell, column in zip(cells, options.columns, strict=True)) + options.line_ending
        return self._csv_line([spreadsheet_safe(cell) for cell in cells] if settings.is_for_people else cells, options)

    def _csv_line(self, cells: list[str], options: TillOptions) -> str:
        if self._line_writer is None or self._line_writer[0] is not options:
            self._line_writer = (options, CsvLine(delimiter=options.delimiter, lineterminator=options.line_ending))
        return self._line_writer[1](cells)

    def write(self, items: Iterator[Record | RecordGroup], settings: FeedSettings, sink: Sink) -> None:
        """Stream the records as the till file the options describe; OptionError before anything is written."""
        options = read_options(settings)
        self._options_for = (settings, options)
        out = sink.open(self.file_name(settings))
        text = io.TextIOWrapper(out, encoding=options.encoding, newline="")
        try:
            if options.has_header and not options.is_fixed:
                text.write(self._csv_line([make_encodable(column.header, options.encoding) for column in options.columns], options))
            lines: list[str] = []
            for record in _records(items):
                if record.is_deleted and not options.has_action:
                    continue
                line = record.rendered if record.rendered is not None else self.render(record, settings)
                if isinstance(line, Problem):
                    self.rejected.append((record.key, line))
                    continue
                lines.append(line)
                if len(lines) >= 1024:
                    text.write("".join(lines))
                    lines = []
            text.write("".join(lines))
            text.flush()
        finally:
            # The sink's file stays open: the publisher closes and publishes it.
            text.detach()


def _cells(record: Record, options: TillOptions, readers: tuple[CellReader, ...]) -> list[str] | Problem:
    """Return the record's cells, or the Problem of a value the till cannot take."""
    if record.is_deleted:
        cells = [_deletion_cell(record, column, options) for column in options.columns]
    else:
        if record.get("weighed") is True and record.get("ean") is None:
            problem = _item_code_problem(record)
            if problem is not None:
                return problem
        cells = [reader(record) for reader in readers]
    for column, cell in zip(options.columns, cells, strict=True):
        if column.width is not None and len(cell) > column.width:
            return _too_long(column, cell)
    return cells


def _records(items: Iterator[Record | RecordGroup]) -> Iterator[Record]:
    for item in items:
        if isinstance(item, RecordGroup):
            yield from item.variants
        else:
            yield item


def _price_problems(record: Record, settings: FeedSettings | None) -> list[Problem]:
    price = record.get("price")
    if settings is not None and isinstance(price, Money) and price.currency != settings.currency:
        return [Problem("price", f"price is in {price.currency}; the till file is in {settings.currency}", "invalid")]
    return []


def _vat_problems(record: Record, options: TillOptions) -> list[Problem]:
    rate = record.get("vat_rate")
    if isinstance(rate, bool) or not isinstance(rate, int | Decimal):
        return []
    if not 0 <= rate <= 100:
        return [Problem("vat_rate", f"vat_rate must be a percentage from 0 to 100, got {format_number(rate)}", "invalid")]
    # a whole number and the Decimal of the same value hash alike: no conversion needed
    if options.vat_rates is not None and rate not in options.vat_rates:
        known = ", ".join(format_number(known) for known in sorted(options.vat_rates, reverse=True))
        return [Problem("vat_rate", f"vat_rate {format_number(rate)} is not one the till knows ({known})", "not_allowed")]
    return []


def _weighed_problems(record: Record) -> list[Problem]:
    if record.get("weighed") is not True:
        return []
    problems = []
    unit = record.get("unit", "piece")
    if unit not in WEIGHED_UNITS:
        problems.append(Problem("unit", f"a weighed item is sold by kg or l, not by {unit}", "invalid"))
    if record.get("ean") is None and (record.get("article") is not None or record.get("plu") is not None):
        problem = _item_code_problem(record)
        if problem is not None:
            problems.append(problem)
    return problems
