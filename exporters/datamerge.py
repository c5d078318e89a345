"""Data source for Adobe InDesign's Data Merge: one row per product, for designers laying out catalogues.

What InDesign reads (its Data Merge documentation): a comma- or tab-delimited text file whose
first line names the fields; records end at a line break, so no field may hold one; a field
holding a delimiter or a quotation mark is enclosed in quotation marks, with inner ones doubled;
a field whose name begins with "@" holds paths of image files, absolute and spelt as the
designer's operating system spells them (`C:\\Pictures\\boot.jpg` on Windows, volume paths
with colons such as `Macintosh HD:Pictures:boot.jpg` on a Mac). Text beyond ASCII is read
reliably as "Unicode" text: UTF-16 with a byte order mark, which is what Excel's "Unicode
Text" export writes and what InDesign's import takes as Unicode; UTF-8 with a BOM is offered
for newer set-ups that read it.

The file is UTF-16 LE with BOM and tab-delimited by default, so commas in product texts need
no quoting, and the file name ends in `.txt` as tab-delimited data sources do; options:

- `encoding`: `utf-16` (default) or `utf-8` (written with a BOM, which InDesign and Excel use
  to recognise it).
- `delimiter`: `tab` (default, `<profile>.txt`) or `comma` (`<profile>.csv`).
- `columns`: the field names in order; by default the profile's fields in the order it maps
  them, the SKU first (from the record's key when the profile does not map `sku`).
- `image_fields` (["image"]): fields holding image paths, written under "@" headers; a list
  of paths fills `@image`, `@image_2`... up to `images_per_row` (1) columns.
- `path_style`: `posix` (default: paths as received), `windows` (backslashes) or `mac`
  (Mac volume paths with colons; `/Volumes/Share/a.jpg` -> `Share:a.jpg`, other absolute
  paths on the `mac_volume` option, default "Macintosh HD").
- `path_map`: {server folder: designer's folder} replacing the start of each image path
  before `path_style` applies, e.g. {"/srv/pim/media": "Z:/media"}.
- `line_breaks`: `space` (default) or `forced` (see `cell_text`).
- `formula_safe` (true): cells a spreadsheet would run as formulas ("=", "+", "-", "@") get
  a leading apostrophe, as designers open this file in Excel; InDesign prints that
  apostrophe, so a profile whose file goes straight to InDesign may turn it off.

Values are written for people in the profile's locale: prices with `format_money`
("1 299,00 ₽"), measures with localised numbers and unit symbols ("0,75 кг"), characteristics
as "Name: value" joined with "; ", other lists joined with ", ", booleans as the locale's
Yes and No (English, German and Russian; English otherwise). Variants are not grouped.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain
from typing import Any

from babel.units import UnknownUnitError, format_unit

from exporters.base import (
    FeedFormat,
    FeedSettings,
    Measure,
    Money,
    Param,
    Problem,
    Record,
    RecordGroup,
    Sink,
    clean_text,
    register,
    spreadsheet_safe,
)
from exporters.localize import babel_locale, format_money, format_quantity

# InDesign keeps a forced line break (Shift+Return) as U+2028 LINE SEPARATOR in its own
# text, as IDML files show; a real line break would end the record.
FORCED_LINE_BREAK = "\u2028"
_BREAKS = re.compile(r"\r\n|[\r\n\u2028\u2029\x0b\x0c\x85]")
_BREAK_RUNS = re.compile(r"[ \t]*(?:\r\n|[\r\n\u2028\u2029\x0b\x0c\x85])[ \t\r\n\u2028\u2029\x0b\x0c\x85]*")
_ABSOLUTE = re.compile(r"/|[A-Za-z]:[\\/]|\\\\[^\\]")
_DELIMITERS = {"tab": "\t", "\t": "\t", "comma": ",", ",": ","}
_YES_NO = {"en": ("Yes", "No"), "de": ("Ja", "Nein"), "ru": ("Да", "Нет")}
# Our measurement unit codes (Akeneo's) and the CLDR units whose symbols Babel knows per locale.
_CLDR_UNITS = {
    "MILLIGRAM": "mass-milligram",
    "GRAM": "mass-gram",
    "KILOGRAM": "mass-kilogram",
    "TON": "mass-tonne",
    "OUNCE": "mass-ounce",
    "POUND": "mass-pound",
    "MILLILITER": "volume-milliliter",
    "CENTILITER": "volume-centiliter",
    "LITER": "volume-liter",
    "CUBIC_METER": "volume-cubic-meter",
    "FLUID_OUNCE": "volume-fluid-ounce",
    "GALLON": "volume-gallon",
    "MILLIMETER": "length-millimeter",
    "CENTIMETER": "length-centimeter",
    "METER": "length-meter",
    "KILOMETER": "length-kilometer",
    "INCH": "length-inch",
    "FOOT": "length-foot",
    "YARD": "length-yard",
    "SQUARE_METER": "area-square-meter",
    "SQUARE_CENTIMETER": "area-square-centimeter",
    "WATT": "power-watt",
    "KILOWATT": "power-kilowatt",
    "VOLT": "electric-volt",
    "MILLIAMPERE_HOUR": "electric-milliampere-hour",
}


@dataclass(frozen=True, slots=True)
class MergeOptions:
    """The profile's options, checked once per run."""

    encoding: str
    delimiter: str
    columns: tuple[str, ...] | None
    image_fields: frozenset[str]
    images_per_row: int
    path_style: str
    path_map: tuple[tuple[str, str], ...]
    mac_volume: str
    is_forced_break: bool
    is_formula_safe: bool


def read_options(settings: FeedSettings) -> MergeOptions:
    """Return the data merge options from the profile's; ValueError says which one is wrong."""
    options = settings.options
    encoding = str(options.get("encoding", "utf-16")).lower().replace("_", "-")
    if encoding not in ("utf-16", "utf-8"):
        raise ValueError(f"encoding must be utf-16 or utf-8 (the Unicode text InDesign reads), got {options.get('encoding')!r}")
    delimiter = options.get("delimiter", "tab")
    if delimiter not in _DELIMITERS:
        raise ValueError(f"delimiter must be tab or comma, got {delimiter!r}")
    columns = options.get("columns")
    if columns is not None and (not isinstance(columns, list | tuple) or not columns or not all(isinstance(name, str) and name for name in columns)):
        raise ValueError(f"columns must be a list of field names, got {columns!r}")
    image_fields = options.get("image_fields", ["image"])
    if not isinstance(image_fields, list | tuple) or not all(isinstance(name, str) and name for name in image_fields):
        raise ValueError(f"image_fields must be a list of field names, got {image_fields!r}")
    images_per_row = options.get("images_per_row", 1)
    if isinstance(images_per_row, bool) or not isinstance(images_per_row, int) or not 1 <= images_per_row <= 50:
        raise ValueError(f"images_per_row must be a whole number from 1 to 50, got {images_per_row!r}")
    path_style = options.get("path_style", "posix")
    if path_style not in ("posix", "windows", "mac"):
        raise ValueError(f"path_style must be posix, windows or mac, got {path_style!r}")
    path_map = options.get("path_map") or {}
    if not isinstance(path_map, Mapping) or not all(isinstance(key, str) and key and isinstance(value, str) for key, value in path_map.items()):
        raise ValueError("path_map must map server folders to the designers' folders, e.g. {/srv/pim/media: 'Z:/media'}")
    line_breaks = options.get("line_breaks", "space")
    if line_breaks not in ("space", "forced"):
        raise ValueError(f"line_breaks must be space or forced, got {line_breaks!r}")
    formula_safe = options.get("formula_safe", True)
    if not isinstance(formula_safe, bool):
        raise ValueError(f"formula_safe must be true or false, got {formula_safe!r}")
    return MergeOptions(
        encoding=encoding,
        delimiter=_DELIMITERS[delimiter],
        columns=tuple(columns) if columns is not None else None,
        image_fields=frozenset(image_fields),
        images_per_row=images_per_row,
        path_style=path_style,
        # longest folder first, so /srv/media/print wins over /srv/media
        path_map=tuple(sorted(((str(k), str(v)) for k, v in path_map.items()), key=lambda item: -len(item[0]))),
        mac_volume=str(options.get("mac_volume") or "Macintosh HD"),
        is_forced_break=line_breaks == "forced",
        is_formula_safe=formula_safe,
    )


# --- values ------------------------------------------------------------------------------


def value_text(value: Any, locale: str) -> str:
    """Return a value as people of the locale read it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        yes, no = _YES_NO.get(locale.split("_")[0].lower(), _YES_NO["en"])
        return yes if value else no
    if isinstance(value, Money):
        return format_money(value, locale)
    if isinstance(value, Measure):
        return measure_text(value, locale)
    if isinstance(value, Param):
        return param_text(value, locale)
    if isinstance(value, list | tuple):
        separator = "; " if any(isinstance(item, Param) for item in value) else ", "
        return separator.join(text for text in (value_text(item, locale) for item in value) if text)
    # whole numbers are often codes (an article, a year): no digit grouping for them
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format_quantity(value, locale)
    return str(value)


def measure_text(measure: Measure, locale: str) -> str:
    """Return an amount with the locale's number format and unit symbol: "0,75 кг"."""
    unit = _CLDR_UNITS.get(measure.unit.upper())
    if unit is not None:
        try:
            # given the number itself (not its text), Babel picks the symbol's plural form and formats the number as format_quantity does
            return str(format_unit(measure.amount, unit, length="short", locale=babel_locale(locale)))
        except UnknownUnitError:
            pass
    return f"{format_quantity(measure.amount, locale)} {measure.unit}"


def param_text(param: Param, locale: str) -> str:
    """Return a characteristic as "Name: value unit"."""
    text = value_text(param.value, locale)
    return f"{param.name}: {text} {param.unit}" if param.unit else f"{param.name}: {text}"


def cell_text(text: str, options: MergeOptions) -> str:
    """Return a text cell InDesign reads as one field.

    A line break inside a field would end InDesign's record, so breaks become one space by
    default (a run of them, a paragraph gap, too), which reflows cleanly in any text frame;
    with `line_breaks: forced` each break becomes InDesign's forced line break (U+2028),
    keeping the lines of an address or a list as the catalogue wrote them. Tabs become
    spaces, as a tab would start a new field of a tab-delimited file.
    """
    text = clean_text(text)
    if options.is_forced_break:
        text = _BREAKS.sub(FORCED_LINE_BREAK, text)
    else:
        text = _BREAK_RUNS.sub(" ", text)
    return text.replace("\t", " ")


def image_path(path: str, options: MergeOptions) -> str:
    """Return an image path as the designers' system spells it, after `path_map`."""
    for server, designer in options.path_map:
        if path == server or path.startswith(server.rstrip("/") + "/"):
            path = designer.rstrip("/\\") + path[len(server.rstrip("/")) :]
            break
    if options.path_style == "windows":
        return path.replace("/", "\\")
    if options.path_style == "mac" and path.startswith("/"):
        # a colon inside a name is written as a slash in Mac volume paths, and the other way round
        parts = [part.replace(":", "/") for part in path.split("/")[1:]]
        if parts[:1] == ["Volumes"] and len(parts) > 1:
            return ":".join(parts[1:])
        return ":".join([options.mac_volume, *parts])
    return path


def _paths(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list | tuple) else [value]
    return [str(item) for item in items if item is not None and str(item) != ""]


# --- the format ----------------------------------------------------------------------------


@register
class InDesignDataMerge(FeedFormat):
    """Write a data-merge source for InDesign: header of field names, "@" for images, one row per product."""

    code = "indesign_merge"
    label = "Adobe InDesign data merge (Unicode text)"
    media_type = "text/plain"
    extension = "txt"
    accepts_any_field = True
    is_grouped = False

    def __init__(self) -> None:
        super().__init__()
        self._options_for: tuple[FeedSettings, MergeOptions] | None = None

    def check(self, record: Record, settings: FeedSettings | None = None) -> list[Problem]:
        """Return a problem for each image field that does not hold absolute file paths, which InDesign needs."""
        if settings is None:
            return []
        try:
            # check() runs once per record with the same settings: read the options once
            if self._options_for is None or self._options_for[0] is not settings:
                self._options_for = (settings, read_options(settings))
            options = self._options_for[1]
        except ValueError as error:
            return [Problem("options", str(error), "invalid_option")]
        problems = []
        for name in sorted(options.image_fields):
            for path in _paths(record.get(name)):
                if not _ABSOLUTE.match(path):
                    problems.append(
                        Problem(
                            name,
                            f"{name} must hold absolute paths of image files that InDesign can open (map it with local: true), got {path[:80]!r}",
                            "invalid",
                        )
                    )
                    break
        return problems

    def file_name(self, settings: FeedSettings) -> str:
        """Return `<profile>.txt` for a tab-delimited file, `<profile>.csv` for a comma-delimited one."""
        is_comma = _DELIMITERS.get(settings.options.get("delimiter", "tab")) == ","
        return f"{settings.code}.{'csv' if is_comma else 'txt'}"

    def write(self, items: Iterator[Record | RecordGroup], settings: FeedSettings, sink: Sink) -> None:
        """Stream one row per product under a header of the profile's fields; ValueError for a wrong option."""
        options = read_options(settings)
        records = (record for record in _records(items) if not record.is_deleted)
        first = next(records, None)
        names = _column_names(options, settings, first)
        out = sink.open(self.file_name(settings))
        # Python's "utf-16" writes a BOM and then little-endian units on every platform we run on;
        # spelling it out keeps the bytes the same everywhere.
        out.write(b"\xff\xfe" if options.encoding == "utf-16" else b"\xef\xbb\xbf")
        text = io.TextIOWrapper(out, encoding="utf-16-le" if options.encoding == "utf-16" else "utf-8", newline="")
        try:
            writer = csv.writer(text, delimiter=options.delimiter, lineterminator="\r\n")
            writer.writerow(_header(names, options))
            for record in chain([first] if first is not None else [], records):
                writer.writerow(_row(record, names, options, settings.locale))
            text.flush()
        finally:
            # The sink's file stays open: the publisher closes and publishes it.
            text.detach()


def _records(items: Iterable[Record | RecordGroup]) -> Iterator[Record]:
    for item in items:
        if isinstance(item, RecordGroup):
            yield from item.variants
        else:
            yield item


def _column_names(options: MergeOptions, settings: FeedSettings, first: Record | None) -> list[str]:
    """Return the columns: the option's, else the profile's fields (the SKU first), else the first record's."""
    if options.columns is not None:
        return list(options.columns)
    mapped = settings.options.get("csv_columns")
    if mapped:
        # the pipeline lists `sku` and `group` first; variants are not grouped here, so `group` goes
        return [str(name) for name in mapped if name != "group"]
    return ["sku", *(name for name in (first.fields if first is not None else {}) if name != "sku")]


def _header(names: list[str], options: MergeOptions) -> list[str]:
    header = []
    for name in names:
        if name in options.image_fields:
            header.append(f"@{name}")
            header.extend(f"@{name}_{number}" for number in range(2, options.images_per_row + 1))
        else:
            header.append(cell_text(name, options))
    return header


def _row(record: Record, names: list[str], options: MergeOptions, locale: str) -> list[str]:
    row: list[str] = []
    for name in names:
        if name in options.image_fields:
            paths = [image_path(cell_text(path, options), options) for path in _paths(record.get(name))][: options.images_per_row]
            row.extend(paths + [""] * (options.images_per_row - len(paths)))
            continue
        value = record.get(name)
        if value is None and name == "sku":
            value = record.key
        cell = cell_text(value_text(value, locale), options)
        row.append(spreadsheet_safe(cell) if options.is_formula_safe else cell)
    return row
