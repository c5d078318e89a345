"""What the PDF formats share: fonts with a glyph check, fitted and wrapped text, EAN-13 symbols, page sizes.

ReportLab draws a box for a character its font has no glyph for; every string goes through
`printable` first, which swaps typographic punctuation for ASCII when the font lacks it and
puts a question mark for anything else the font cannot show, so nothing vanishes unseen;
`missing_characters` tells the formats which characters those were, for their reports.
Barcodes are drawn bar by bar from the EAN-13 encoding tables, so what the printer gets is
exactly the symbol GS1 specifies.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import font_source_sans_pro
from reportlab.lib.pagesizes import A4, letter
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from exporters.base import Money, Problem, Record, gtin_check_digit

# --- page sizes ----------------------------------------------------------------------------

PAGE_SIZES: dict[str, tuple[float, float]] = {"A4": A4, "LETTER": letter}


def price_problems(record: Record) -> list[Problem]:
    """Return what stops a printed price: nothing to pay, or an old price in another currency."""
    problems = []
    price, old = record.get("price"), record.get("old_price")
    if isinstance(price, Money) and price.amount <= 0:
        problems.append(Problem("price", f"price must be more than zero to be printed, got {price}", "invalid"))
    if isinstance(price, Money) and isinstance(old, Money) and old.currency != price.currency:
        problems.append(Problem("old_price", f"old_price is in {old.currency} but price is in {price.currency}", "invalid"))
    return problems


def page_size(name: str) -> tuple[float, float]:
    """Return the (width, height) in points of a page size by name: A4 or Letter."""
    size = PAGE_SIZES.get(str(name).strip().upper())
    if size is None:
        raise ValueError(f"Unknown page size {name!r}; use A4 or Letter")
    return size


def language(locale: str) -> str:
    """Return the language part of a locale code: "ru_RU" -> "ru"."""
    return locale.replace("-", "_").split("_")[0].lower()


# --- fonts ---------------------------------------------------------------------------------


def _default_font_folder() -> Path:
    return Path(font_source_sans_pro.__file__).parent / "files"


@dataclass(frozen=True, slots=True)
class Fonts:
    """The registered names of the regular and bold fonts a document draws with."""

    regular: str
    bold: str


_REGISTERED: dict[str, str] = {}
_GLYPHS: dict[str, frozenset[int]] = {}


def register_font(path: str | Path) -> str:
    """Register a TrueType font file with ReportLab once and return its name; ValueError names a bad file."""
    resolved = Path(path).expanduser()
    key = str(resolved.resolve()) if resolved.exists() else str(resolved)
    if key in _REGISTERED:
        return _REGISTERED[key]
    if not resolved.is_file():
        raise ValueError(f"Font file {path} does not exist")
    name = f"PIM-{resolved.stem}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"
    try:
        font = TTFont(name, str(resolved))
    except Exception as error:  # ReportLab raises TTFError, OSError or struct errors for a broken file
        raise ValueError(f"Font file {path} is not a TrueType font that can be embedded: {error}") from error
    pdfmetrics.registerFont(font)
    _GLYPHS[name] = frozenset(font.face.charToGlyph)
    _REGISTERED[key] = name
    return name


def load_fonts(options: Mapping[str, Any]) -> Fonts:
    """Register the fonts a profile names (`font`, `font_bold`), else Source Sans Pro Regular and Bold.

    A profile naming only `font` draws bold text with it too: a bold face of another family would not match.
    """
    custom, custom_bold = options.get("font"), options.get("font_bold")
    if custom:
        regular = register_font(str(custom))
        return Fonts(regular, register_font(str(custom_bold)) if custom_bold else regular)
    folder = _default_font_folder()
    bold = register_font(str(custom_bold)) if custom_bold else register_font(folder / "SourceSansPro-Bold.ttf")
    return Fonts(register_font(folder / "SourceSansPro-Regular.ttf"), bold)


def glyphs(font_name: str) -> frozenset[int]:
    """Return the code points a registered font has glyphs for."""
    if font_name not in _GLYPHS:
        font = pdfmetrics.getFont(font_name)
        face = getattr(font, "face", None)
        char_to_glyph = getattr(face, "charToGlyph", None)
        # a standard Type 1 font covers Latin-1 only
        _GLYPHS[font_name] = frozenset(char_to_glyph) if char_to_glyph is not None else frozenset(range(32, 256))
    return _GLYPHS[font_name]


# Typographic characters a font may lack, and the ASCII that stands in for them.
SUBSTITUTES: dict[str, str] = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2039": "'",
    "\u203a": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u202f": "\u00a0",
    "\u2007": "\u00a0",
    "\u2002": " ",
    "\u2003": " ",
    "\u2009": " ",
    "\u200a": " ",
}
# Invisible characters that some fonts draw as a visible glyph (a soft hyphen as "-").
_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")


# Characters `printable` drops or turns into spaces whatever the font: controls and invisible ones.
_NEEDS_CARE = re.compile("[\x00-\x1f\x7f-\x9f" + "".join(sorted(_INVISIBLE)) + "]")

# What stands, visibly, for a character the font cannot draw and that has no substitute.
MISSING_MARK = "?"


def printable(text: str, font_name: str) -> str:
    """Return the text with only characters the font can draw: substitutes for typographic ones, a mark for others.

    Line breaks and tabs become spaces; control and invisible characters are dropped.
    """
    available = glyphs(font_name)
    if _NEEDS_CARE.search(text) is None and available.issuperset(map(ord, text)):
        # the common case, checked at C speed: nothing to drop, every glyph there
        return text
    out: list[str] = []
    for char in text:
        if char in "\t\n\r\v\f":
            char = " "
        if char in _INVISIBLE or unicodedata.category(char) == "Cc":
            continue
        out.append(_substitute(char, available))
    return "".join(out)


def _substitute(char: str, available: frozenset[int]) -> str:
    """Return the character, or its substitute (followed down the table) the font has, or the missing mark."""
    while char and not all(ord(part) in available for part in char):
        if char not in SUBSTITUTES:
            return MISSING_MARK
        char = SUBSTITUTES[char]
    return char


def missing_characters(text: str, font_name: str) -> str:
    """Return, once each and in order, the characters of a text that `printable` replaces with the missing mark."""
    available = glyphs(font_name)
    if available.issuperset(map(ord, text)):
        return ""
    missing: dict[str, None] = {}
    for char in text:
        if ord(char) in available or char in _INVISIBLE or char in missing or unicodedata.category(char) == "Cc":
            continue
        if _substitute(char, available) == MISSING_MARK:
            missing[char] = None
    return "".join(missing)


def missing_glyph_problem(texts: list[str], font_name: str, field: str = "name") -> Problem | None:
    """Return a warning naming the characters of the texts the font lacks, or None when it has them all."""
    missing = "".join(dict.fromkeys("".join(missing_characters(text, font_name) for text in texts if text)))
    if not missing:
        return None
    shown = " ".join(f"{char} (U+{ord(char):04X})" for char in missing[:8])
    more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
    return Problem(field, f"the font has no glyph for {shown}{more}; printed as {MISSING_MARK}", "glyph_missing")


# --- text fitting --------------------------------------------------------------------------


def text_width(text: str, font_name: str, size: float) -> float:
    """Return the width in points of a text drawn at a size."""
    return pdfmetrics.stringWidth(text, font_name, size)


def ellipsis(font_name: str) -> str:
    """Return the ellipsis character, or three dots when the font lacks it."""
    return "\u2026" if ord("\u2026") in glyphs(font_name) else "..."


def truncate(text: str, font_name: str, size: float, width: float) -> str:
    """Cut a printable text at a word boundary so that it and an ellipsis fit the width."""
    if text_width(text, font_name, size) <= width:
        return text
    mark = ellipsis(font_name)
    words = text.split(" ")
    for count in range(len(words) - 1, 0, -1):
        head = " ".join(words[:count]).rstrip(" ,.;:-–—/(")
        if head and text_width(head + mark, font_name, size) <= width:
            return head + mark
    # not even the first word fits: cut it by characters
    for end in range(len(text) - 1, 0, -1):
        head = text[:end].rstrip()
        if head and text_width(head + mark, font_name, size) <= width:
            return head + mark
    return mark if text_width(mark, font_name, size) <= width else ""


def _words(text: str) -> list[str]:
    """Split a printable text at its spaces only: a non-breaking space keeps "1 299,00 ₽" on one line."""
    return [word for word in text.split(" ") if word]


def fit_text(text: str, font_name: str, size: float, width: float, *, min_size: float | None = None) -> tuple[str, float]:
    """Return the text and the size it fits the width at: shrunk down to `min_size`, then cut with an ellipsis."""
    line = " ".join(_words(printable(text, font_name)))
    smallest = size if min_size is None else min(min_size, size)
    natural = text_width(line, font_name, 1)
    if natural == 0 or natural * size <= width:
        return line, size
    # a text's width grows linearly with its size; round down to a tenth of a point
    fitted = max(smallest, math.floor(width / natural * 10) / 10)
    return truncate(line, font_name, fitted, width), fitted


def _split_word(word: str, font_name: str, size: float, width: float) -> list[str]:
    """Break a word wider than the width into pieces that fit."""
    pieces: list[str] = []
    current = ""
    for char in word:
        if current and text_width(current + char, font_name, size) > width:
            pieces.append(current)
            current = char
        else:
            current += char
    if current:
        pieces.append(current)
    return pieces


def _wrap_all(text: str, font_name: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in _words(text):
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, font_name, size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        if text_width(word, font_name, size) <= width:
            current = word
        else:
            *full, current = _split_word(word, font_name, size, width)
            lines.extend(full)
    if current:
        lines.append(current)
    return lines


def wrap_text(text: str, font_name: str, size: float, width: float, max_lines: int) -> list[str]:
    """Wrap a text into at most `max_lines` lines of the width; the last line ends with an ellipsis when cut."""
    if max_lines <= 0:
        return []
    clean = printable(text, font_name)
    lines = _wrap_all(clean, font_name, size, width)
    if len(lines) <= max_lines:
        return lines
    kept = lines[: max_lines - 1]
    rest = " ".join(lines[max_lines - 1 :])
    last = truncate(rest, font_name, size, width)
    if not last.endswith(ellipsis(font_name)):
        last = truncate(rest + " " + ellipsis(font_name) * 2, font_name, size, width)
    return [*kept, last]


def fit_lines(text: str, font_name: str, size: float, width: float, max_lines: int, *, min_size: float) -> tuple[list[str], float]:
    """Return the text wrapped into at most `max_lines` at the largest size from `size` down to `min_size` that holds it all.

    When even `min_size` is too big, the last line is cut with an ellipsis.
    """
    clean = printable(text, font_name)
    current = size
    while current > min_size:
        lines = _wrap_all(clean, font_name, current, width)
        if len(lines) <= max_lines:
            return lines, current
        current = max(min_size, current - 0.5)
    return wrap_text(clean, font_name, min_size, width, max_lines), min_size


def draw_struck(canvas: Canvas, text: str, x: float, y: float, font_name: str, size: float, *, align: str = "left") -> float:
    """Draw a printable text with a line through it (a former price); return its width."""
    width = text_width(text, font_name, size)
    left = x - width if align == "right" else x
    canvas.setFont(font_name, size)
    canvas.drawString(left, y, text)
    canvas.saveState()
    canvas.setLineWidth(max(0.6, size / 14))
    middle = y + size * 0.3
    canvas.line(left - 0.5, middle, left + width + 0.5, middle)
    canvas.restoreState()
    return width


# --- EAN-13 --------------------------------------------------------------------------------

NOMINAL_MODULE = 0.33 * mm
MIN_MAGNIFICATION = 0.8
MAX_MAGNIFICATION = 2.0
QUIET_LEFT = 11
QUIET_RIGHT = 7
SYMBOL_MODULES = 95
# bars of a nominal symbol are 22.85 mm high
NOMINAL_BAR_HEIGHT = 22.85 * mm
# the start, centre and end guard bars reach 5 modules below the others, into the digits' band
_GUARD_EXTENSION = 5
_DIGIT_BAND = 7

# GS1 General Specifications, EAN-13 number sets A (L), B (G) and C (R), digits 0-9
_L_CODES = ("0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111", "0001011")
_G_CODES = ("0100111", "0110011", "0011011", "0100001", "0011101", "0111001", "0000101", "0010001", "0001001", "0010111")
_R_CODES = ("1110010", "1100110", "1101100", "1000010", "1011100", "1001110", "1010000", "1000100", "1001000", "1110100")
# which number set each digit of the left half uses, chosen by the first (implied) digit
_PARITY = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL")
_GUARD_MODULES = frozenset({0, 1, 2, 45, 46, 47, 48, 49, 92, 93, 94})


def check_ean13(code: str) -> str:
    """Return the code when it is a valid EAN-13 (in-store 20-29 prefixes included); ValueError says why not."""
    text = str(code).strip()
    if len(text) != 13 or not text.isdigit() or not text.isascii():
        raise ValueError(f"EAN-13 {code!r} must have exactly 13 digits")
    expected = gtin_check_digit(text[:12])
    if expected != int(text[12]):
        raise ValueError(f"EAN-13 {text} has a wrong check digit (expected {expected})")
    return text


def as_ean13(gtin: str) -> str | None:
    """Return the EAN-13 that encodes a GTIN, or None when only another symbol can carry it.

    A GTIN-12 (UPC-A) is the same number with a leading zero; a GTIN-14 with indicator 0 drops
    it. A GTIN-8 is printed as EAN-8 and a GTIN-14 with another indicator as ITF-14, never EAN-13.
    """
    text = str(gtin).strip()
    if not text.isdigit() or not text.isascii():
        return None
    if len(text) == 12:
        text = "0" + text
    elif len(text) == 14 and text.startswith("0"):
        text = text[1:]
    return text if len(text) == 13 else None


def ean13_pattern(code: str) -> str:
    """Return the 95 modules of a symbol as "1" (bar) and "0" (space), guards included."""
    digits = check_ean13(code)
    parity = _PARITY[int(digits[0])]
    left = "".join((_L_CODES if kind == "L" else _G_CODES)[int(digit)] for kind, digit in zip(parity, digits[1:7], strict=True))
    right = "".join(_R_CODES[int(digit)] for digit in digits[7:])
    return "101" + left + "01010" + right + "101"


def check_magnification(module: float) -> None:
    """Refuse a module width outside GS1's 80 %-200 % of the nominal 0.33 mm."""
    ratio = module / NOMINAL_MODULE
    if ratio < MIN_MAGNIFICATION - 1e-9 or ratio > MAX_MAGNIFICATION + 1e-9:
        raise ValueError(f"A module of {module / mm:.3f} mm is {ratio:.0%} of nominal; EAN-13 allows 80 % to 200 % (0.264 to 0.66 mm)")


def ean13_width(module: float = NOMINAL_MODULE) -> float:
    """Return the width of a symbol with its quiet zones (113 modules)."""
    return (QUIET_LEFT + SYMBOL_MODULES + QUIET_RIGHT) * module


def ean13_height(module: float = NOMINAL_MODULE, bar_height: float = NOMINAL_BAR_HEIGHT) -> float:
    """Return the height of a symbol: its bars and the band of digits under them."""
    return bar_height + _DIGIT_BAND * module


def draw_ean13(
    canvas: Canvas,
    code: str,
    x: float,
    y: float,
    *,
    module: float = NOMINAL_MODULE,
    bar_height: float = NOMINAL_BAR_HEIGHT,
    font_name: str | None = None,
) -> None:
    """Draw an EAN-13 symbol whose lower left corner, left quiet zone included, is at (x, y).

    The box of `ean13_width` by `ean13_height` is painted white first, so nothing drawn before
    shows in the quiet zones; the human-readable digits go under the bars, the first one in the
    left quiet zone as GS1 shows it.
    """
    digits = check_ean13(code)
    check_magnification(module)
    pattern = ean13_pattern(digits)
    width, height = ean13_width(module), ean13_height(module, bar_height)
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    canvas.rect(x, y, width, height, stroke=0, fill=1)
    canvas.setFillColorRGB(0, 0, 0)
    bars_x = x + QUIET_LEFT * module
    top = y + height
    start = 0
    while start < SYMBOL_MODULES:
        if pattern[start] != "1":
            start += 1
            continue
        end = start
        while end < SYMBOL_MODULES and pattern[end] == "1":
            end += 1
        bottom = y + (_DIGIT_BAND - _GUARD_EXTENSION) * module if start in _GUARD_MODULES else y + _DIGIT_BAND * module
        canvas.rect(bars_x + start * module, bottom, (end - start) * module, top - bottom, stroke=0, fill=1)
        start = end
    if font_name is not None:
        size = 8.5 * module
        baseline = y + 0.6 * module
        canvas.setFont(font_name, size)
        canvas.drawCentredString(x + 7 * module, baseline, digits[0])
        for index, digit in enumerate(digits[1:7]):
            canvas.drawCentredString(bars_x + (3 + 7 * index + 3.5) * module, baseline, digit)
        for index, digit in enumerate(digits[7:]):
            canvas.drawCentredString(bars_x + (50 + 7 * index + 3.5) * module, baseline, digit)
    canvas.restoreState()
