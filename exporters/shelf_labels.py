"""Shelf labels: a PDF of price labels on label sheets or a label printer's roll, each with a scannable EAN-13.

A label shows the name, the price, the former price struck through, the unit price a shopper
compares (per kg, l, m, m², or per 100 g / 100 ml), the SKU and the barcode. In a delta run only
the labels whose content changed arrive; a removed product needs no label and is passed over.

Unit prices are worked out from `net_weight`, `net_volume`, `net_length` or `net_area` (the
first one present). The profile converts them to KILOGRAM, LITER, METER and SQUARE_METER; the
metric units of the same quantity (GRAM, MILLIGRAM, TON; MILLILITER, CENTILITER, DECILITER,
CUBIC_CENTIMETER, CUBIC_DECIMETER, CUBIC_METER; MILLIMETER, CENTIMETER, DECIMETER, KILOMETER;
SQUARE_MILLIMETER, SQUARE_CENTIMETER, SQUARE_DECIMETER) are converted here, any other unit is a
problem of the record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from exporters.base import FeedFormat, FeedSettings, FieldRule, Measure, Money, Problem, Record, RecordGroup, Sink, gtin_problem, register
from exporters.localize import format_money
from exporters.pdf import (
    MIN_MAGNIFICATION,
    NOMINAL_BAR_HEIGHT,
    NOMINAL_MODULE,
    QUIET_LEFT,
    QUIET_RIGHT,
    SYMBOL_MODULES,
    Fonts,
    as_ean13,
    draw_ean13,
    draw_struck,
    ean13_height,
    fit_lines,
    fit_text,
    language,
    load_fonts,
    missing_glyph_problem,
    page_size,
    price_problems,
    printable,
    text_width,
)

logger = logging.getLogger(__name__)

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "a4_3x7": {"label": {"width_mm": 70, "height_mm": 42.3}, "sheet": {"page": "A4", "columns": 3, "rows": 7}},
    "a4_3x8": {"label": {"width_mm": 70, "height_mm": 37}, "sheet": {"page": "A4", "columns": 3, "rows": 8}},
    "roll": {"label": {"width_mm": 58, "height_mm": 40}, "sheet": {"page": "label", "columns": 1, "rows": 1}},
}
DEFAULT_PRESET = "a4_3x7"

# a label's inner layout, in points
_PAD = 2 * mm
_BRAND_BAND = 8.0
_NAME_SIZE, _NAME_MIN, _NAME_LEADING = 9.5, 6.5, 10.5
_NAME_BAND = 2 * _NAME_LEADING
_PRICE_SIZE, _PRICE_MIN = 22.0, 5.0
_OLD_PRICE_SIZE = 10.0
_PRICE_BAND = 22.0
_DETAIL_LINE = 8.5
# below this width the unit price and the SKU take a line each
_NARROW = 45 * mm
_GAP = 1.5
MIN_BAR_HEIGHT = 5 * mm

_CENT = Decimal("0.01")
_WEIGHT = {"KILOGRAM": Decimal(1), "GRAM": Decimal("0.001"), "MILLIGRAM": Decimal("0.000001"), "TON": Decimal(1000)}
_VOLUME = {
    "LITER": Decimal(1),
    "DECILITER": Decimal("0.1"),
    "CENTILITER": Decimal("0.01"),
    "MILLILITER": Decimal("0.001"),
    "CUBIC_CENTIMETER": Decimal("0.001"),
    "CUBIC_DECIMETER": Decimal(1),
    "CUBIC_METER": Decimal(1000),
}
_LENGTH = {"METER": Decimal(1), "DECIMETER": Decimal("0.1"), "CENTIMETER": Decimal("0.01"), "MILLIMETER": Decimal("0.001"), "KILOMETER": Decimal(1000)}
_AREA = {"SQUARE_METER": Decimal(1), "SQUARE_DECIMETER": Decimal("0.01"), "SQUARE_CENTIMETER": Decimal("0.0001"), "SQUARE_MILLIMETER": Decimal("0.000001")}
# (field, units it converts from, base unit, the label's unit word)
_QUANTITIES = (
    ("net_weight", _WEIGHT, "KILOGRAM", "kg"),
    ("net_volume", _VOLUME, "LITER", "l"),
    ("net_length", _LENGTH, "METER", "m"),
    ("net_area", _AREA, "SQUARE_METER", "m2"),
)
SALES_UNITS = frozenset({"piece", "kg", "l", "m", "m2"})

_UNIT_WORDS = {
    "ru": {"kg": "кг", "l": "л", "m": "м", "m2": "м²", "100g": "100 г", "100ml": "100 мл"},
    "en": {"kg": "kg", "l": "l", "m": "m", "m2": "m²", "100g": "100 g", "100ml": "100 ml"},
}
_WORDS = {
    "en": {"sku": "SKU", "empty": "No labels to print."},
    "ru": {"sku": "Арт.", "empty": "Нет этикеток для печати."},
    "de": {"sku": "Art.-Nr.", "empty": "Keine Etiketten zu drucken."},
}


def unit_words(locale: str) -> dict[str, str]:
    """Return the unit words of a label's locale: кг, л, м, м², 100 г, 100 мл in Russian; kg, l... otherwise."""
    return _UNIT_WORDS.get(language(locale), _UNIT_WORDS["en"])


def _words(locale: str) -> dict[str, str]:
    return _WORDS.get(language(locale), _WORDS["en"])


# --- unit price ----------------------------------------------------------------------------


def _net_quantity(record: Record) -> tuple[str, Decimal, str] | Problem | None:
    """Return (field, amount in the base unit, unit word) of the first net quantity, a Problem, or None."""
    for name, units, base, word in _QUANTITIES:
        measure = record.get(name)
        if measure is None:
            continue
        if not isinstance(measure, Measure):
            return Problem(name, f"{name} must be an amount with a unit", "invalid")
        factor = units.get(str(measure.unit).upper())
        if factor is None:
            return Problem(
                name, f"{name} is in {measure.unit}; the unit price takes {base} or {', '.join(unit for unit in units if unit != base)}", "invalid_unit"
            )
        amount = Decimal(measure.amount) * factor
        if amount <= 0:
            return Problem(name, f"{name} must be more than zero for the unit price, got {measure}", "invalid")
        return name, amount, word
    return None


def unit_price_choice(options: Mapping[str, Any]) -> dict[str, str]:
    """Return the units weight and volume prices are shown per: {"weight": "kg" | "100g", "volume": "l" | "100ml"}."""
    chosen = options.get("unit_price") or {}
    if not isinstance(chosen, Mapping):
        raise ValueError(f"Label option unit_price must be a mapping like {{weight: kg, volume: l}}, got {chosen!r}")
    unknown = set(chosen) - {"weight", "volume", "required"}
    if unknown:
        raise ValueError(f"Label option unit_price takes weight, volume and required, not {', '.join(sorted(map(str, unknown)))}")
    weight, volume = str(chosen.get("weight", "kg")), str(chosen.get("volume", "l"))
    if weight not in ("kg", "100g"):
        raise ValueError(f"Label option unit_price.weight must be kg or 100g, got {weight!r}")
    if volume not in ("l", "100ml"):
        raise ValueError(f"Label option unit_price.volume must be l or 100ml, got {volume!r}")
    return {"weight": weight, "volume": volume}


def _is_unit_price_required(options: Mapping[str, Any]) -> bool:
    chosen = options.get("unit_price")
    return isinstance(chosen, Mapping) and chosen.get("required") is True


def unit_price(record: Record, choice: Mapping[str, str]) -> tuple[Money, str] | None:
    """Return the price per unit and its unit key (kg, 100g, l, 100ml, m, m2), or None when the label shows none."""
    price = record.get("price")
    if not isinstance(price, Money) or str(record.get("unit", "piece")) in SALES_UNITS - {"piece"}:
        return None
    quantity = _net_quantity(record)
    if quantity is None or isinstance(quantity, Problem):
        return None
    _, amount, word = quantity
    if word == "kg" and choice.get("weight") == "100g":
        amount, word = amount * 10, "100g"
    elif word == "l" and choice.get("volume") == "100ml":
        amount, word = amount * 10, "100ml"
    per_unit = (price.amount / amount).quantize(_CENT, rounding=ROUND_HALF_UP)
    return Money(per_unit, price.currency), word


def unit_price_text(record: Record, locale: str, choice: Mapping[str, str]) -> str:
    """Return the unit price as the label prints it: "398,67 ₽ / кг", or "" when there is none."""
    found = unit_price(record, choice)
    if found is None:
        return ""
    money, word = found
    return f"{format_money(money, locale)} / {unit_words(locale)[word]}"


# --- sheets --------------------------------------------------------------------------------


def _number(values: Mapping[str, Any], name: str, low: float, high: float, default: float | None = None) -> float:
    value = values.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or not low <= float(value) <= high:
        raise ValueError(f"Label option {name} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _whole(values: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = values.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"Label option {name} must be a whole number from {low} to {high}, got {value!r}")
    return value


@dataclass(frozen=True)
class Sheet:
    """Where labels go on a page, in points: label size, page size, grid, margins and gaps."""

    label_width: float
    label_height: float
    page: tuple[float, float]
    columns: int
    rows: int
    margin_left: float
    margin_top: float
    gap_x: float
    gap_y: float
    has_border: bool = False

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Sheet:
        """Read a preset (a4_3x7, a4_3x8, roll) and the `label` and `sheet` options that change it; ValueError says what is wrong."""
        name = str(options.get("preset") or DEFAULT_PRESET)
        if name not in PRESETS:
            raise ValueError(f"Unknown label preset {name!r}; use one of {', '.join(sorted(PRESETS))}")
        for key in ("label", "sheet"):
            if options.get(key) is not None and not isinstance(options.get(key), Mapping):
                raise ValueError(f"Label option {key} must be a mapping, got {options.get(key)!r}")
        label = {**PRESETS[name]["label"], **(options.get("label") or {})}
        sheet = {**PRESETS[name]["sheet"], **(options.get("sheet") or {})}
        width, height = _number(label, "width_mm", 20, 300) * mm, _number(label, "height_mm", 15, 300) * mm
        columns, rows = _whole(sheet, "columns", 1, 20), _whole(sheet, "rows", 1, 40)
        gap_x, gap_y = _number(sheet, "gap_x_mm", 0, 100, 0) * mm, _number(sheet, "gap_y_mm", 0, 100, 0) * mm
        grid = (columns * width + (columns - 1) * gap_x, rows * height + (rows - 1) * gap_y)
        page_name = str(sheet.get("page") or "A4")
        margin_left = _number(sheet, "margin_left_mm", 0, 300) * mm if sheet.get("margin_left_mm") is not None else None
        margin_top = _number(sheet, "margin_top_mm", 0, 300) * mm if sheet.get("margin_top_mm") is not None else None
        if page_name.lower() == "label":
            # a label printer's page is the labels themselves, with the margins on both sides
            page = (grid[0] + 2 * (margin_left or 0), grid[1] + 2 * (margin_top or 0))
        else:
            page = page_size(page_name)
        # without margins the grid is centred on the page
        left = (page[0] - grid[0]) / 2 if margin_left is None else margin_left
        top = (page[1] - grid[1]) / 2 if margin_top is None else margin_top
        tolerance = 0.01 * mm
        if left < -tolerance or top < -tolerance or left + grid[0] > page[0] + tolerance or top + grid[1] > page[1] + tolerance:
            raise ValueError(
                f"{columns} x {rows} labels of {width / mm:g} x {height / mm:g} mm do not fit on {page_name} "
                f"({page[0] / mm:.0f} x {page[1] / mm:.0f} mm) with these margins and gaps"
            )
        return cls(width, height, page, columns, rows, max(left, 0), max(top, 0), gap_x, gap_y, bool(options.get("border", False)))

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def position(self, index: int) -> tuple[float, float]:
        """Return the lower left corner of the label at `index` on its page (row by row, from the top)."""
        row, column = divmod(index, self.columns)
        x = self.margin_left + column * (self.label_width + self.gap_x)
        top = self.page[1] - self.margin_top - row * (self.label_height + self.gap_y)
        return x, top - self.label_height


def _detail_lines(width: float) -> int:
    return 1 if width >= _NARROW else 2


def _text_bands(width: float) -> float:
    """Return the height the texts of a label of this width take, paddings included."""
    return 2 * _PAD + _BRAND_BAND + _NAME_BAND + _PRICE_BAND + _detail_lines(width) * _DETAIL_LINE + 2 * _GAP


@dataclass(frozen=True)
class LabelLayout:
    """The fixed layout of one label size: bands from the top and the barcode's module and bar height."""

    width: float
    height: float
    module: float
    bar_height: float

    @classmethod
    def for_label(cls, width: float, height: float) -> LabelLayout:
        """Work out the largest barcode up to nominal size that the label holds (module 0 when none fits)."""
        module = min(NOMINAL_MODULE, (width - _PAD) / (QUIET_LEFT + SYMBOL_MODULES + QUIET_RIGHT))
        if module < NOMINAL_MODULE * MIN_MAGNIFICATION - 1e-9:
            return cls(width, height, 0.0, 0.0)
        free = height - _text_bands(width)
        bar_height = min(free - ean13_height(module, 0), NOMINAL_BAR_HEIGHT * module / NOMINAL_MODULE)
        if bar_height < MIN_BAR_HEIGHT:
            return cls(width, height, 0.0, 0.0)
        return cls(width, height, module, bar_height)

    @property
    def has_barcode(self) -> bool:
        return self.module > 0

    def barcode_problem(self) -> str | None:
        """Return why this label cannot hold an EAN-13 barcode, naming the size it needs, or None."""
        if self.has_barcode:
            return None
        symbol = (QUIET_LEFT + SYMBOL_MODULES + QUIET_RIGHT) * NOMINAL_MODULE * MIN_MAGNIFICATION
        min_width = (symbol + _PAD) / mm
        min_height = (_text_bands(symbol + _PAD) + MIN_BAR_HEIGHT + ean13_height(NOMINAL_MODULE * MIN_MAGNIFICATION, 0)) / mm
        return (
            f"a label of {self.width / mm:g} x {self.height / mm:g} mm cannot hold an EAN-13 barcode even at 80 % magnification; "
            f"it needs a label at least {min_width:.1f} mm wide and {min_height:.1f} mm high"
        )


# --- the format ----------------------------------------------------------------------------


def _ean_problems(record: Record) -> list[Problem]:
    value = record.get("ean")
    if value is None:
        return []
    text = str(value).strip()
    reason = gtin_problem(text, is_global=False)
    if reason is not None:
        return [Problem("ean", f"ean {text} {reason}", "invalid_gtin")]
    if as_ean13(text) is None:
        kind = "an EAN-8" if len(text) == 8 else "a GTIN-14 with packaging indicator " + text[0]
        return [Problem("ean", f"ean {text} is {kind}, which only another barcode can carry; shelf labels print EAN-13", "barcode_unsupported")]
    return []


@register
class ShelfLabels(FeedFormat):
    """Write shelf labels: name, price, former price, unit price, SKU and EAN-13, on sheets or a roll."""

    code = "shelf_labels"
    label = "Shelf labels (PDF)"
    media_type = "application/pdf"
    extension = "pdf"
    supports_delta = True
    is_grouped = False
    prints_on_demand = True
    fields = (
        FieldRule("name", required=True, description="Fitted into two lines."),
        FieldRule("price", required=True, kind="money"),
        FieldRule("old_price", kind="money", description="Struck through beside the price when higher than it."),
        FieldRule("ean", description="GTIN; in-store 20-29 prefixes allowed. 12- and 14-digit codes with indicator 0 print as EAN-13."),
        FieldRule("brand"),
        FieldRule("net_weight", kind="measure", description="For the unit price; KILOGRAM."),
        FieldRule("net_volume", kind="measure", description="For the unit price; LITER."),
        FieldRule("net_length", kind="measure", description="For the unit price; METER."),
        FieldRule("net_area", kind="measure", description="For the unit price; SQUARE_METER."),
        FieldRule("unit", choices=SALES_UNITS, description="What the price is for: piece (default), or kg, l, m, m2 for goods sold loose."),
    )

    def check(self, record: Record, settings: FeedSettings | None = None) -> list[Problem]:
        """Return every rule the record breaks; with settings, also whether the label holds its barcode."""
        problems = super().check(record)
        problems.extend(price_problems(record))
        quantity = _net_quantity(record)
        if isinstance(quantity, Problem) and all(problem.field != quantity.field for problem in problems):
            problems.append(quantity)
        if quantity is None and settings is not None and _is_unit_price_required(settings.options or {}) and str(record.get("unit", "piece")) == "piece":
            problems.append(
                Problem("net_weight", "the label must show a unit price, and the product has no net weight, volume, length or area", "unit_price_missing")
            )
        # a wrong or unprintable EAN does not stop the label: it is printed without a barcode and noted
        if settings is not None and record.get("ean") is not None and not _ean_problems(record):
            reason = self._layout(settings).barcode_problem()
            if reason is not None:
                problems.append(Problem("ean", reason, "label_too_small"))
        return problems

    def _layout(self, settings: FeedSettings) -> LabelLayout:
        """Return the label layout of the feed's options, worked out once per feed."""
        cached = getattr(self, "_cached_layout", None)
        if cached is None or cached[0] is not settings.options:
            sheet = Sheet.from_options(settings.options or {})
            cached = (settings.options, LabelLayout.for_label(sheet.label_width, sheet.label_height))
            self._cached_layout = cached
        return cached[1]

    def write(self, items: Iterator[Record | RecordGroup], settings: FeedSettings, sink: Sink) -> None:
        """Draw a label per record, page after page, straight from the stream; removed products get none."""
        options = settings.options or {}
        sheet = Sheet.from_options(options)
        choice = unit_price_choice(options)
        fonts = load_fonts(options)
        layout = LabelLayout.for_label(sheet.label_width, sheet.label_height)
        canvas = Canvas(sink.open(self.file_name(settings)), pagesize=sheet.page, pageCompression=1)
        canvas.setTitle(settings.title or settings.code)
        canvas.setCreator("PIM shelf labels")
        drawer = _LabelDrawer(canvas, fonts, layout, settings.locale, choice)
        count = 0
        for record in items:
            if not isinstance(record, Record) or record.is_deleted or not isinstance(record.get("price"), Money):
                continue
            index = count % sheet.per_page
            if count and index == 0:
                canvas.showPage()
            x, y = sheet.position(index)
            notices = self._notices(record, fonts)
            self.warnings.extend((record.key, problem) for problem in notices)
            ean_is_bad = any(problem.field == "ean" for problem in notices)
            if not drawer.draw(record, x, y, has_border=sheet.has_border, ean_is_bad=ean_is_bad) and record.get("ean") is not None and not ean_is_bad:
                self.warnings.append((record.key, Problem("ean", "the barcode could not be drawn; the label is printed without it", "barcode_not_drawn")))
            count += 1
        if count == 0:
            _empty_page(canvas, fonts, sheet, _words(settings.locale)["empty"])
        canvas.save()

    def notices(self, record: Record, settings: FeedSettings) -> list[Problem]:
        """Return what the label will lack: its barcode for a bad EAN, characters the fonts cannot draw."""
        return self._notices(record, load_fonts(settings.options or {}))

    @staticmethod
    def _notices(record: Record, fonts: Fonts) -> list[Problem]:
        notices = [Problem(p.field, f"{p.message}; the label is printed without a barcode", p.code) for p in _ean_problems(record)]
        glyphs = missing_glyph_problem([str(record.get("name", ""))], fonts.bold) or missing_glyph_problem(
            [str(record.get("brand", ""))], fonts.regular, "brand"
        )
        if glyphs is not None:
            notices.append(glyphs)
        return notices


def _empty_page(canvas: Canvas, fonts: Fonts, sheet: Sheet, message: str) -> None:
    """Say on the only page that there is no label to print, so the file is still a valid document."""
    width, height = sheet.page
    text, size = fit_text(message, fonts.regular, 14, width - 2 * _PAD, min_size=6)
    canvas.setFont(fonts.regular, size)
    canvas.drawCentredString(width / 2, height / 2, text)


class _LabelDrawer:
    """Draw one label at a time with the layout every label of the run shares."""

    def __init__(self, canvas: Canvas, fonts: Fonts, layout: LabelLayout, locale: str, choice: Mapping[str, str]) -> None:
        self.canvas = canvas
        self.fonts = fonts
        self.layout = layout
        self.locale = locale
        self.choice = choice
        self.words = _words(locale)
        self.units = unit_words(locale)

    def draw(self, record: Record, x: float, y: float, *, has_border: bool = False, ean_is_bad: bool = False) -> bool:
        """Draw a record's label with its lower left corner at (x, y); return whether it has its barcode.

        A bad EAN (`ean_is_bad`, found by the caller) gets no barcode.
        """
        canvas, fonts, layout = self.canvas, self.fonts, self.layout
        width, height = layout.width, layout.height
        inner = width - 2 * _PAD
        if has_border:
            canvas.saveState()
            canvas.setStrokeColorRGB(0.75, 0.75, 0.75)
            canvas.setLineWidth(0.3)
            canvas.rect(x, y, width, height, stroke=1, fill=0)
            canvas.restoreState()
        top = y + height - _PAD
        brand = record.get("brand")
        if brand:
            text, size = fit_text(str(brand), fonts.regular, 6.5, inner, min_size=5)
            canvas.setFillColorRGB(0.4, 0.4, 0.4)
            canvas.setFont(fonts.regular, size)
            canvas.drawString(x + _PAD, top - 6.5, text)
        top -= _BRAND_BAND
        lines, size = fit_lines(str(record.get("name", record.key)), fonts.bold, _NAME_SIZE, inner, 2, min_size=_NAME_MIN)
        canvas.setFillColorRGB(0, 0, 0)
        canvas.setFont(fonts.bold, size)
        for number, line in enumerate(lines):
            canvas.drawString(x + _PAD, top - size - number * _NAME_LEADING, line)
        top -= _NAME_BAND + _GAP
        self._price(record, x + _PAD, top - _PRICE_BAND + 4, inner)
        top -= _PRICE_BAND
        self._details(record, x + _PAD, top - 7, inner)
        if record.get("ean") is None or ean_is_bad or not layout.has_barcode:
            return False
        ean = as_ean13(str(record.get("ean", "")).strip())
        if ean is None:
            return False
        try:
            draw_ean13(canvas, ean, x + _PAD / 2, y + _PAD / 2, module=layout.module, bar_height=layout.bar_height, font_name=fonts.regular)
        except ValueError as error:
            logger.warning("Label of %s printed without barcode: %s", record.key, error)
            return False
        return True

    def _price(self, record: Record, x: float, baseline: float, width: float) -> None:
        canvas, fonts = self.canvas, self.fonts
        price: Money = record.fields["price"]
        text = format_money(price, self.locale)
        sales_unit = str(record.get("unit", "piece"))
        if sales_unit in SALES_UNITS - {"piece"}:
            text += f" / {self.units[sales_unit]}"
        old = record.get("old_price")
        old_text = ""
        if isinstance(old, Money) and old.currency == price.currency and old.amount > price.amount:
            old_text = printable(format_money(old, self.locale), fonts.regular)
        # the former price takes at most 40 % of the line; a price is shrunk, never cut
        old_size = min(_OLD_PRICE_SIZE, _OLD_PRICE_SIZE * 0.4 * width / text_width(old_text, fonts.regular, _OLD_PRICE_SIZE)) if old_text else 0.0
        old_width = text_width(old_text, fonts.regular, old_size) + 4 if old_text else 0.0
        fitted, size = fit_text(text, fonts.bold, _PRICE_SIZE, width - old_width, min_size=_PRICE_MIN)
        canvas.setFillColorRGB(0, 0, 0)
        canvas.setFont(fonts.bold, size)
        canvas.drawString(x, baseline, fitted)
        if old_text:
            canvas.saveState()
            canvas.setFillColorRGB(0.3, 0.3, 0.3)
            canvas.setStrokeColorRGB(0.3, 0.3, 0.3)
            draw_struck(canvas, old_text, x + width, baseline + size * 0.35, fonts.regular, old_size, align="right")
            canvas.restoreState()

    def _details(self, record: Record, x: float, baseline: float, width: float) -> None:
        """Draw the unit price at the left and the SKU at the right of one small line, or on a line each on a narrow label."""
        canvas, fonts = self.canvas, self.fonts
        per_unit = printable(unit_price_text(record, self.locale, self.choice), fonts.regular)
        is_narrow = _detail_lines(self.layout.width) > 1
        canvas.setFillColorRGB(0, 0, 0)
        used = 0.0
        if per_unit:
            fitted, size = fit_text(per_unit, fonts.regular, 7.5, width if is_narrow else width * 0.6, min_size=6)
            canvas.setFont(fonts.regular, size)
            canvas.drawString(x, baseline, fitted)
            if is_narrow:
                baseline -= _DETAIL_LINE
            else:
                used = text_width(fitted, fonts.regular, size) + 6
        sku, size = fit_text(f"{self.words['sku']} {record.key}", fonts.regular, 6.5, width - used, min_size=5)
        if not sku.endswith(record.key):
            # a narrow label keeps the SKU and drops its caption
            sku, size = fit_text(record.key, fonts.regular, 6.5, width - used, min_size=4.5)
        canvas.setFillColorRGB(0.35, 0.35, 0.35)
        canvas.setFont(fonts.regular, size)
        canvas.drawRightString(x + width, baseline, sku)
        canvas.setFillColorRGB(0, 0, 0)
