"""Store till item file: exact bytes of CSV and fixed-width files, encodings, in-store EANs, deltas, the till's rules."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from exporters import get_format
from exporters.base import FeedSettings, Money, Record, gtin_check_digit, gtin_problem
from exporters.store_pos import OptionError, StorePosFeed, cut_at_word, in_store_ean
from tests.exporters.sinks import FolderSink, rendered_as_in_a_run, rub


def till_records() -> list[Record]:
    """A Moscow grocery's till items: packed coffee and milk, cheese weighed at the till, an English-named tea."""
    return [
        Record(
            "100234",
            {
                "article": "100234",
                "ean": "4006381333931",
                "description": "Кофе в зёрнах «Арабика Бразилия», 250 г",
                "price": rub("649"),
                "vat_rate": 20,
                "unit": "piece",
                "weighed": False,
                "department": "BAKALEYA",
            },
        ),
        Record(
            "100871",
            {
                "article": "100871",
                "ean": "4600682000013",
                "description": "Молоко «Простоквашино» 3,2 % ультрапастеризованное, 930 мл",
                "price": rub("89.90"),
                "vat_rate": 10,
                "department": "MOLOKO",
            },
        ),
        Record(
            "417",
            {
                "article": "417",
                "description": "Сыр Гауда 45 %, весовой",
                "price": rub("899.00"),
                "vat_rate": Decimal("10"),
                "unit": "kg",
                "weighed": True,
                "department": "SYR",
            },
        ),
        Record(
            "200781",
            {
                "article": "200781",
                "ean": "4601234567893",
                "description": "Northwind Earl Grey tea, 100 bags",
                "price": rub("249.5"),
                "vat_rate": 20,
                "unit": "piece",
                "weighed": False,
                "department": "CHAI",
            },
        ),
    ]


def till_settings(*, is_delta: bool = False, is_for_people: bool = False, **options: Any) -> FeedSettings:
    return FeedSettings("store_msk_01", locale="ru_RU", currency="RUB", options=options, is_delta=is_delta, is_for_people=is_for_people)


def render(records: list[Record], folder: Path, settings: FeedSettings, feed: StorePosFeed | None = None) -> bytes:
    """Write the records as a till file under the folder and return the file's bytes."""
    feed = feed or StorePosFeed()
    sink = FolderSink(folder)
    feed.write(iter(records), settings, sink)
    sink.close()
    assert list(sink.files) == [feed.file_name(settings)]
    return (folder / feed.file_name(settings)).read_bytes()


def fixed_line(*cells: str) -> str:
    return "".join(cells) + "\r\n"


# Fixed layout, default columns: article 13, ean 13, description 40, price 10 (right), vat_rate 5 (right), unit 5, weighed 1, department 10.
FIXED_CYRILLIC = (
    fixed_line(
        "100234       ",
        "4006381333931",
        'Кофе в зёрнах "Арабика Бразилия", 250 г ',
        "    649.00",
        "   20",
        "piece",
        "0",
        "BAKALEYA  ",
    )
    + fixed_line(
        "100871       ",
        "4600682000013",
        'Молоко "Простоквашино" 3,2 %            ',
        "     89.90",
        "   10",
        "piece",
        "0",
        "MOLOKO    ",
    )
    + fixed_line(
        "417          ",
        "2200417000008",
        "Сыр Гауда 45 %, весовой                 ",
        "    899.00",
        "   10",
        "kg   ",
        "1",
        "SYR       ",
    )
    + fixed_line(
        "200781       ",
        "4601234567893",
        "Northwind Earl Grey tea, 100 bags       ",
        "    249.50",
        "   20",
        "piece",
        "0",
        "CHAI      ",
    )
)

# The same records in Latin letters: "Kofe v zernakh ... 250 g" is 41 characters, so its last word goes.
FIXED_LATIN = (
    fixed_line(
        "100234       ",
        "4006381333931",
        'Kofe v zernakh "Arabika Braziliia", 250 ',
        "    649.00",
        "   20",
        "piece",
        "0",
        "BAKALEYA  ",
    )
    + fixed_line(
        "100871       ",
        "4600682000013",
        'Moloko "Prostokvashino" 3,2 %           ',
        "     89.90",
        "   10",
        "piece",
        "0",
        "MOLOKO    ",
    )
    + fixed_line(
        "417          ",
        "2200417000008",
        "Syr Gauda 45 %, vesovoi                 ",
        "    899.00",
        "   10",
        "kg   ",
        "1",
        "SYR       ",
    )
    + fixed_line(
        "200781       ",
        "4601234567893",
        "Northwind Earl Grey tea, 100 bags       ",
        "    249.50",
        "   20",
        "piece",
        "0",
        "CHAI      ",
    )
)


def test_store_pos_is_registered_as_a_till_file_with_delta() -> None:
    feed = get_format("store_pos")
    assert isinstance(feed, StorePosFeed)
    assert (feed.supports_delta, feed.is_grouped, feed.accepts_any_field) == (True, False, False)
    assert [rule.name for rule in feed.fields] == ["article", "ean", "description", "price", "vat_rate", "unit", "weighed", "department", "plu"]


@pytest.mark.parametrize("options", [{}, {"layout": "fixed"}, {"layout": "fixed", "encoding": "cp866", "transliterate": True}])
def test_till_records_pass_every_rule(options: dict[str, Any]) -> None:
    feed = StorePosFeed()
    settings = till_settings(**options)
    assert {record.key: feed.check(record, settings) for record in till_records()} == {record.key: [] for record in till_records()}


def test_csv_layout_is_utf8_semicolon_separated_with_a_header(tmp_path: Path) -> None:
    output = render(till_records(), tmp_path, till_settings())
    assert (
        output
        == (
            "article;ean;description;price;vat_rate;unit;weighed;department\r\n"
            '100234;4006381333931;"Кофе в зёрнах ""Арабика Бразилия"", 250 г";649.00;20;piece;0;BAKALEYA\r\n'
            '100871;4600682000013;"Молоко ""Простоквашино"" 3,2 %";89.90;10;piece;0;MOLOKO\r\n'
            "417;2200417000008;Сыр Гауда 45 %, весовой;899.00;10;kg;1;SYR\r\n"
            "200781;4601234567893;Northwind Earl Grey tea, 100 bags;249.50;20;piece;0;CHAI\r\n"
        ).encode()
    )
    assert (tmp_path / "store_msk_01.csv").exists()


@pytest.mark.parametrize(
    "settings",
    [
        till_settings(),
        till_settings(is_for_people=True),
        till_settings(layout="fixed"),
        till_settings(encoding="ascii", price_in_minor_units=True),
        till_settings(layout="fixed", is_delta=True),
    ],
    ids=["csv", "csv_for_people", "fixed", "ascii_minor_units", "fixed_delta"],
)
def test_records_rendered_as_in_a_run_write_the_same_file(tmp_path: Path, settings: FeedSettings) -> None:
    feed = StorePosFeed()
    records = till_records()
    deletion = Record("100999", {}, is_deleted=True)
    items = [*records, deletion] if settings.is_delta else records

    rendered = rendered_as_in_a_run(feed, items, settings)

    assert all(item.fields == {} for item in rendered if not item.is_deleted)
    (tmp_path / "given").mkdir()
    (tmp_path / "rendered").mkdir()
    assert render(rendered, tmp_path / "rendered", settings) == render(items, tmp_path / "given", settings)


def test_csv_layout_takes_delimiter_header_and_line_ending_options(tmp_path: Path) -> None:
    output = render(till_records()[3:], tmp_path, till_settings(delimiter="\t", header=False, line_ending="lf"))
    assert output == b"200781\t4601234567893\tNorthwind Earl Grey tea, 100 bags\t249.50\t20\tpiece\t0\tCHAI\n"


def test_csv_layout_in_ascii_writes_cyrillic_in_latin_letters(tmp_path: Path) -> None:
    output = render(till_records()[2:3], tmp_path, till_settings(encoding="ascii", header=False))
    assert output == b"417;2200417000008;Syr Gauda 45 %, vesovoi;899.00;10;kg;1;SYR\r\n"


def test_fixed_layout_in_cp1251_keeps_cyrillic(tmp_path: Path) -> None:
    output = render(till_records(), tmp_path, till_settings(layout="fixed"))
    assert output == FIXED_CYRILLIC.encode("cp1251")
    assert output[26:30] == b"\xca\xee\xf4\xe5"  # "Кофе" in Windows-1251
    assert [len(line) for line in output.split(b"\r\n")[:-1]] == [97] * 4
    assert (tmp_path / "store_msk_01.txt").exists()


def test_fixed_layout_in_cp866_keeps_cyrillic(tmp_path: Path) -> None:
    output = render(till_records(), tmp_path, till_settings(layout="fixed", encoding="cp866"))
    assert output == FIXED_CYRILLIC.encode("cp866")
    assert output[26:30] == b"\x8a\xae\xe4\xa5"  # "Кофе" in DOS code page 866


@pytest.mark.parametrize("encoding", ["cp1251", "cp866"])
def test_fixed_layout_transliterates_when_asked(tmp_path: Path, encoding: str) -> None:
    output = render(till_records(), tmp_path, till_settings(layout="fixed", encoding=encoding, transliterate=True))
    assert output == FIXED_LATIN.encode("ascii")


def test_fixed_layout_in_ascii_transliterates_by_itself(tmp_path: Path) -> None:
    assert render(till_records(), tmp_path, till_settings(layout="fixed", encoding="ascii")) == FIXED_LATIN.encode("ascii")


def test_fixed_layout_takes_configured_columns(tmp_path: Path) -> None:
    columns = [
        {"field": "ean", "width": 13},
        {"field": "price", "width": 8, "pad": "0"},
        {"field": "description", "width": 20},
        {"field": "article", "width": 6, "align": "right", "pad": "0"},
    ]
    output = render(till_records(), tmp_path, till_settings(layout="fixed", columns=columns, price_in_minor_units=True, line_ending="lf"))
    assert output == (
        "4006381333931" + "00064900" + "Кофе в зёрнах" + " " * 7 + "100234\n"
        "4600682000013" + "00008990" + "Молоко" + " " * 14 + "100871\n"
        "2200417000008" + "00089900" + "Сыр Гауда 45 %" + " " * 6 + "000417\n"
        "4601234567893" + "00024950" + "Northwind Earl Grey" + " " + "200781\n"
    ).encode("cp1251")


def test_csv_headers_come_from_the_columns(tmp_path: Path) -> None:
    columns = [{"field": "article", "header": "Артикул"}, {"field": "price", "header": "Цена"}]
    output = render(till_records()[:1], tmp_path, till_settings(columns=columns, encoding="cp1251"))
    assert output == "Артикул;Цена\r\n100234;649.00\r\n".encode("cp1251")


def test_price_in_minor_units_is_a_whole_number_of_kopecks(tmp_path: Path) -> None:
    records = till_records()
    records.append(Record("300115", {**records[0].fields, "article": "300115", "price": rub("0.995")}))
    output = render(records, tmp_path, till_settings(price_in_minor_units=True, columns=[{"field": "article"}, {"field": "price"}], header=False))
    assert output == b"100234;64900\r\n100871;8990\r\n417;89900\r\n200781;24950\r\n300115;100\r\n"


def test_description_is_cut_at_a_word_boundary_to_the_tills_length(tmp_path: Path) -> None:
    output = render(till_records(), tmp_path, till_settings(description_length=20, columns=[{"field": "description"}], header=False))
    assert output.decode().split("\r\n") == ["Кофе в зёрнах", "Молоко", "Сыр Гауда 45 %", "Northwind Earl Grey", ""]


@pytest.mark.parametrize(
    ("text", "limit", "cut"),
    [
        ("Сыр Гауда 45 %, весовой", 40, "Сыр Гауда 45 %, весовой"),
        ("Сыр Гауда 45 %, весовой", 15, "Сыр Гауда 45 %"),
        ("Сыр Гауда 45 %, весовой", 16, "Сыр Гауда 45 %"),
        ("Сыр Гауда 45 %, весовой", 23, "Сыр Гауда 45 %, весовой"),
        ("Ультрапастеризованное молоко", 12, "Ультрапастер"),
        ("Молоко ультрапастеризованное", 20, "Молоко"),
        ("Молоко - ультрапастеризованное", 20, "Молоко"),
    ],
)
def test_cut_at_word_keeps_whole_words_unless_one_word_fills_the_limit(text: str, limit: int, cut: str) -> None:
    assert cut_at_word(text, limit) == cut


def test_weighed_item_without_ean_gets_an_in_store_ean13_with_check_digit() -> None:
    code = in_store_ean("22", "417")
    assert code[:2] == "22" and code[2:7] == "00417" and code[7:12] == "00000"
    assert int(code[12]) == gtin_check_digit(code[:12])
    assert gtin_problem(code, is_global=False) is None
    other = in_store_ean("25", "12345")
    assert other[:12] == "251234500000" and other[12:] == str(gtin_check_digit("251234500000"))


def test_weighed_prefix_option_sets_the_in_store_prefix(tmp_path: Path) -> None:
    output = render(till_records()[2:3], tmp_path, till_settings(weighed_prefix=25, header=False, columns=[{"field": "ean"}]))
    assert output == b"2500417000009\r\n"
    assert gtin_check_digit("250041700000") == 9


def test_weighed_item_with_a_scale_code_gets_its_in_store_ean_from_it(tmp_path: Path) -> None:
    record = till_records()[2]
    record.fields.update(article="GR-BUCKWHEAT-1", plu="1094")
    assert StorePosFeed().check(record, till_settings()) == []
    output = render([record], tmp_path, till_settings(header=False, columns=[{"field": "article"}, {"field": "ean"}]))
    assert output == f"GR-BUCKWHEAT-1;{in_store_ean('22', '01094')}\r\n".encode()
    record.fields["plu"] = "123456"
    assert [(p.field, p.code) for p in StorePosFeed().check(record, till_settings())] == [("plu", "invalid")]


@pytest.mark.parametrize("prefix", ["30", "19", "02", "2", "220", "2a", True])
def test_weighed_prefix_outside_20_to_29_is_refused(tmp_path: Path, prefix: Any) -> None:
    settings = till_settings(weighed_prefix=prefix)
    problems = StorePosFeed().check(till_records()[2], settings)
    assert [(problem.field, problem.code) for problem in problems] == [("weighed_prefix", "invalid_option")]
    assert "from 20 to 29" in problems[0].message
    with pytest.raises(OptionError, match="weighed_prefix must be two digits from 20 to 29"):
        render(till_records(), tmp_path, settings)


def test_ean_with_a_wrong_check_digit_is_refused() -> None:
    record = till_records()[1]
    record.fields["ean"] = "4600682000014"
    problems = StorePosFeed().check(record, till_settings())
    assert [(problem.field, problem.code, problem.message) for problem in problems] == [
        ("ean", "invalid_gtin", "ean 4600682000014 has a wrong check digit (expected 3)")
    ]


def test_in_store_ean_from_the_profile_is_accepted() -> None:
    record = till_records()[2]
    record.fields["ean"] = "2000123000008"
    assert StorePosFeed().check(record, till_settings()) == []


def test_delta_file_always_has_an_action_column_and_deletions_carry_the_article(tmp_path: Path) -> None:
    changed = till_records()[0]
    changed.fields["price"] = rub("599")
    deleted = Record("100871", {}, is_deleted=True)
    output = render([changed, deleted], tmp_path, till_settings(is_delta=True))
    assert (
        output
        == (
            "action;article;ean;description;price;vat_rate;unit;weighed;department\r\n"
            'U;100234;4006381333931;"Кофе в зёрнах ""Арабика Бразилия"", 250 г";599.00;20;piece;0;BAKALEYA\r\n'
            "D;100871;;;;;;;\r\n"
        ).encode()
    )


def test_fixed_delta_file_marks_a_deleted_item_with_d(tmp_path: Path) -> None:
    deleted = Record("100871", {}, is_deleted=True)
    output = render([till_records()[2], deleted], tmp_path, till_settings(layout="fixed", is_delta=True))
    lines = output.split(b"\r\n")
    assert lines[0] == b"U" + FIXED_CYRILLIC.split("\r\n")[2].encode("cp1251")
    assert lines[1:] == [b"D100871" + b" " * 91, b""]


def test_full_file_leaves_deleted_items_out_unless_the_profile_has_an_action_column(tmp_path: Path) -> None:
    records = [*till_records()[:1], Record("100871", {}, is_deleted=True)]
    assert render(records, tmp_path, till_settings(columns=[{"field": "article"}], header=False)) == b"100234\r\n"
    columns = [{"field": "article"}, {"field": "action", "header": "op"}]
    assert render(records, tmp_path, till_settings(columns=columns)) == b"article;op\r\n100234;U\r\n100871;D\r\n"


def test_machine_csv_keeps_cells_exact_and_one_for_people_neutralises_formulas(tmp_path: Path) -> None:
    record = till_records()[3]
    record.fields.update(description="-20% Earl Grey =SUM(A1)", department="@PROMO")
    columns = [{"field": "description"}, {"field": "department"}]
    machine = render([record], tmp_path, till_settings(columns=columns, header=False))
    people = render([record], tmp_path, till_settings(columns=columns, header=False, is_for_people=True))
    assert (machine, people) == (b"-20% Earl Grey =SUM(A1);@PROMO\r\n", b"'-20% Earl Grey =SUM(A1);'@PROMO\r\n")


def test_text_cells_lose_line_breaks_and_control_characters(tmp_path: Path) -> None:
    record = till_records()[3]
    record.fields["description"] = "Northwind\r\nEarl\tGrey\x07  tea"
    assert render([record], tmp_path, till_settings(columns=[{"field": "description"}], header=False)) == b"Northwind Earl Grey tea\r\n"


def test_value_longer_than_its_fixed_column_is_a_problem_not_cut(tmp_path: Path) -> None:
    record = till_records()[3]
    record.fields["article"] = "20078100012345"
    record.fields["department"] = "CHAI-KOFE-KAKAO"
    settings = till_settings(layout="fixed")
    assert [(p.field, p.code) for p in StorePosFeed().check(record, settings)] == [("article", "too_long"), ("department", "too_long")]
    feed = StorePosFeed()
    output = render([record, till_records()[0]], tmp_path, settings, feed)
    assert output == FIXED_CYRILLIC.split("\r\n")[0].encode("cp1251") + b"\r\n"
    assert [(key, problem.field, problem.code) for key, problem in feed.rejected] == [("200781", "article", "too_long")]


def test_csv_layout_has_no_width_limit() -> None:
    record = till_records()[3]
    record.fields["article"] = "20078100012345"
    assert StorePosFeed().check(record, till_settings()) == []


def test_deletion_whose_article_does_not_fit_is_rejected_not_cut(tmp_path: Path) -> None:
    feed = StorePosFeed()
    output = render([Record("SHOE-ALTA-WHT-42", {}, is_deleted=True)], tmp_path, till_settings(layout="fixed", is_delta=True), feed)
    assert output == b""
    assert [(key, problem.code) for key, problem in feed.rejected] == [("SHOE-ALTA-WHT-42", "too_long")]


REMOVE = object()


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"article": REMOVE}, "article", "required"),
        ({"article": "100 234"}, "article", "invalid"),
        ({"description": ""}, "description", "required"),
        ({"price": REMOVE}, "price", "required"),
        ({"price": "649.00"}, "price", "invalid"),
        ({"price": Money(Decimal("7.49"), "EUR")}, "price", "invalid"),
        ({"price": rub("-1")}, "price", "invalid"),
        ({"vat_rate": REMOVE}, "vat_rate", "required"),
        ({"vat_rate": "20%"}, "vat_rate", "invalid"),
        ({"vat_rate": 120}, "vat_rate", "invalid"),
        ({"unit": "шт"}, "unit", "not_allowed"),
        ({"weighed": "yes"}, "weighed", "invalid"),
        ({"ean": "46006820000"}, "ean", "invalid_gtin"),
        ({"ean": "46006820000AB"}, "ean", "invalid_gtin"),
        ({"weighed": True, "unit": "kg", "ean": REMOVE, "article": "100234"}, "article", "invalid"),
        ({"weighed": True, "unit": "kg", "ean": REMOVE, "article": "A417"}, "article", "invalid"),
        ({"weighed": True, "unit": "piece"}, "unit", "invalid"),
        ({"weighed": True, "unit": REMOVE}, "unit", "invalid"),
    ],
)
def test_record_breaking_a_till_rule_gets_one_problem_for_its_field(changes: dict[str, Any], field: str, code: str) -> None:
    record = till_records()[0]
    for name, value in changes.items():
        if value is REMOVE:
            record.fields.pop(name, None)
        else:
            record.fields[name] = value
    assert [(problem.field, problem.code) for problem in StorePosFeed().check(record, till_settings())] == [(field, code)]


def test_weighed_item_sold_by_the_litre_is_accepted() -> None:
    record = replace(till_records()[2], fields={**till_records()[2].fields, "unit": "l", "description": "Квас разливной"})
    assert StorePosFeed().check(record, till_settings()) == []


def test_vat_rate_must_be_one_the_till_knows_when_listed() -> None:
    settings = till_settings(vat_rates=[20, 10, 0])
    feed = StorePosFeed()
    record = till_records()[0]
    assert feed.check(record, settings) == []
    record.fields["vat_rate"] = Decimal("18")
    problems = feed.check(record, settings)
    assert [(p.field, p.code, p.message) for p in problems] == [("vat_rate", "not_allowed", "vat_rate 18 is not one the till knows (20, 10, 0)")]


@pytest.mark.parametrize(
    ("options", "option", "message"),
    [
        ({"layout": "xml"}, "layout", "layout must be csv or fixed"),
        ({"layout": "fixed", "encoding": "utf-8"}, "encoding", "single-byte encoding"),
        ({"encoding": "koi9"}, "encoding", "unknown text encoding"),
        ({"layout": "fixed", "columns": [{"field": "article"}]}, "columns", "column article needs a width"),
        ({"columns": [{"field": "barcode"}]}, "columns", "column field must be one of"),
        ({"columns": [{"field": "article"}, {"field": "article"}]}, "columns", "lists article more than once"),
        ({"columns": [{"field": "price", "pad": "*"}]}, "columns", "pad must be"),
        ({"delimiter": ";;"}, "delimiter", "one character"),
        ({"description_length": 0}, "description_length", "whole number"),
        ({"transliterate": "yes"}, "transliterate", "true or false"),
        ({"vat_rates": [20, "twenty"]}, "vat_rates", "percentages from 0 to 100"),
        ({"line_ending": "cr"}, "line_ending", "crlf or lf"),
    ],
)
def test_wrong_option_is_named_at_check_time_and_stops_the_writer(tmp_path: Path, options: dict[str, Any], option: str, message: str) -> None:
    settings = till_settings(**options)
    problems = StorePosFeed().check(till_records()[0], settings)
    assert [(problem.field, problem.code) for problem in problems] == [(option, "invalid_option")]
    assert message in problems[0].message
    with pytest.raises(OptionError, match=message):
        render(till_records(), tmp_path, settings)
