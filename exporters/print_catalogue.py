"""Printed catalogue: a PDF with a cover, contents, one section per category and products in a fixed grid.

The catalogue is laid out before it is drawn. `write` streams the records in, keeps a light
block per product in a spool file (only its offset stays in memory), and works out from the
fixed grid how many pages each section takes, so the contents page knows every page number;
then it draws page by page, reading back only the blocks of the page at hand.
"""

from __future__ import annotations

import hashlib
import logging
import math
import pickle
import tempfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from babel.dates import format_date
from PIL import Image
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from exporters.base import FeedFormat, FeedSettings, FieldRule, Money, Param, Problem, Record, RecordGroup, Sink, register
from exporters.localize import babel_locale, format_money, format_quantity
from exporters.pdf import (
    Fonts,
    draw_struck,
    fit_lines,
    fit_text,
    language,
    load_fonts,
    missing_glyph_problem,
    page_size,
    price_problems,
    printable,
    text_width,
    wrap_text,
)

logger = logging.getLogger(__name__)

DEFAULT_COLUMNS = 2
DEFAULT_ROWS = 3
DEFAULT_ATTRIBUTES_SHOWN = 4
MAX_COLUMNS = 6
MAX_ROWS = 8
MIN_BLOCK_MM = 35

# page frame, in points
_MARGIN_X = 15 * mm
_MARGIN_TOP = 20 * mm
_MARGIN_BOTTOM = 18 * mm
_HEADING = 16 * mm
_GUTTER = 5 * mm
# a product block, in points
_PAD = 3 * mm
_IMAGE_SHARE = 0.45
_NAME_SIZE, _NAME_MIN, _NAME_LINES, _NAME_LEADING = 10.0, 8.0, 2, 12.0
_SMALL_SIZE, _SMALL_LEADING = 8.0, 10.0
_PRICE_BAND = 20.0
_TABLE_SIZE, _ROW_HEIGHT = 7.5, 9.5
_GAP = 4.0
_TOC_LEADING = 18.0

_INK = (0.1, 0.1, 0.1)
_GREY = (0.42, 0.42, 0.42)
_RULE = (0.8, 0.8, 0.8)

_WORDS = {
    "en": {
        "contents": "Contents",
        "page": "Page {page} of {pages}",
        "empty": "This catalogue has no products.",
        "variant": "Variant",
        "sku": "SKU",
        "price": "Price",
        "more": "+ {count} more",
        "from": "from {price}",
        "yes": "yes",
        "no": "no",
    },
    "ru": {
        "contents": "Содержание",
        "page": "Страница {page} из {pages}",
        "empty": "В каталоге нет товаров.",
        "variant": "Вариант",
        "sku": "Артикул",
        "price": "Цена",
        "more": "ещё {count}",
        "from": "от {price}",
        "yes": "да",
        "no": "нет",
    },
    "de": {
        "contents": "Inhalt",
        "page": "Seite {page} von {pages}",
        "empty": "Dieser Katalog enthält keine Produkte.",
        "variant": "Variante",
        "sku": "Artikelnr.",
        "price": "Preis",
        "more": "+ {count} weitere",
        "from": "ab {price}",
        "yes": "ja",
        "no": "nein",
    },
}


def _words(locale: str) -> dict[str, str]:
    return _WORDS.get(language(locale), _WORDS["en"])


# --- options and geometry ------------------------------------------------------------------


def _whole(options: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"Catalogue option {name} must be a whole number from {low} to {high}, got {value!r}")
    return value


@dataclass(frozen=True)
class Grid:
    """The fixed page frame and product grid every page of a catalogue shares, in points."""

    page: tuple[float, float]
    columns: int
    rows: int
    attributes_shown: int

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Grid:
        """Read and check the grid options: page_size, columns, rows, attributes_shown."""
        grid = cls(
            page_size(options.get("page_size") or "A4"),
            _whole(options, "columns", DEFAULT_COLUMNS, 1, MAX_COLUMNS),
            _whole(options, "rows", DEFAULT_ROWS, 1, MAX_ROWS),
            _whole(options, "attributes_shown", DEFAULT_ATTRIBUTES_SHOWN, 0, 12),
        )
        if grid.cell_width < MIN_BLOCK_MM * mm or grid.cell_height < MIN_BLOCK_MM * mm:
            raise ValueError(
                f"A grid of {grid.columns} x {grid.rows} leaves product blocks of {grid.cell_width / mm:.0f} x {grid.cell_height / mm:.0f} mm; "
                f"blocks need at least {MIN_BLOCK_MM} x {MIN_BLOCK_MM} mm"
            )
        return grid

    @property
    def width(self) -> float:
        return self.page[0] - 2 * _MARGIN_X

    @property
    def content_top(self) -> float:
        return self.page[1] - _MARGIN_TOP

    @property
    def grid_top(self) -> float:
        return self.content_top - _HEADING

    @property
    def cell_width(self) -> float:
        return (self.width - (self.columns - 1) * _GUTTER) / self.columns

    @property
    def cell_height(self) -> float:
        return (self.grid_top - _MARGIN_BOTTOM - (self.rows - 1) * _GUTTER) / self.rows

    @property
    def image_height(self) -> float:
        return (self.cell_height - 2 * _PAD) * _IMAGE_SHARE

    @property
    def wide_left(self) -> float:
        """The width of the image column of a block that spans the page's width."""
        return min(self.cell_width, 0.4 * self.width)

    def span_height(self, rows: int) -> float:
        """Return the height of a block spanning `rows` grid rows."""
        return rows * self.cell_height + (rows - 1) * _GUTTER

    def cell(self, row: int, column: int) -> tuple[float, float]:
        """Return the lower left corner of a grid cell."""
        x = _MARGIN_X + column * (self.cell_width + _GUTTER)
        top = self.grid_top - row * (self.cell_height + _GUTTER)
        return x, top - self.cell_height

    def toc_lines(self) -> int:
        """Return how many contents entries one page holds."""
        return max(1, int((self.grid_top - _MARGIN_BOTTOM) // _TOC_LEADING))


# --- light product blocks ------------------------------------------------------------------


@dataclass
class Block:
    """What the page needs of one product or product model: texts already formatted."""

    key: str
    name: str
    price: str
    old_price: str = ""
    image: str | None = None
    description: str = ""
    variant: str = ""
    attributes: list[str] = field(default_factory=list)
    # a model's variants: (axis values, SKU, price when it differs from the block's)
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    is_group: bool = False

    @property
    def shows_prices(self) -> bool:
        return any(row[2] for row in self.rows)


def _normal_capacity(grid: Grid, block: Block) -> int:
    """Return how many variant rows fit a block of one cell."""
    inner = grid.cell_height - 2 * _PAD
    free = inner - grid.image_height - _GAP - _NAME_LINES * _NAME_LEADING - len(block.attributes) * _SMALL_LEADING - _PRICE_BAND - _GAP
    return int(free // _ROW_HEIGHT) - 1


def _wide_capacity(grid: Grid, block: Block, rows: int) -> int:
    """Return how many variant rows fit a block spanning the page's width and `rows` grid rows."""
    inner = grid.span_height(rows) - 2 * _PAD
    free = inner - _NAME_LINES * _NAME_LEADING - len(block.attributes) * _SMALL_LEADING - _GAP
    return int(free // _ROW_HEIGHT) - 1


def block_span(grid: Grid, block: Block) -> int:
    """Return 0 for a block of one cell, else the grid rows of a page-wide block its variant table needs."""
    if not block.is_group or len(block.rows) <= _normal_capacity(grid, block):
        return 0
    for rows in range(1, grid.rows + 1):
        if _wide_capacity(grid, block, rows) >= len(block.rows):
            return rows
    return grid.rows


def placements(spans: Iterator[int] | list[int] | array, grid: Grid) -> Iterator[tuple[int, int, int, int]]:
    """Yield (page, row, column, span) for each block of a section in order; pages count from 0.

    A block of one cell takes the next cell; a page-wide block starts on a fresh grid row and on
    a new page when its rows do not fit under what the page holds already.
    """
    page = row = column = 0
    for span in spans:
        if span == 0:
            if row >= grid.rows:
                page, row = page + 1, 0
            yield page, row, column, 0
            column += 1
            if column == grid.columns:
                column, row = 0, row + 1
            continue
        if column:
            column, row = 0, row + 1
        if row + span > grid.rows:
            page, row = page + 1, 0
        yield page, row, 0, span
        row += span


class _Spool:
    """Blocks written to a temporary file; only their offsets stay in memory."""

    def __init__(self) -> None:
        self.file: IO[bytes] = tempfile.TemporaryFile(prefix="catalogue-")

    def add(self, block: Block) -> int:
        self.file.seek(0, 2)
        offset = self.file.tell()
        pickle.dump(block, self.file, protocol=pickle.HIGHEST_PROTOCOL)
        return offset

    def get(self, offset: int) -> Block:
        self.file.seek(offset)
        block: Block = pickle.load(self.file)
        return block

    def close(self) -> None:
        self.file.close()


@dataclass
class Section:
    """A category that holds products: its heading and its blocks' offsets and spans in arrival order."""

    id: str
    label: str
    path: list[str]
    offsets: array = field(default_factory=lambda: array("q"))
    spans: array = field(default_factory=lambda: array("h"))
    first_page: int = 0
    pages: int = 0


class CategoryTree:
    """The channel's tree: each category's order, label and the labels of its ancestors."""

    def __init__(self, categories: list[tuple[str, str | None, str]]) -> None:
        self.order: dict[str, int] = {}
        self.labels: dict[str, str] = {}
        self.parents: dict[str, str | None] = {}
        for index, (category_id, parent_id, label) in enumerate(categories):
            key = str(category_id).strip()
            self.order.setdefault(key, index)
            self.labels[key] = str(label)
            self.parents[key] = None if parent_id is None else str(parent_id).strip()

    def __contains__(self, category_id: object) -> bool:
        return str(category_id).strip() in self.order

    def ancestors(self, category_id: str) -> list[str]:
        """Return the labels of a category's ancestors, root first."""
        labels: list[str] = []
        seen = {category_id}
        parent = self.parents.get(category_id)
        while parent is not None and parent in self.labels and parent not in seen:
            labels.append(self.labels[parent])
            seen.add(parent)
            parent = self.parents.get(parent)
        return list(reversed(labels))


# --- records to blocks ---------------------------------------------------------------------


def _value_text(value: Any, locale: str, words: dict[str, str]) -> str:
    if isinstance(value, bool):
        return words["yes"] if value else words["no"]
    if isinstance(value, int | Decimal):
        return format_quantity(value, locale)
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(item, locale, words) for item in value if item is not None and item != "")
    return str(value)


def _attribute_lines(record: Record, limit: int, locale: str, words: dict[str, str]) -> list[str]:
    lines: list[str] = []
    for param in record.get("attributes", []) or []:
        if len(lines) >= limit:
            break
        if isinstance(param, Param):
            value = _value_text(param.value, locale, words)
            if value:
                lines.append(f"{param.name}: {value}" + (f" {param.unit}" if param.unit else ""))
        elif param:
            lines.append(str(param))
    return lines


def _first_image(record: Record) -> str | None:
    images = record.get("image")
    if isinstance(images, list | tuple):
        return next((str(image) for image in images if image), None)
    return str(images) if images else None


def _old_price(price: Money, old: Any, locale: str) -> str:
    if isinstance(old, Money) and old.currency == price.currency and old.amount > price.amount:
        return format_money(old, locale)
    return ""


def _single_block(record: Record, settings: FeedSettings, limit: int, words: dict[str, str]) -> Block:
    price: Money = record.fields["price"]
    locale = settings.locale
    return Block(
        key=record.key,
        name=str(record.get("name", record.key)),
        price=format_money(price, locale),
        old_price=_old_price(price, record.get("old_price"), locale),
        image=_first_image(record),
        description=str(record.get("description", "")),
        variant=str(record.get("variant", "")),
        attributes=_attribute_lines(record, limit, locale, words),
    )


def _group_block(group: RecordGroup, variants: list[Record], settings: FeedSettings, limit: int, words: dict[str, str]) -> Block:
    locale = settings.locale
    first = variants[0]
    prices: list[Money] = [variant.fields["price"] for variant in variants]
    lowest = min(prices, key=lambda money: money.amount)
    varies = any(money != lowest for money in prices)
    cheapest = variants[prices.index(lowest)]
    image = _first_image(first) or next((_first_image(variant) for variant in variants if _first_image(variant)), None)
    rows = [
        (str(variant.get("variant", "")), variant.key, format_money(money, locale) if money != lowest else "")
        for variant, money in zip(variants, prices, strict=True)
    ]
    return Block(
        key=group.key,
        name=str(group.fields.get("name") or first.get("name", group.key)),
        price=words["from"].format(price=format_money(lowest, locale)) if varies else format_money(lowest, locale),
        old_price="" if varies else _old_price(lowest, cheapest.get("old_price"), locale),
        image=image,
        attributes=_attribute_lines(first, limit, locale, words),
        rows=rows,
        is_group=True,
    )


# --- images --------------------------------------------------------------------------------


class _Images:
    """Image files checked once each; files with the same content share the first one's path, so one XObject."""

    def __init__(self) -> None:
        self.known: dict[str, str | None] = {}
        self.by_digest: dict[str, str] = {}

    def resolve(self, path: str) -> str | None:
        """Return the path to draw for an image file, or None when it is missing or unreadable."""
        if path in self.known:
            return self.known[path]
        resolved: str | None
        try:
            digest = hashlib.sha256()
            with open(path, "rb") as file:
                for chunk in iter(lambda: file.read(1 << 16), b""):
                    digest.update(chunk)
            with Image.open(path) as image:
                image.verify()
            resolved = self.by_digest.setdefault(digest.hexdigest(), path)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
            logger.warning("Image %s cannot be printed: %s", path, error)
            resolved = None
        self.known[path] = resolved
        return resolved

    def forget(self, path: str) -> None:
        self.known[path] = None


# --- the format ----------------------------------------------------------------------------


@register
class PrintCatalogue(FeedFormat):
    """Write a printable catalogue: cover, contents with page numbers, a section per category, products in a grid."""

    code = "print_catalogue"
    label = "Print catalogue (PDF)"
    media_type = "application/pdf"
    extension = "pdf"
    supports_delta = False
    is_grouped = True
    fields = (
        FieldRule("name", required=True, description="Product name, up to two lines in the block."),
        FieldRule("price", required=True, kind="money"),
        FieldRule("old_price", kind="money", description="Shown struck through beside the price when higher than it."),
        FieldRule("image", kind="list", description="Local paths of image renditions; the first is printed."),
        FieldRule("description", description="Short text, cut to the lines the block has."),
        FieldRule("attributes", kind="list", description="Key attributes as Param(name, value, unit)."),
        FieldRule(
            "category",
            required=True,
            kind="list",
            description="Id of the product's category in the channel's tree, or a list of ids: the product is printed in each of those sections.",
        ),
        FieldRule("variant", description="A variant's axis values, e.g. Black / 42."),
    )

    def check(self, record: Record, settings: FeedSettings | None = None) -> list[Problem]:
        """Return every rule the record breaks; with settings, its category must be in the feed's tree."""
        problems = super().check(record)
        problems.extend(price_problems(record))
        category = record.get("category")
        if settings is not None and category is not None and not _sections_of(category, self._tree(settings)):
            problems.append(Problem("category", f"category {_shown(category)} is not in the channel's category tree", "unknown_category"))
        return problems

    def _tree(self, settings: FeedSettings) -> CategoryTree:
        """Return the feed's tree, worked out once per feed, not per record."""
        cached = getattr(self, "_cached_tree", None)
        if cached is None or cached[0] is not settings.categories:
            cached = (settings.categories, CategoryTree(settings.categories))
            self._cached_tree = cached
        return cached[1]

    def write(self, items: Iterator[Record | RecordGroup], settings: FeedSettings, sink: Sink) -> None:
        """Lay the catalogue out from the streamed records, then draw it page by page into one PDF."""
        options = settings.options or {}
        grid = Grid.from_options(options)
        fonts = load_fonts(options)
        spool = _Spool()
        try:
            sections = self._collect(items, settings, grid, spool, fonts)
            renderer = _Renderer(grid, fonts, settings, spool, sections)
            renderer.draw(sink.open(self.file_name(settings)))
            self.warnings.extend(renderer.warnings)
        finally:
            spool.close()

    def _collect(self, items: Iterator[Record | RecordGroup], settings: FeedSettings, grid: Grid, spool: _Spool, fonts: Fonts) -> list[Section]:
        """Spool a block per product and return the sections holding products, in tree order.

        A block without an image, or with characters the fonts lack, is printed all the same
        (a placeholder, a visible mark) and noted in the warnings.
        """
        tree = self._tree(settings)
        words = _words(settings.locale)
        sections: dict[str, Section] = {}
        for item in items:
            if isinstance(item, RecordGroup):
                # a variant without a price failed the format's check and never reaches the page
                variants = [variant for variant in item.variants if not variant.is_deleted and isinstance(variant.get("price"), Money)]
                if not variants:
                    continue
                category = item.fields.get("category") or variants[0].get("category")
                block = _group_block(item, variants, settings, grid.attributes_shown, words)
            else:
                if item.is_deleted or not isinstance(item.get("price"), Money):
                    continue
                category = item.get("category")
                block = _single_block(item, settings, grid.attributes_shown, words)
            keys = _sections_of(category, tree)
            if not keys:
                self.rejected.append((block.key, Problem("category", f"category {_shown(category)} is not in the channel's category tree", "unknown_category")))
                continue
            self.warnings.extend((block.key, problem) for problem in _block_notices(block, fonts))
            # a product in several categories is printed in each section, from one spooled block
            offset, span = spool.add(block), block_span(grid, block)
            for key in keys:
                section = sections.get(key)
                if section is None:
                    section = sections[key] = Section(key, tree.labels[key], tree.ancestors(key))
                section.offsets.append(offset)
                section.spans.append(span)
        ordered = sorted(sections.values(), key=lambda section: tree.order[section.id])
        for section in ordered:
            section.pages = max(page for page, _, _, _ in placements(section.spans, grid)) + 1
        return ordered

    def notices(self, record: Record, settings: FeedSettings) -> list[Problem]:
        """Return what the product's block will be printed without: its picture, characters the fonts lack."""
        options = settings.options or {}
        block = _single_block(record, settings, Grid.from_options(options).attributes_shown, _words(settings.locale))
        return _block_notices(block, load_fonts(options))


def _block_notices(block: Block, fonts: Fonts) -> list[Problem]:
    notices = []
    if block.image is None:
        notices.append(Problem("image", "the product has no image; a placeholder is printed", "no_image"))
    texts = [block.description, block.variant, block.price, block.old_price, *block.attributes, *(cell for row in block.rows for cell in row)]
    problem = missing_glyph_problem([block.name], fonts.bold) or missing_glyph_problem(texts, fonts.regular, "description")
    if problem is not None:
        notices.append(problem)
    return notices


def _sections_of(category: Any, tree: CategoryTree) -> list[str]:
    """Return the ids of the tree's categories a record's `category` (one id or a list) names, once each."""
    values = category if isinstance(category, list | tuple) else [] if category is None else [category]
    return [key for key in dict.fromkeys(str(value).strip() for value in values) if key in tree]


def _shown(category: Any) -> str:
    return ", ".join(map(str, category)) if isinstance(category, list | tuple) else str(category)


# --- drawing -------------------------------------------------------------------------------


def _date_text(generated_at: str, locale: str) -> str:
    if not generated_at:
        return ""
    try:
        moment = datetime.fromisoformat(generated_at)
    except ValueError:
        return generated_at
    return format_date(moment.date(), format="long", locale=babel_locale(locale))


class _Renderer:
    """Draw a laid-out catalogue page by page."""

    def __init__(self, grid: Grid, fonts: Fonts, settings: FeedSettings, spool: _Spool, sections: list[Section]) -> None:
        self.grid = grid
        self.fonts = fonts
        self.settings = settings
        self.spool = spool
        self.sections = sections
        self.words = _words(settings.locale)
        self.images = _Images()
        options = settings.options or {}
        self.title = str(options.get("title") or settings.title or settings.code)
        self.toc_pages = max(1, math.ceil(len(sections) / grid.toc_lines()))
        page = 1 + self.toc_pages
        for section in sections:
            section.first_page = page + 1
            page += section.pages
        self.total = page
        self.page_number = 0
        self.canvas: Canvas | None = None
        self.warnings: list[tuple[str, Problem]] = []
        self.warned: set[str] = set()

    def draw(self, out: IO[bytes]) -> None:
        """Draw every page and write the document to the file."""
        canvas = self.canvas = Canvas(out, pagesize=self.grid.page, pageCompression=1)
        canvas.setTitle(self.title)
        canvas.setSubject(self.settings.title)
        canvas.setCreator("PIM print catalogue")
        self._cover()
        self._contents()
        for section in self.sections:
            self._section(section)
        canvas.save()

    # page furniture

    def _next_page(self) -> Canvas:
        assert self.canvas is not None
        if self.page_number:
            self.canvas.showPage()
        self.page_number += 1
        return self.canvas

    def _frame(self, canvas: Canvas, running: str) -> None:
        """Draw the running header (catalogue title, section) and the footer (page X of Y)."""
        width, height = self.grid.page
        fonts = self.fonts
        canvas.setFillColorRGB(*_GREY)
        half = (width - 2 * _MARGIN_X) / 2 - 6
        title, size = fit_text(self.title, fonts.bold, 9, half, min_size=7)
        canvas.setFont(fonts.bold, size)
        canvas.drawString(_MARGIN_X, height - 13 * mm, title)
        section, size = fit_text(running, fonts.regular, 9, half, min_size=7)
        canvas.setFont(fonts.regular, size)
        canvas.drawRightString(width - _MARGIN_X, height - 13 * mm, section)
        canvas.setStrokeColorRGB(*_RULE)
        canvas.setLineWidth(0.5)
        canvas.line(_MARGIN_X, height - 15 * mm, width - _MARGIN_X, height - 15 * mm)
        canvas.line(_MARGIN_X, 13 * mm, width - _MARGIN_X, 13 * mm)
        footer = printable(self.words["page"].format(page=self.page_number, pages=self.total), fonts.regular)
        canvas.setFont(fonts.regular, 8.5)
        canvas.drawCentredString(width / 2, 8.5 * mm, footer)
        canvas.setFillColorRGB(*_INK)

    def _cover(self) -> None:
        canvas = self._next_page()
        width, height = self.grid.page
        fonts, options = self.fonts, self.settings.options or {}
        usable = width - 2 * _MARGIN_X
        y = height - 55 * mm
        lines, size = fit_lines(self.title, fonts.bold, 32, usable, 3, min_size=20)
        canvas.setFillColorRGB(*_INK)
        canvas.setFont(fonts.bold, size)
        for line in lines:
            canvas.drawString(_MARGIN_X, y, line)
            y -= size * 1.15
        subtitle = str(options.get("subtitle") or "")
        if subtitle:
            y -= 4
            canvas.setFont(fonts.regular, 16)
            for line in wrap_text(subtitle, fonts.regular, 16, usable, 2):
                canvas.drawString(_MARGIN_X, y, line)
                y -= 20
        channel = self.settings.title if options.get("title") and self.settings.title != self.title else ""
        canvas.setFillColorRGB(*_GREY)
        if channel:
            text, size = fit_text(channel, fonts.regular, 12, usable, min_size=9)
            canvas.setFont(fonts.regular, size)
            canvas.drawString(_MARGIN_X, y - 6, text)
            y -= 20
        date = _date_text(self.settings.generated_at, self.settings.locale)
        if date:
            canvas.setFont(fonts.regular, 11)
            canvas.drawString(_MARGIN_X, 25 * mm, printable(date, fonts.regular))
        canvas.setFillColorRGB(*_INK)
        cover = options.get("cover_image")
        if cover:
            path = self.images.resolve(str(cover))
            top = y - 12 * mm
            if path is not None and top > 50 * mm:
                self._image(canvas, path, _MARGIN_X, 40 * mm, usable, top - 40 * mm)

    def _contents(self) -> None:
        grid, fonts = self.grid, self.fonts
        per_page = grid.toc_lines()
        if not self.sections:
            canvas = self._next_page()
            self._frame(canvas, "")
            canvas.setFont(fonts.regular, 14)
            canvas.drawString(_MARGIN_X, grid.grid_top, printable(self.words["empty"], fonts.regular))
            return
        for page in range(self.toc_pages):
            canvas = self._next_page()
            self._frame(canvas, self.words["contents"])
            canvas.setFont(fonts.bold, 18)
            canvas.drawString(_MARGIN_X, grid.content_top - 8 * mm, printable(self.words["contents"], fonts.bold))
            y = grid.grid_top - 4
            for section in self.sections[page * per_page : (page + 1) * per_page]:
                self._contents_line(canvas, section, y)
                y -= _TOC_LEADING

    def _contents_line(self, canvas: Canvas, section: Section, y: float) -> None:
        fonts, grid = self.fonts, self.grid
        number = str(section.first_page)
        number_width = text_width(number, fonts.regular, 11)
        indent = 5 * mm * len(section.path)
        room = grid.width - indent - number_width - 10 * mm
        path = " › ".join([*section.path, section.label])
        text, size = fit_text(path, fonts.regular, 11, room, min_size=8)
        canvas.setFont(fonts.regular, size)
        canvas.drawString(_MARGIN_X + indent, y, text)
        canvas.setFont(fonts.regular, 11)
        canvas.drawRightString(_MARGIN_X + grid.width, y, number)
        # dotted leader between the entry and its page number
        start = _MARGIN_X + indent + text_width(text, fonts.regular, size) + 4
        end = _MARGIN_X + grid.width - number_width - 4
        canvas.saveState()
        canvas.setStrokeColorRGB(*_GREY)
        canvas.setDash(0.5, 2.5)
        canvas.setLineWidth(0.8)
        if end > start:
            canvas.line(start, y + 1, end, y + 1)
        canvas.restoreState()

    def _section(self, section: Section) -> None:
        grid = self.grid
        current_page = -1
        canvas: Canvas | None = None
        for (page, row, column, span), offset in zip(placements(section.spans, grid), section.offsets, strict=True):
            if page != current_page:
                canvas = self._next_page()
                self._frame(canvas, section.label)
                self._heading(canvas, section)
                current_page = page
            assert canvas is not None
            block = self.spool.get(offset)
            if span:
                x, bottom = grid.cell(row + span - 1, 0)
                self._wide_block(canvas, block, x, bottom, grid.width, grid.span_height(span), span)
            else:
                x, bottom = grid.cell(row, column)
                self._block(canvas, block, x, bottom)

    def _heading(self, canvas: Canvas, section: Section) -> None:
        fonts, grid = self.fonts, self.grid
        top = grid.content_top
        if section.path:
            text, size = fit_text(" › ".join(section.path), fonts.regular, 9, grid.width, min_size=7)
            canvas.setFillColorRGB(*_GREY)
            canvas.setFont(fonts.regular, size)
            canvas.drawString(_MARGIN_X, top - 4 * mm, text)
        text, size = fit_text(section.label, fonts.bold, 16, grid.width, min_size=11)
        canvas.setFillColorRGB(*_INK)
        canvas.setFont(fonts.bold, size)
        canvas.drawString(_MARGIN_X, top - 11 * mm, text)

    # product blocks

    def _box(self, canvas: Canvas, x: float, y: float, width: float, height: float) -> None:
        canvas.saveState()
        canvas.setStrokeColorRGB(*_RULE)
        canvas.setLineWidth(0.5)
        canvas.roundRect(x, y, width, height, 2 * mm, stroke=1, fill=0)
        canvas.restoreState()

    def _image(self, canvas: Canvas, path: str | None, x: float, y: float, width: float, height: float, *, key: str | None = None) -> None:
        """Draw an image fitted into a box keeping its aspect ratio; for a product (`key`), a placeholder when it cannot be."""
        resolved = self.images.resolve(path) if path else None
        if resolved is not None:
            try:
                canvas.drawImage(resolved, x, y, width, height, preserveAspectRatio=True, anchor="c", mask="auto")
                return
            except (OSError, SyntaxError, ValueError) as error:
                logger.warning("Image %s cannot be printed: %s", path, error)
                self.images.forget(str(path))
        if key is not None:
            if path and key not in self.warned:
                # a product printed in two sections is reported once
                self.warned.add(key)
                self.warnings.append((key, Problem("image", f"the image {path} cannot be read; a placeholder is printed", "image_unreadable")))
            _placeholder(canvas, x, y, width, height)

    def _name(self, canvas: Canvas, name: str, x: float, top: float, width: float) -> float:
        lines, size = fit_lines(name, self.fonts.bold, _NAME_SIZE, width, _NAME_LINES, min_size=_NAME_MIN)
        canvas.setFillColorRGB(*_INK)
        canvas.setFont(self.fonts.bold, size)
        y = top - size
        for line in lines:
            canvas.drawString(x, y, line)
            y -= _NAME_LEADING
        return top - _NAME_LINES * _NAME_LEADING

    def _small_lines(self, canvas: Canvas, lines: list[str], x: float, top: float, width: float, color: tuple[float, float, float]) -> float:
        canvas.setFillColorRGB(*color)
        for line in lines:
            text, size = fit_text(line, self.fonts.regular, _SMALL_SIZE, width, min_size=6.5)
            canvas.setFont(self.fonts.regular, size)
            canvas.drawString(x, top - _SMALL_SIZE, text)
            top -= _SMALL_LEADING
        canvas.setFillColorRGB(*_INK)
        return top

    def _price(self, canvas: Canvas, block: Block, x: float, y: float, width: float) -> None:
        fonts = self.fonts
        old_width = 0.0
        old = printable(block.old_price, fonts.regular)
        if old:
            old_width = text_width(old, fonts.regular, 9) + 6
        price, size = fit_text(block.price, fonts.bold, 14, width - old_width, min_size=8)
        canvas.setFillColorRGB(*_INK)
        canvas.setFont(fonts.bold, size)
        canvas.drawString(x, y, price)
        if old:
            canvas.setFillColorRGB(*_GREY)
            canvas.setStrokeColorRGB(*_GREY)
            draw_struck(canvas, old, x + text_width(price, fonts.bold, size) + 6, y, fonts.regular, 9)
            canvas.setFillColorRGB(*_INK)
            canvas.setStrokeColorRGB(0, 0, 0)

    def _block(self, canvas: Canvas, block: Block, x: float, bottom: float) -> None:
        grid = self.grid
        width, height = grid.cell_width, grid.cell_height
        self._box(canvas, x, bottom, width, height)
        inner_x, inner_width = x + _PAD, width - 2 * _PAD
        top = bottom + height - _PAD
        self._image(canvas, block.image, inner_x, top - grid.image_height, inner_width, grid.image_height, key=block.key)
        y = self._name(canvas, block.name, inner_x, top - grid.image_height - _GAP, inner_width)
        if not block.is_group:
            details = [block.variant] if block.variant else []
            y = self._small_lines(canvas, [*details, f"{self.words['sku']}: {block.key}"], inner_x, y, inner_width, _GREY)
        y = self._small_lines(canvas, block.attributes, inner_x, y, inner_width, _INK)
        floor = bottom + _PAD + _PRICE_BAND + _GAP
        if block.is_group:
            self._table(canvas, block, inner_x, y, inner_width, _normal_capacity(grid, block))
        elif block.description:
            count = int((y - floor) // _SMALL_LEADING)
            lines = wrap_text(block.description, self.fonts.regular, _SMALL_SIZE, inner_width, count)
            self._small_lines(canvas, lines, inner_x, y, inner_width, _GREY)
        self._price(canvas, block, inner_x, bottom + _PAD + 5, inner_width)

    def _wide_block(self, canvas: Canvas, block: Block, x: float, bottom: float, width: float, height: float, span: int) -> None:
        grid = self.grid
        self._box(canvas, x, bottom, width, height)
        left = grid.wide_left
        top = bottom + height - _PAD
        image_height = min(grid.image_height * 1.2, height - 2 * _PAD - _PRICE_BAND - _GAP)
        self._image(canvas, block.image, x + _PAD, top - image_height, left - 2 * _PAD, image_height, key=block.key)
        self._price(canvas, block, x + _PAD, top - image_height - _GAP - 14, left - 2 * _PAD)
        right_x, right_width = x + left + _PAD, width - left - 2 * _PAD
        y = self._name(canvas, block.name, right_x, top, right_width)
        y = self._small_lines(canvas, block.attributes, right_x, y, right_width, _INK)
        self._table(canvas, block, right_x, y - _GAP, right_width, _wide_capacity(grid, block, span))

    def _table(self, canvas: Canvas, block: Block, x: float, top: float, width: float, capacity: int) -> None:
        """Draw a model's variants: axis values, SKU and price where it differs; "+ N more" when they do not fit."""
        if capacity <= 0:
            return
        fonts, words = self.fonts, self.words
        shares = (0.42, 0.36, 0.22) if block.shows_prices else (0.55, 0.45, 0.0)
        widths = [width * share for share in shares]
        rows = block.rows
        hidden = 0
        if len(rows) > capacity:
            hidden = len(rows) - (capacity - 1)
            rows = rows[: capacity - 1]
        y = top - _TABLE_SIZE
        headers = (words["variant"], words["sku"], words["price"] if block.shows_prices else "")
        canvas.setFillColorRGB(*_GREY)
        self._table_row(canvas, headers, x, y, widths, fonts.bold)
        canvas.setStrokeColorRGB(*_RULE)
        canvas.setLineWidth(0.4)
        canvas.line(x, y - 2.5, x + width, y - 2.5)
        canvas.setFillColorRGB(*_INK)
        for row in rows:
            y -= _ROW_HEIGHT
            self._table_row(canvas, row, x, y, widths, fonts.regular)
        if hidden:
            y -= _ROW_HEIGHT
            canvas.setFillColorRGB(*_GREY)
            text, size = fit_text(words["more"].format(count=hidden), fonts.regular, _TABLE_SIZE, width, min_size=6)
            canvas.setFont(fonts.regular, size)
            canvas.drawString(x, y, text)
            canvas.setFillColorRGB(*_INK)

    def _table_row(self, canvas: Canvas, cells: tuple[str, str, str], x: float, y: float, widths: list[float], font: str) -> None:
        left = x
        for index, (cell, cell_width) in enumerate(zip(cells, widths, strict=True)):
            if cell and cell_width > 0:
                text, size = fit_text(cell, font, _TABLE_SIZE, cell_width - 3, min_size=6)
                canvas.setFont(font, size)
                if index == 2:
                    canvas.drawRightString(left + cell_width, y, text)
                else:
                    canvas.drawString(left, y, text)
            left += cell_width


def _placeholder(canvas: Canvas, x: float, y: float, width: float, height: float) -> None:
    """Draw a light frame with a small picture sign where a product image is missing."""
    canvas.saveState()
    canvas.setFillColorRGB(0.95, 0.95, 0.95)
    canvas.setStrokeColorRGB(0.85, 0.85, 0.85)
    canvas.setLineWidth(0.5)
    canvas.rect(x, y, width, height, stroke=1, fill=1)
    side = min(width, height) * 0.3
    left, bottom = x + (width - side) / 2, y + (height - side * 0.75) / 2
    canvas.setStrokeColorRGB(0.72, 0.72, 0.72)
    canvas.setLineWidth(1)
    canvas.rect(left, bottom, side, side * 0.75, stroke=1, fill=0)
    path = canvas.beginPath()
    path.moveTo(left + side * 0.08, bottom + side * 0.08)
    path.lineTo(left + side * 0.38, bottom + side * 0.45)
    path.lineTo(left + side * 0.58, bottom + side * 0.25)
    path.lineTo(left + side * 0.72, bottom + side * 0.38)
    path.lineTo(left + side * 0.92, bottom + side * 0.08)
    canvas.drawPath(path, stroke=1, fill=0)
    canvas.circle(left + side * 0.75, bottom + side * 0.56, side * 0.07, stroke=1, fill=0)
    canvas.restoreState()
