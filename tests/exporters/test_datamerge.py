"""InDesign data-merge source: exact bytes in UTF-16 and UTF-8, "@" image columns, values for people, safe cells."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from exporters import get_format
from exporters.base import FeedSettings, Measure, Money, Param, Record
from exporters.datamerge import FORCED_LINE_BREAK, InDesignDataMerge, value_text
from tests.exporters.sinks import FolderSink, rub

NBSP = "\u00a0"
COLUMNS = ["sku", "group", "title", "price", "net_weight", "is_organic", "image", "badge"]


def catalogue_records() -> list[Record]:
    """An autumn catalogue: coffee and cheese of a Russian grocer, an English-named kids' boot with two photos."""
    return [
        Record(
            "COFFEE-ARABICA-250",
            {
                "title": "Кофе в зёрнах «Арабика Бразилия», 250 г",
                "description": "Обжарка средняя.\r\nВкус: орех, шоколад.",
                "price": rub("1299"),
                "net_weight": Measure(Decimal("0.250"), "KILOGRAM"),
                "is_organic": True,
                "ean": "4600682000013",
                "image": "/srv/pim/media/coffee/arabica-250.jpg",
                "badge": "-20% по выходным",
            },
        ),
        Record(
            "BOOT-TUNDRA-K30",
            {
                "title": "Tundra kids' winter boot, waterproof",
                "description": 'Lined winter boot: "Tundra" keeps feet dry down to -20 °C.',
                "price": rub("4990.00"),
                "net_weight": Measure(Decimal("0.75"), "KILOGRAM"),
                "is_organic": False,
                "ean": "4006381333931",
                "image": ["/srv/pim/media/boots/tundra-k30.jpg", "/srv/pim/media/boots/tundra-k30-side.jpg"],
                "features": [Param("Цвет", "синий"), Param("Размер", 30), Param("Подошва", ["резина", "ЭВА"])],
                "colors": ["navy", "red"],
            },
            group="BOOT-TUNDRA",
        ),
        Record(
            "CHEESE-GOUDA-300",
            {
                "title": '=Сыр "Гауда" 45 %, весовой',
                "brand": "@Сырная лавка",
                "price": rub("389.70"),
                "image": "/srv/pim/media/cheese/gouda.jpg",
                "badge": "+весовой",
            },
        ),
    ]


def merge_settings(locale: str = "ru_RU", **options: Any) -> FeedSettings:
    return FeedSettings("catalogue_autumn", locale=locale, currency="RUB", options={"csv_columns": COLUMNS, **options}, is_for_people=True)


def render(records: list[Record], folder: Path, settings: FeedSettings) -> bytes:
    """Write the records as a data-merge file under the folder and return the file's bytes."""
    feed = InDesignDataMerge()
    sink = FolderSink(folder)
    feed.write(iter(records), settings, sink)
    sink.close()
    assert list(sink.files) == [feed.file_name(settings)]
    return (folder / feed.file_name(settings)).read_bytes()


def read_rows(output: bytes, delimiter: str = "\t") -> list[list[str]]:
    return list(csv.reader(io.StringIO(output.decode("utf-16"), newline=""), delimiter=delimiter))


CATALOGUE_TEXT = (
    "sku\ttitle\tprice\tnet_weight\tis_organic\t@image\tbadge\r\n"
    f"COFFEE-ARABICA-250\tКофе в зёрнах «Арабика Бразилия», 250 г\t1{NBSP}299,00{NBSP}₽\t0,25 кг\tДа\t/srv/pim/media/coffee/arabica-250.jpg\t'-20% по выходным\r\n"
    f"BOOT-TUNDRA-K30\tTundra kids' winter boot, waterproof\t4{NBSP}990,00{NBSP}₽\t0,75 кг\tНет\t/srv/pim/media/boots/tundra-k30.jpg\t\r\n"
    f'CHEESE-GOUDA-300\t"\'=Сыр ""Гауда"" 45 %, весовой"\t389,70{NBSP}₽\t\t\t/srv/pim/media/cheese/gouda.jpg\t\'+весовой\r\n'
)


def test_indesign_merge_is_registered_as_a_free_form_format_without_delta() -> None:
    feed = get_format("indesign_merge")
    assert isinstance(feed, InDesignDataMerge)
    assert (feed.accepts_any_field, feed.supports_delta, feed.is_grouped, feed.extension) == (True, False, False, "txt")


def test_default_file_is_utf16_le_with_bom_tab_delimited_with_an_image_column(tmp_path: Path) -> None:
    output = render(catalogue_records(), tmp_path, merge_settings())
    assert output[:2] == b"\xff\xfe"
    assert output == b"\xff\xfe" + CATALOGUE_TEXT.encode("utf-16-le")
    assert (tmp_path / "catalogue_autumn.txt").exists()


def test_cyrillic_round_trips_when_the_file_is_read_back(tmp_path: Path) -> None:
    header, coffee, boot, cheese = read_rows(render(catalogue_records(), tmp_path, merge_settings()))
    assert header == ["sku", "title", "price", "net_weight", "is_organic", "@image", "badge"]
    assert coffee[1] == "Кофе в зёрнах «Арабика Бразилия», 250 г"
    assert cheese[1] == '\'=Сыр "Гауда" 45 %, весовой'
    assert boot[:2] == ["BOOT-TUNDRA-K30", "Tundra kids' winter boot, waterproof"]


def test_comma_delimited_utf8_file_quotes_commas_and_quotes(tmp_path: Path) -> None:
    settings = merge_settings(delimiter="comma", encoding="utf-8", columns=["sku", "title", "description", "features", "colors"])
    output = render(catalogue_records()[1:2], tmp_path, settings)
    assert (
        output
        == (
            "\ufeffsku,title,description,features,colors\r\n"
            'BOOT-TUNDRA-K30,"Tundra kids\' winter boot, waterproof","Lined winter boot: ""Tundra"" keeps feet dry down to -20 °C.",'
            '"Цвет: синий; Размер: 30; Подошва: резина, ЭВА","navy, red"\r\n'
        ).encode()
    )
    assert (tmp_path / "catalogue_autumn.csv").exists()


def test_formula_cells_are_neutralised_but_image_headers_and_paths_are_not(tmp_path: Path) -> None:
    settings = merge_settings(columns=["title", "brand", "badge", "image"])
    header, _coffee, _boot, cheese = read_rows(render(catalogue_records(), tmp_path, settings))
    assert header == ["title", "brand", "badge", "@image"]
    assert cheese == ['\'=Сыр "Гауда" 45 %, весовой', "'@Сырная лавка", "'+весовой", "/srv/pim/media/cheese/gouda.jpg"]


def test_formula_safe_false_keeps_cells_exact_for_a_file_that_goes_straight_to_indesign(tmp_path: Path) -> None:
    settings = merge_settings(columns=["title", "brand", "badge"], formula_safe=False)
    assert read_rows(render(catalogue_records()[2:], tmp_path, settings))[1] == ['=Сыр "Гауда" 45 %, весовой', "@Сырная лавка", "+весовой"]


def test_a_list_of_images_fills_numbered_image_columns(tmp_path: Path) -> None:
    settings = merge_settings(columns=["sku", "image"], images_per_row=3)
    assert read_rows(render(catalogue_records()[:2], tmp_path, settings)) == [
        ["sku", "@image", "@image_2", "@image_3"],
        ["COFFEE-ARABICA-250", "/srv/pim/media/coffee/arabica-250.jpg", "", ""],
        ["BOOT-TUNDRA-K30", "/srv/pim/media/boots/tundra-k30.jpg", "/srv/pim/media/boots/tundra-k30-side.jpg", ""],
    ]


def test_several_image_fields_each_get_an_at_header(tmp_path: Path) -> None:
    record = Record("COFFEE-ARABICA-250", {"image": "/srv/pim/media/a.jpg", "logo": "/srv/pim/media/brands/nw.eps"})
    settings = merge_settings(columns=["image", "logo"], image_fields=["image", "logo"])
    assert read_rows(render([record], tmp_path, settings)) == [["@image", "@logo"], ["/srv/pim/media/a.jpg", "/srv/pim/media/brands/nw.eps"]]


def test_windows_paths_use_backslashes_after_the_path_map(tmp_path: Path) -> None:
    settings = merge_settings(columns=["image"], images_per_row=2, path_style="windows", path_map={"/srv/pim/media": "Z:/media"})
    rows = read_rows(render(catalogue_records()[1:2], tmp_path, settings))
    assert rows[1] == ["Z:\\media\\boots\\tundra-k30.jpg", "Z:\\media\\boots\\tundra-k30-side.jpg"]


@pytest.mark.parametrize(
    ("path_map", "path"),
    [
        ({}, "Macintosh HD:srv:pim:media:coffee:arabica-250.jpg"),
        ({"/srv/pim/media": "/Volumes/Katalog"}, "Katalog:coffee:arabica-250.jpg"),
        ({"/srv/pim": "/Volumes/PIM", "/srv/pim/media": "/Volumes/Media"}, "Media:coffee:arabica-250.jpg"),
    ],
)
def test_mac_paths_are_volume_paths_with_colons(tmp_path: Path, path_map: dict[str, str], path: str) -> None:
    settings = merge_settings(columns=["image"], path_style="mac", path_map=path_map)
    assert read_rows(render(catalogue_records()[:1], tmp_path, settings))[1] == [path]


def test_line_breaks_become_one_space_by_default(tmp_path: Path) -> None:
    record = Record("COFFEE-ARABICA-250", {"description": "Обжарка средняя.\r\nВкус: орех,\tшоколад.\n\n\nКислотность: 3 из 5 \r Сорт: арабика"})
    rows = read_rows(render([record], tmp_path, merge_settings(columns=["description"])))
    assert rows == [["description"], ["Обжарка средняя. Вкус: орех, шоколад. Кислотность: 3 из 5 Сорт: арабика"]]


def test_line_breaks_can_become_indesigns_forced_line_break(tmp_path: Path) -> None:
    record = Record("COFFEE-ARABICA-250", {"description": "Обжарка средняя.\r\nВкус: орех.\n\nСорт: арабика"})
    output = render([record], tmp_path, merge_settings(columns=["description"], line_breaks="forced"))
    assert output == b"\xff\xfe" + f"description\r\nОбжарка средняя.{FORCED_LINE_BREAK}Вкус: орех.{FORCED_LINE_BREAK * 2}Сорт: арабика\r\n".encode("utf-16-le")


def test_columns_follow_the_profiles_fields_without_the_group_and_with_the_sku_from_the_key(tmp_path: Path) -> None:
    settings = merge_settings()
    settings.options["csv_columns"] = ["sku", "group", "colors", "title"]
    assert read_rows(render(catalogue_records()[1:2], tmp_path, settings)) == [
        ["sku", "colors", "title"],
        ["BOOT-TUNDRA-K30", "navy, red", "Tundra kids' winter boot, waterproof"],
    ]


def test_without_a_column_list_the_first_records_fields_are_the_columns(tmp_path: Path) -> None:
    settings = FeedSettings("catalogue_autumn", locale="en_US", currency="RUB")
    records = [Record("TEA-EARLGREY-100", {"title": "Northwind Earl Grey tea, 100 bags", "price": rub("249.50"), "is_organic": True})]
    assert read_rows(render(records, tmp_path, settings)) == [
        ["sku", "title", "price", "is_organic"],
        ["TEA-EARLGREY-100", "Northwind Earl Grey tea, 100 bags", "RUB249.50", "Yes"],
    ]


def test_deleted_records_are_left_out(tmp_path: Path) -> None:
    records = [Record("BOOT-TUNDRA-K30", {}, is_deleted=True), *catalogue_records()[:1]]
    rows = read_rows(render(records, tmp_path, merge_settings(columns=["sku"])))
    assert rows == [["sku"], ["COFFEE-ARABICA-250"]]


def test_empty_feed_is_the_header_alone(tmp_path: Path) -> None:
    output = render([], tmp_path, merge_settings())
    assert output == b"\xff\xfe" + "sku\ttitle\tprice\tnet_weight\tis_organic\t@image\tbadge\r\n".encode("utf-16-le")


@pytest.mark.parametrize(("locale", "yes", "no"), [("ru_RU", "Да", "Нет"), ("de_DE", "Ja", "Nein"), ("en_US", "Yes", "No"), ("fr_FR", "Yes", "No")])
def test_booleans_are_the_locales_words(locale: str, yes: str, no: str) -> None:
    assert (value_text(True, locale), value_text(False, locale)) == (yes, no)


@pytest.mark.parametrize(
    ("value", "locale", "text"),
    [
        (rub("1299"), "ru_RU", f"1{NBSP}299,00{NBSP}₽"),
        (Money(Decimal("1299"), "EUR"), "de_DE", f"1.299,00{NBSP}€"),
        (Measure(Decimal("0.750"), "KILOGRAM"), "ru_RU", "0,75 кг"),
        (Measure(Decimal("930"), "MILLILITER"), "ru_RU", "930 мл"),
        (Measure(Decimal("1.5"), "LITER"), "de_DE", "1,5 l"),
        (Measure(Decimal("0.75"), "KILOGRAM"), "en_US", "0.75 kg"),
        (Measure(Decimal("12"), "PIECE_PER_BOX"), "ru_RU", "12 PIECE_PER_BOX"),
        (Decimal("1234.5"), "ru_RU", f"1{NBSP}234,5"),
        (4600682000013, "ru_RU", "4600682000013"),
        ([Param("Цвет", "синий"), Param("Объём", Decimal("0.5"), "л")], "ru_RU", "Цвет: синий; Объём: 0,5 л"),
        (["кожа", "", "резина"], "ru_RU", "кожа, резина"),
        (None, "ru_RU", ""),
    ],
)
def test_values_are_written_for_people_of_the_locale(value: Any, locale: str, text: str) -> None:
    assert value_text(value, locale) == text


@pytest.mark.parametrize(
    ("image", "problems"),
    [
        ("/srv/pim/media/coffee/arabica-250.jpg", []),
        (["C:\\Katalog\\arabica.jpg", "\\\\fileserver\\media\\arabica.jpg"], []),
        ("https://magazin.example/img/arabika-250.jpg", [("image", "invalid")]),
        (["/srv/pim/media/a.jpg", "coffee/arabica-250.jpg"], [("image", "invalid")]),
    ],
)
def test_image_fields_must_hold_absolute_file_paths(image: Any, problems: list[tuple[str, str]]) -> None:
    record = Record("COFFEE-ARABICA-250", {"title": "Кофе", "image": image})
    assert [(problem.field, problem.code) for problem in InDesignDataMerge().check(record, merge_settings())] == problems


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"encoding": "cp1251"}, "encoding must be utf-16 or utf-8"),
        ({"delimiter": ";"}, "delimiter must be tab or comma"),
        ({"images_per_row": 0}, "images_per_row must be a whole number from 1 to 50"),
        ({"path_style": "hfs"}, "path_style must be posix, windows or mac"),
        ({"line_breaks": "br"}, "line_breaks must be space or forced"),
        ({"image_fields": "image"}, "image_fields must be a list"),
    ],
)
def test_wrong_option_is_reported_by_check_and_stops_the_writer(tmp_path: Path, options: dict[str, Any], message: str) -> None:
    settings = merge_settings(**options)
    problems = InDesignDataMerge().check(catalogue_records()[0], settings)
    assert [(problem.field, problem.code) for problem in problems] == [("options", "invalid_option")]
    assert message in problems[0].message
    with pytest.raises(ValueError, match=message):
        render(catalogue_records(), tmp_path, settings)
