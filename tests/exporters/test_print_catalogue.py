"""Print catalogue: cover, contents whose page numbers are right, sections in tree order, blocks, images once, layout."""

from __future__ import annotations

import re
import shutil
import weakref
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pymupdf
import pypdf
import pytest
from PIL import Image, ImageDraw

from exporters import get_format
from exporters.base import FeedSettings, Param, Record, RecordGroup
from exporters.print_catalogue import Grid, PrintCatalogue, placements
from tests.exporters.sinks import FolderSink, eur, rub

TREE = [
    ("1", None, "Обувь"),
    ("11", "1", "Кроссовки"),
    ("12", "1", "Ботинки"),
    ("2", None, "Продукты"),
    ("21", "2", "Кофе"),
    ("22", "2", "Чай"),
    ("3", None, "Аксессуары"),
]


def settings(locale: str = "ru_RU", **options: Any) -> FeedSettings:
    return FeedSettings(
        "print_spring",
        title="Нортвинд",
        locale=locale,
        currency="RUB",
        generated_at="2026-03-01T14:37+03:00",
        categories=list(TREE),
        options=options,
    )


def picture(path: Path, colour: tuple[int, int, int], size: tuple[int, int]) -> str:
    """Write a real product photo stand-in: a coloured frame with a light oval."""
    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).ellipse((size[0] // 8, size[1] // 8, size[0] * 7 // 8, size[1] * 7 // 8), fill=(235, 235, 235))
    image.save(path)
    return str(path)


@pytest.fixture
def images(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "renditions"
    folder.mkdir()
    return {
        "sneaker": picture(folder / "sneaker.jpg", (200, 40, 40), (800, 600)),
        "boot": picture(folder / "boot.png", (40, 40, 200), (400, 900)),
        "coffee": picture(folder / "coffee.jpg", (110, 70, 30), (600, 600)),
        "cover": picture(folder / "cover.jpg", (40, 150, 60), (1200, 800)),
    }


def sneakers(images: dict[str, str], count: int = 8) -> list[Record]:
    return [
        Record(
            f"SNK-CANVAS-{number:02d}",
            {
                "name": f"Кеды «Канвас» модель {number:02d}",
                "price": rub("2990"),
                "image": [images["sneaker"]],
                "category": "11",
                "attributes": [Param("Материал верха", "хлопок"), Param("Вес пары", Decimal("0.62"), "кг")],
            },
        )
        for number in range(count)
    ]


def boots(images: dict[str, str], sizes: range = range(40, 43)) -> RecordGroup:
    variants = [
        Record(
            f"BOOT-TUNDRA-{colour[0]}-{size}",
            {
                "name": "Ботинки «Тундра» зимние",
                "price": rub("8990" if size < 44 else "9490"),
                "old_price": rub("10990"),
                "image": [images["boot"]],
                "category": 12,
                "variant": f"{colour[1]} / {size}",
                "attributes": [Param("Утеплитель", "натуральный мех")],
            },
            group="BOOT-TUNDRA",
        )
        for colour in (("BLK", "Чёрный"), ("BRN", "Коричневый"))
        for size in sizes
    ]
    return RecordGroup("BOOT-TUNDRA", {}, variants, axes=("color", "size"))


def coffees(images: dict[str, str]) -> list[Record]:
    return [
        Record(
            "COFFEE-ARABICA-250",
            {
                "name": "Кофе в зёрнах «Арабика Бразилия», 250 г",
                "price": rub("649"),
                "old_price": rub("799"),
                "image": [images["coffee"]],
                "description": "Обжарка средняя, 100 % арабика. Вкус: орех, шоколад; кислотность 3 из 5.",
                "category": "21",
                "attributes": [Param("Обжарка", "средняя"), Param("Вес", Decimal("250"), "г")],
            },
        ),
        Record("COFFEE-GROUND-1KG", {"name": "Кофе молотый для турки, 1 кг", "price": rub("1299"), "old_price": rub("1199"), "category": "21"}),
    ]


def belt() -> Record:
    return Record("BELT-LEATHER-95", {"name": "Ремень кожаный, 95 см", "price": rub("1990"), "category": "3"})


def catalogue(images: dict[str, str]) -> list[Record | RecordGroup]:
    """Records in the order the pipeline reads them (by product id), not in tree order."""
    return [*coffees(images), belt(), *sneakers(images), boots(images)]


def write(items: Iterator[Record | RecordGroup] | list[Record | RecordGroup], folder: Path, feed_settings: FeedSettings | None = None) -> Path:
    sink = FolderSink(folder)
    PrintCatalogue().write(iter(items), feed_settings or settings(), sink)
    sink.close()
    return folder / "print_spring.pdf"


def page_texts(path: Path) -> list[str]:
    """Return each page's text with non-breaking spaces as spaces (the PDF draws them with the space glyph)."""
    return [page.extract_text().replace("\u00a0", " ").replace("\u202f", " ") for page in pypdf.PdfReader(path).pages]


def image_xobjects(path: Path) -> set[int]:
    """Return the object numbers of every image XObject the pages draw."""
    found: set[int] = set()
    for page in pypdf.PdfReader(path).pages:
        resources = page.get("/Resources")
        xobjects = resources.get_object().get("/XObject") if resources is not None else None
        for reference in xobjects.get_object().values() if xobjects is not None else []:
            if reference.get_object().get("/Subtype") == "/Image":
                found.add(reference.idnum)
    return found


# --- format --------------------------------------------------------------------------------


def test_print_catalogue_is_a_grouped_pdf_format() -> None:
    feed = get_format("print_catalogue")
    assert isinstance(feed, PrintCatalogue)
    assert (feed.media_type, feed.extension, feed.is_grouped, feed.supports_delta) == ("application/pdf", "pdf", True, False)


def test_catalogue_records_pass_every_rule(images: dict[str, str]) -> None:
    records = [*coffees(images), belt(), *sneakers(images), *boots(images).variants]
    feed = PrintCatalogue()
    assert {record.key: feed.check(record, settings()) for record in records} == {record.key: [] for record in records}


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"category": "99"}, "category", "unknown_category"),
        ({"category": None}, "category", "required"),
        ({"name": ""}, "name", "required"),
        ({"price": "649 RUB"}, "price", "invalid"),
        ({"old_price": eur("799")}, "old_price", "invalid"),
    ],
)
def test_record_breaking_a_rule_gets_one_problem_for_its_field(images: dict[str, str], changes: dict[str, Any], field: str, code: str) -> None:
    record = coffees(images)[0]
    record.fields.update(changes)
    assert [(problem.field, problem.code) for problem in PrintCatalogue().check(record, settings())] == [(field, code)]


def test_category_is_checked_against_the_tree_only_with_settings(images: dict[str, str]) -> None:
    record = coffees(images)[0]
    record.fields["category"] = "99"
    assert PrintCatalogue().check(record) == []


# --- structure -----------------------------------------------------------------------------


def test_contents_page_numbers_are_the_pages_where_sections_start(tmp_path: Path, images: dict[str, str]) -> None:
    texts = page_texts(write(catalogue(images), tmp_path))
    contents = texts[1]
    found = {path: int(number) for path, number in re.findall(r"((?:\w+ › )?\w+)\s*\n\s*(\d+)", contents)}
    assert found == {"Обувь › Кроссовки": 3, "Обувь › Ботинки": 5, "Продукты › Кофе": 6, "Аксессуары": 7}
    firsts = {
        "Обувь › Кроссовки": "Кеды «Канвас» модель 00",
        "Обувь › Ботинки": "BOOT-TUNDRA-BLK-40",
        "Продукты › Кофе": "COFFEE-ARABICA-250",
        "Аксессуары": "Ремень",
    }
    for path, page in found.items():
        assert firsts[path] in texts[page - 1]
        assert firsts[path] not in texts[page - 2]
    assert len(texts) == 7


def test_sections_follow_the_tree_with_ancestor_headings_and_skip_empty_categories(tmp_path: Path, images: dict[str, str]) -> None:
    texts = page_texts(write(catalogue(images), tmp_path))
    assert "Чай" not in texts[1]
    assert "Обувь\nКроссовки" in texts[2] and "Кеды «Канвас» модель 05" in texts[2]
    assert "Кеды «Канвас» модель 06" in texts[3] and "Кроссовки" in texts[3]
    assert "Продукты\nКофе" in texts[5]


def test_every_page_but_the_cover_has_running_header_and_page_of_pages(tmp_path: Path, images: dict[str, str]) -> None:
    texts = page_texts(write(catalogue(images), tmp_path, settings(title="Весна 2026")))
    assert "Страница" not in texts[0]
    for number, text in enumerate(texts[1:], start=2):
        assert f"Страница {number} из 7" in text
        assert text.startswith("Весна 2026")
    assert "Содержание" in texts[1] and "Ботинки" in texts[4]


def test_cover_has_title_subtitle_channel_and_date(tmp_path: Path, images: dict[str, str]) -> None:
    path = write(catalogue(images), tmp_path, settings(title="Весна 2026", subtitle="Обувь и продукты для всей семьи", cover_image=images["cover"]))
    cover = page_texts(path)[0]
    assert "Весна 2026" in cover and "Обувь и продукты для всей семьи" in cover and "Нортвинд" in cover
    assert "1 марта 2026 г." in cover


def test_empty_catalogue_is_a_cover_and_a_page_saying_there_are_no_products(tmp_path: Path) -> None:
    texts = page_texts(write([], tmp_path))
    assert len(texts) == 2
    assert "В каталоге нет товаров." in texts[1]
    assert "Страница 2 из 2" in texts[1]


@pytest.mark.parametrize(("page_size", "box"), [("A4", (595.28, 841.89)), ("Letter", (612, 792))])
def test_page_size(tmp_path: Path, images: dict[str, str], page_size: str, box: tuple[float, float]) -> None:
    reader = pypdf.PdfReader(write(catalogue(images), tmp_path, settings(page_size=page_size)))
    assert {(round(float(page.mediabox.width), 2), round(float(page.mediabox.height), 2)) for page in reader.pages} == {box}


# --- product blocks ------------------------------------------------------------------------


def test_block_shows_name_attributes_and_locale_prices(tmp_path: Path, images: dict[str, str]) -> None:
    text = page_texts(write(coffees(images), tmp_path))[2]
    assert "Кофе в зёрнах «Арабика Бразилия», 250 г" in text
    assert "Обжарка: средняя" in text and "Вес: 250 г" in text
    assert "649,00 ₽" in text and "799,00 ₽" in text
    assert "1 299,00 ₽" in text
    # an old price not above the price is not shown
    assert "1 199,00" not in text


def test_old_price_is_struck_through(tmp_path: Path, images: dict[str, str]) -> None:
    page = pymupdf.open(write(coffees(images)[:1], tmp_path))[2]
    (box,) = page.search_for("799,00")
    lines = [item for drawing in page.get_drawings() for item in drawing["items"] if item[0] == "l"]
    assert any(
        abs(start.y - end.y) < 0.1 and box.y0 < start.y < box.y1 and min(start.x, end.x) <= box.x0 + 1 and max(start.x, end.x) >= box.x1 - 1
        for _, start, end in lines
    )


def test_english_catalogue_in_euros(tmp_path: Path) -> None:
    record = Record("SHOE-ALTA-WHT-42", {"name": "Northwind Alta leather sneaker", "price": eur("1299"), "old_price": eur("1499.5"), "category": "11"})
    texts = page_texts(write([record], tmp_path, settings(locale="en_US", page_size="Letter")))
    assert "€1,299.00" in texts[2] and "€1,499.50" in texts[2]
    assert "Contents" in texts[1] and "Page 3 of 3" in texts[2]
    assert "March 1, 2026" in texts[0]


def test_model_block_lists_variants_with_prices_only_where_they_differ(tmp_path: Path, images: dict[str, str]) -> None:
    group = boots(images, sizes=range(42, 46))
    text = page_texts(write([group], tmp_path))[2]
    assert "Ботинки «Тундра» зимние" in text
    assert "от 8 990,00 ₽" in text
    for variant in group.variants:
        assert variant.key in text and variant.fields["variant"] in text
    assert text.count("9 490,00 ₽") == 4
    assert "8 990,00 ₽" not in text.replace("от 8 990,00 ₽", "")
    # the group's prices differ, so no old price is claimed for it
    assert "10 990,00" not in text


def test_model_with_equal_prices_shows_its_old_price(tmp_path: Path, images: dict[str, str]) -> None:
    text = page_texts(write([boots(images)], tmp_path))[2]
    assert "8 990,00 ₽" in text and "от 8 990" not in text
    assert "10 990,00 ₽" in text


def test_model_with_many_variants_takes_a_page_wide_block(tmp_path: Path, images: dict[str, str]) -> None:
    group = boots(images, sizes=range(30, 47))
    singles = [replace(record, fields={**record.fields, "category": "12"}) for record in sneakers(images, 2)]
    path = write([group, *singles], tmp_path)
    texts = page_texts(path)
    assert len(texts) == 3
    assert all(variant.key in texts[2] for variant in group.variants)
    assert "Кеды «Канвас» модель 01" in texts[2]
    grid = Grid.from_options({})
    frames = [
        drawing["rect"]
        for drawing in pymupdf.open(path)[2].get_drawings()
        if drawing.get("color") == pytest.approx((0.8, 0.8, 0.8), abs=0.01) and drawing.get("fill") is None and drawing["rect"].height > 100
    ]
    # two grid rows across the page for the model, then the two sneakers side by side
    assert sorted((round(frame.width), round(frame.height)) for frame in frames) == sorted(
        [(round(grid.width), round(grid.span_height(2))), (round(grid.cell_width), round(grid.cell_height)), (round(grid.cell_width), round(grid.cell_height))]
    )


def test_model_with_more_variants_than_a_page_holds_says_how_many_are_left_out(tmp_path: Path, images: dict[str, str]) -> None:
    variants = [
        Record(f"SOCK-{number:03d}", {"name": "Носки хлопковые", "price": rub("199"), "category": "3", "variant": f"Цвет {number:03d}"}, group="SOCK")
        for number in range(200)
    ]
    text = page_texts(write([RecordGroup("SOCK", {}, variants)], tmp_path))[2]
    (left_out,) = re.findall(r"ещё (\d+)", text)
    shown = len(re.findall(r"SOCK-\d{3}", text))
    assert shown + int(left_out) == 200
    assert shown > 30


def test_placement_is_deterministic_and_wide_blocks_start_a_fresh_row() -> None:
    grid = Grid.from_options({"columns": 2, "rows": 3})
    assert list(placements([0, 0, 0, 2, 0, 3], grid)) == [
        (0, 0, 0, 0),
        (0, 0, 1, 0),
        (0, 1, 0, 0),
        (1, 0, 0, 2),
        (1, 2, 0, 0),
        (2, 0, 0, 3),
    ]


def test_product_in_two_categories_is_printed_in_both_sections_with_one_picture(tmp_path: Path, images: dict[str, str]) -> None:
    gift, other = coffees(images)
    gift.fields["category"] = ["21", "3", "99", "21"]
    feed = PrintCatalogue()
    assert feed.check(gift, settings()) == []
    assert [p.code for p in feed.check(replace(gift, fields={**gift.fields, "category": ["98", "99"]}), settings())] == ["unknown_category"]
    sink = FolderSink(tmp_path)
    feed.write(iter([gift, other, belt()]), settings(), sink)
    sink.close()
    texts = page_texts(tmp_path / "print_spring.pdf")
    # cover, contents, then the coffee section and the accessories section
    assert len(texts) == 4 and "Продукты › Кофе\n3" in texts[1] and "Аксессуары\n4" in texts[1]
    assert "Арабика Бразилия" in texts[2] and "Кофе молотый" in texts[2]
    assert "Арабика Бразилия" in texts[3] and "Ремень кожаный" in texts[3]
    assert "".join(texts).count("COFFEE-ARABICA-250") == 2
    assert len(image_xobjects(tmp_path / "print_spring.pdf")) == 1
    assert feed.rejected == []


def test_records_outside_the_tree_are_left_out_and_reported(tmp_path: Path, images: dict[str, str]) -> None:
    stray = replace(belt(), key="BELT-STRAY", fields={**belt().fields, "category": "77"})
    feed = PrintCatalogue()
    sink = FolderSink(tmp_path)
    feed.write(iter([belt(), stray]), settings(), sink)
    sink.close()
    assert [(key, problem.code) for key, problem in feed.rejected] == [("BELT-STRAY", "unknown_category")]
    assert "BELT-STRAY" not in "".join(page_texts(tmp_path / "print_spring.pdf"))


# --- images --------------------------------------------------------------------------------


def test_each_image_is_embedded_once(tmp_path: Path, images: dict[str, str]) -> None:
    copy = tmp_path / "renditions" / "sneaker-copy.jpg"
    shutil.copyfile(images["sneaker"], copy)
    items: list[Record | RecordGroup] = [*sneakers(images, 8), boots(images)]
    # the same product twice, and another one whose rendition is a copy of the same picture
    items.append(sneakers(images, 1)[0])
    items.append(replace(sneakers(images, 1)[0], key="SNK-COPY", fields={**sneakers(images, 1)[0].fields, "image": [str(copy)]}))
    path = write(items, tmp_path, settings(cover_image=images["cover"]))
    assert len(page_texts(path)) == 5
    # sneaker, boot and cover: three pictures, however often they are drawn
    assert len(image_xobjects(path)) == 3


def test_missing_or_unreadable_image_gets_a_placeholder(tmp_path: Path, images: dict[str, str]) -> None:
    broken = tmp_path / "renditions" / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    first, second = coffees(images)
    first.fields["image"] = [str(tmp_path / "renditions" / "missing.jpg")]
    second.fields["image"] = [str(broken)]
    third = belt()
    feed = PrintCatalogue()
    sink = FolderSink(tmp_path)
    feed.write(iter([first, second, third]), settings(), sink)
    sink.close()
    path = tmp_path / "print_spring.pdf"
    assert image_xobjects(path) == set()
    page = pymupdf.open(path)[2]
    placeholders = [drawing for drawing in page.get_drawings() if drawing.get("fill") == pytest.approx((0.95, 0.95, 0.95), abs=0.01)]
    assert len(placeholders) == 2
    assert "Кофе молотый для турки, 1 кг" in page.get_text()
    # every placeholder is noted: the two unreadable files, and the belt that has no image at all
    noted = sorted((key, problem.code) for key, problem in feed.warnings)
    assert noted == sorted([(first.key, "image_unreadable"), (second.key, "image_unreadable"), ("BELT-LEATHER-95", "no_image")])
    assert feed.rejected == []


def test_characters_the_font_lacks_are_marked_visibly_and_noted(tmp_path: Path, images: dict[str, str]) -> None:
    coffee = coffees(images)[0]
    coffee.fields["name"] = "Кофе 珈琲 «Арабика»"
    feed = PrintCatalogue()
    sink = FolderSink(tmp_path)
    feed.write(iter([coffee]), settings(), sink)
    sink.close()
    assert "Кофе ?? «Арабика»" in "".join(page_texts(tmp_path / "print_spring.pdf"))
    assert [(key, problem.field, problem.code) for key, problem in feed.warnings] == [(coffee.key, "name", "glyph_missing")]
    # known before printing, for `pim export explain`
    assert [(problem.field, problem.code) for problem in PrintCatalogue().notices(coffee, settings())] == [("name", "glyph_missing")]
    assert [problem.code for problem in PrintCatalogue().notices(belt(), settings())] == ["no_image"]


# --- options and streaming -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"columns": 0}, "columns must be a whole number from 1 to 6"),
        ({"rows": "3"}, "rows must be a whole number"),
        ({"columns": 5, "rows": 8}, "blocks need at least 35 x 35 mm"),
        ({"page_size": "A3"}, "Unknown page size 'A3'"),
        ({"font": "/nonexistent/Brand.ttf"}, "Font file /nonexistent/Brand.ttf does not exist"),
    ],
)
def test_wrong_options_are_refused_before_anything_is_written(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write([belt()], tmp_path, settings(**options))


def test_grid_option_changes_the_page_count(tmp_path: Path, images: dict[str, str]) -> None:
    texts = page_texts(write(sneakers(images, 12), tmp_path, settings(columns=3, rows=4)))
    assert len(texts) == 3
    assert "Кеды «Канвас» модель 11" in texts[2]


class WatchedFields(dict):
    """A record's fields that the test can watch being freed (a plain dict takes no weak reference)."""


def test_records_are_not_kept_while_the_catalogue_is_laid_out(tmp_path: Path, images: dict[str, str]) -> None:
    template = sneakers(images, 1)[0].fields
    watched: list[weakref.ref[WatchedFields]] = []
    alive_at_250: list[int] = []

    def generate() -> Iterator[Record]:
        for number in range(300):
            if number == 250:
                alive_at_250.append(sum(ref() is not None for ref in watched))
            fields = WatchedFields(template, name=f"Кеды модель {number:03d}")
            watched.append(weakref.ref(fields))
            yield Record(f"SNK-{number:03d}", fields)

    texts = page_texts(write(generate(), tmp_path))
    assert alive_at_250[0] <= 2
    assert len(texts) == 2 + 50
    assert "Кеды модель 299" in texts[-1]


def test_a_product_with_nothing_to_pay_is_not_printed(images: dict[str, str]) -> None:
    free = sneakers(images, 1)[0]
    free.fields["price"] = rub("0.00")

    assert [(p.field, p.code) for p in PrintCatalogue().check(free, settings())] == [("price", "invalid")]
