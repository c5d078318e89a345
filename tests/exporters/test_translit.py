"""Transliteration (ICAO Doc 9303) and text made to fit legacy till encodings."""

from __future__ import annotations

import pytest

from exporters.translit import REPLACEMENT, encoding_name, holds_cyrillic, make_encodable, plain_punctuation, transliterate


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        ("Щука", "Shchuka"),
        ("ЩУКА", "SHCHUKA"),
        ("щука", "shchuka"),
        ("Жёлудь", "Zhelud"),
        ("Юлия Хорошева", "Iuliia Khorosheva"),
        ("ЮЛИЯ ХОРОШЕВА", "IULIIA KHOROSHEVA"),
        ("Подъезд", "Podieezd"),
        ("Цыплёнок табака", "Tsyplenok tabaka"),
        ("Чай «Майский»", "Chai «Maiskii»"),
        ("Эклер", "Ekler"),
        ("Я", "Ia"),
        ("ООО «ЯХОНТ»", "OOO «IAKHONT»"),
        ("Київ, Ґанок, Єва", "Kiiv, Ganok, Ieva"),
        ("Ўсход", "Uskhod"),
    ],
)
def test_transliterate_follows_icao_doc_9303_and_keeps_the_words_case(cyrillic: str, latin: str) -> None:
    assert transliterate(cyrillic) == latin


def test_capital_at_the_end_of_a_word_in_capitals_stays_in_capitals() -> None:
    assert transliterate("БОРЩ и Борщ") == "BORSHCH i Borshch"


def test_latin_digits_and_punctuation_are_left_alone() -> None:
    text = "Northwind Earl Grey, 100 bags (2 x 50 g) - 20% off! <b>&amp;</b> #42 @shop"
    assert transliterate(text) == text
    assert transliterate("Сок J7, 0,97 л; 3 шт.") == "Sok J7, 0,97 l; 3 sht."


def test_plain_punctuation_turns_typographic_quotes_dashes_and_spaces_into_ascii() -> None:
    assert plain_punctuation("«Арабика» — „Bio“ ‘Lite’ – 1\u00a0299\u202f₽… 10\u2009%\u00ad") == '"Арабика" - "Bio" \'Lite\' - 1 299 ₽... 10 %'


@pytest.mark.parametrize(("encoding", "holds"), [("cp1251", True), ("cp866", True), ("utf-8", True), ("ascii", False), ("latin-1", False)])
def test_holds_cyrillic_tells_which_encodings_have_russian_letters(encoding: str, holds: bool) -> None:
    assert holds_cyrillic(encoding) is holds


def test_encoding_name_accepts_aliases_and_names_an_unknown_encoding() -> None:
    assert encoding_name("windows-1251") == "cp1251"
    assert encoding_name("IBM866") == "cp866"
    with pytest.raises(ValueError, match="unknown text encoding 'koi9'"):
        encoding_name("koi9")


def test_make_encodable_keeps_cyrillic_where_the_encoding_holds_it() -> None:
    text = "Кофе «Арабика» — 250\u00a0г"
    assert make_encodable(text, "cp1251") == 'Кофе "Арабика" - 250 г'
    assert make_encodable(text, "cp866") == 'Кофе "Арабика" - 250 г'


def test_make_encodable_transliterates_when_asked() -> None:
    assert make_encodable("Сыр «Гауда» 45 %", "cp1251", is_latin_only=True) == 'Syr "Gauda" 45 %'


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_make_encodable_transliterates_for_an_encoding_without_cyrillic(encoding: str) -> None:
    assert make_encodable("Щука филе, охл. № 3", encoding) == "Shchuka file, okhl. No 3"


def test_make_encodable_replaces_what_nothing_else_can_spell() -> None:
    text = "Crème brûlée 😀 € ½"
    assert make_encodable(text, "ascii") == f"Creme brulee {REPLACEMENT} EUR {REPLACEMENT}"
    assert make_encodable(text, "latin-1") == f"Crème brûlée {REPLACEMENT} EUR ½"


def test_make_encodable_spells_a_letter_missing_from_the_code_page_in_latin() -> None:
    # cp866 has the Russian alphabet but not the Ukrainian Ґ
    assert make_encodable("Ґанок", "cp866") == "Gанок"


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "cp1251", "cp866", "cp1252"])
def test_make_encodable_always_gives_text_the_encoding_holds(encoding: str) -> None:
    text = "«Ёжик» — Straße ½ kg № 7 ™ 😀 \u2028 Ґ ў ї ℃ 漢字"
    make_encodable(text, encoding).encode(encoding)
