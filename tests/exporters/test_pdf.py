"""Shared PDF drawing: fonts and missing glyphs, fitted and wrapped text, EAN-13 symbols a scanner reads, page sizes."""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
import pytest
import reportlab
import zxingcpp
from PIL import Image
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from exporters.pdf import (
    NOMINAL_MODULE,
    QUIET_LEFT,
    as_ean13,
    check_ean13,
    draw_ean13,
    ean13_height,
    ean13_pattern,
    ean13_width,
    fit_lines,
    fit_text,
    glyphs,
    load_fonts,
    missing_characters,
    missing_glyph_problem,
    page_size,
    printable,
    text_width,
    wrap_text,
)

VERA = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
DPI = 300


@pytest.fixture(scope="module")
def fonts():
    return load_fonts({})


def render(pdf: bytes, page: int = 0) -> Image.Image:
    """Rasterise one page of a PDF at 300 dpi."""
    pixmap = pymupdf.open(stream=pdf, filetype="pdf")[page].get_pixmap(dpi=DPI)
    return Image.frombytes("RGB", (pixmap.width, pixmap.height), pixmap.samples)


def decode(image: Image.Image) -> list[tuple[str, str]]:
    # The page is rendered at print resolution; zxing's extra passes over downscaled copies
    # (about 2 px per module) can misread a sound symbol, so only the given resolution is read.
    return sorted((result.text, result.format.name) for result in zxingcpp.read_barcodes(image, try_downscale=False))


def symbol_pdf(code: str, module: float = NOMINAL_MODULE, bar_height: float = 15 * mm, font_name: str | None = None) -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(90 * mm, 50 * mm))
    draw_ean13(canvas, code, 5 * mm, 5 * mm, module=module, bar_height=bar_height, font_name=font_name)
    canvas.save()
    return out.getvalue()


# --- fonts and glyphs ----------------------------------------------------------------------


def test_default_fonts_cover_cyrillic_and_currency_signs(fonts) -> None:
    for font in (fonts.regular, fonts.bold):
        assert {ord(char) for char in "Кофе «Арабика» ₽€№ ёЁ"} <= glyphs(font)
        assert printable("Кофе «Арабика» — 1\u00a0299,00\u00a0₽, № 5, 12,50 €", font) == "Кофе «Арабика» — 1\u00a0299,00\u00a0₽, № 5, 12,50 €"


def test_characters_the_font_lacks_are_substituted_or_marked_visibly(fonts) -> None:
    # Source Sans Pro has no non-breaking hyphen, thin space, emoji or Chinese characters
    lacking = "\u2011\u2009😀中"
    assert not any(ord(char) in glyphs(fonts.regular) for char in lacking)
    assert printable("Wi\u2011Fi\u2009роутер 😀 中国", fonts.regular) == "Wi-Fi роутер ? ??"
    # typographic substitutes are no loss; the others are named for the report
    assert missing_characters("Wi\u2011Fi\u2009роутер 😀 中国 中", fonts.regular) == "😀中国"
    assert missing_characters("Кофе «Арабика» — 1\u00a0299,00\u00a0₽", fonts.regular) == ""
    problem = missing_glyph_problem(["Чай 中国", "Tea 😀"], fonts.regular)
    assert problem is not None and problem.code == "glyph_missing"
    assert "中 (U+4E2D)" in problem.message and "😀 (U+1F600)" in problem.message and "printed as ?" in problem.message
    assert missing_glyph_problem(["Чай", "Tea"], fonts.regular) is None


def test_controls_and_invisible_characters_never_reach_the_page(fonts) -> None:
    assert printable("Сыр\tГауда\nвесовой\x00\x07\u00ad\u200b", fonts.regular) == "Сыр Гауда весовой"


def test_a_profile_font_is_used_and_checked_for_its_own_glyphs() -> None:
    vera = load_fonts({"font": str(VERA)})
    assert vera.regular == vera.bold
    # Bitstream Vera has typographic quotes but no Cyrillic and no rouble sign
    assert printable("“Alta” sneaker – Кеды, 8 990 ₽", vera.regular) == "“Alta” sneaker – ????, 8 990 ?"
    assert missing_characters("“Alta” sneaker – Кеды, 8 990 ₽", vera.regular) == "Кеды₽"


def test_missing_font_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "fonts" / "Brand-Regular.ttf"
    with pytest.raises(ValueError, match=f"Font file {missing} does not exist"):
        load_fonts({"font": str(missing)})


def test_unreadable_font_file_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "Brand-Bold.ttf"
    broken.write_bytes(b"this is not a TrueType font")
    with pytest.raises(ValueError, match=f"Font file {broken} is not a TrueType font"):
        load_fonts({"font_bold": str(broken)})


# --- text fitting --------------------------------------------------------------------------


def test_fit_text_keeps_a_text_that_fits(fonts) -> None:
    assert fit_text("Кофе молотый", fonts.bold, 10, 200) == ("Кофе молотый", 10)


def test_fit_text_shrinks_a_text_down_to_fit(fonts) -> None:
    name = "Кофе в зёрнах «Арабика Бразилия», 250 г"
    natural = text_width(name, fonts.bold, 10)
    text, size = fit_text(name, fonts.bold, 10, natural * 0.8, min_size=6)
    assert text == name
    assert 7.5 <= size < 8.1
    assert text_width(text, fonts.bold, size) <= natural * 0.8


def test_fit_text_cuts_at_a_word_boundary_with_an_ellipsis_below_the_minimum_size(fonts) -> None:
    name = "Кофе в зёрнах «Арабика Бразилия», 250 г"
    text, size = fit_text(name, fonts.bold, 10, 60, min_size=8)
    assert size == 8
    assert text.endswith("…")
    assert text_width(text, fonts.bold, size) <= 60
    head = text[:-1]
    assert name.startswith(head) and name[len(head)] == " "


def test_fit_text_cuts_a_single_long_word_by_characters(fonts) -> None:
    text, size = fit_text("SHOE-ALTA-WHT-42-LIMITED-EDITION", fonts.regular, 8, 40, min_size=8)
    assert text.endswith("…") and text.startswith("SHOE")
    assert text_width(text, fonts.regular, 8) <= 40


def test_wrap_text_fills_lines_and_marks_the_cut(fonts) -> None:
    description = "Обжарка средняя, 100\u00a0% арабика. Вкус: орех, шоколад; кислотность 3 из 5. Подходит для эспрессо и фильтра."
    lines = wrap_text(description, fonts.regular, 8, 90, 3)
    assert len(lines) == 3
    assert all(text_width(line, fonts.regular, 8) <= 90 for line in lines)
    assert lines[-1].endswith("…")
    assert " ".join(lines).startswith("Обжарка средняя, 100\u00a0% арабика.")


def test_wrap_text_never_breaks_at_a_non_breaking_space(fonts) -> None:
    width = text_width("Цена 1\u00a0299,00", fonts.regular, 10)
    lines = wrap_text("Цена 1\u00a0299,00\u00a0₽ за упаковку", fonts.regular, 10, width, 5)
    assert lines[0] == "Цена"
    assert "1\u00a0299,00\u00a0₽" in "\n".join(lines)


def test_fit_lines_prefers_two_full_lines_to_a_cut(fonts) -> None:
    name = "Northwind Alta leather sneaker, white, 42"
    lines, size = fit_lines(name, fonts.bold, 10, 110, 2, min_size=6)
    assert " ".join(lines) == name
    assert len(lines) == 2
    assert all(text_width(line, fonts.bold, size) <= 110 for line in lines)


# --- EAN-13 --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["4006381333932", "4600682000010", "2000000000001"])
def test_wrong_check_digit_is_refused(code: str, fonts) -> None:
    with pytest.raises(ValueError, match="wrong check digit"):
        check_ean13(code)
    canvas = Canvas(io.BytesIO())
    with pytest.raises(ValueError, match="wrong check digit"):
        draw_ean13(canvas, code, 0, 0, font_name=fonts.regular)


@pytest.mark.parametrize("code", ["400638133393", "40063813339310", "4006381333 931", "４００６３８１３３３９３１"])
def test_anything_but_thirteen_ascii_digits_is_refused(code: str) -> None:
    with pytest.raises(ValueError, match="exactly 13 digits"):
        check_ean13(code)


@pytest.mark.parametrize("magnification", [0.7, 2.1])
def test_magnification_outside_gs1_range_is_refused(magnification: float) -> None:
    with pytest.raises(ValueError, match="80 % to 200 %"):
        draw_ean13(Canvas(io.BytesIO()), "4006381333931", 0, 0, module=NOMINAL_MODULE * magnification)


def test_pattern_has_95_modules_with_guards() -> None:
    pattern = ean13_pattern("4600682000013")
    assert len(pattern) == 95
    assert (pattern[:3], pattern[45:50], pattern[-3:]) == ("101", "01010", "101")


@pytest.mark.parametrize(
    ("code", "magnification"),
    [("4006381333931", 1.0), ("4600682000013", 0.8), ("4600682000013", 2.0), ("2000000000008", 1.0), ("0012345678905", 1.0)],
)
def test_symbol_is_read_by_a_scanner(code: str, magnification: float, fonts) -> None:
    pdf = symbol_pdf(code, NOMINAL_MODULE * magnification, bar_height=12 * mm, font_name=fonts.regular)
    assert decode(render(pdf)) == [(code, "EAN13")]


def test_symbol_size_follows_the_module() -> None:
    assert ean13_width() == pytest.approx(37.29 * mm)
    assert ean13_width(NOMINAL_MODULE * 0.8) == pytest.approx(29.832 * mm)
    assert ean13_height(NOMINAL_MODULE, 22.85 * mm) == pytest.approx((22.85 + 7 * 0.33) * mm)


def test_left_quiet_zone_is_painted_clear_of_earlier_drawing(fonts) -> None:
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(90 * mm, 50 * mm))
    canvas.setFillColorRGB(0.2, 0.2, 0.2)
    canvas.rect(0, 0, 90 * mm, 50 * mm, stroke=0, fill=1)
    draw_ean13(canvas, "4006381333931", 10 * mm, 10 * mm, bar_height=15 * mm)
    canvas.save()
    image = render(out.getvalue()).convert("L")
    px = DPI / 25.4
    top = image.height - round(10 * mm / 72 * DPI)
    band = range(round(top - 14 * px), round(top - 3 * px))
    quiet = range(round(10 * px) + 2, round(10 * px + QUIET_LEFT * 0.33 * px) - 2)
    assert min(image.getpixel((x, y)) for x in quiet for y in band) > 240
    assert decode(image.convert("RGB")) == [("4006381333931", "EAN13")]


@pytest.mark.parametrize(
    ("gtin", "ean13"),
    [("4006381333931", "4006381333931"), ("012345678905", "0012345678905"), ("04600682000013", "4600682000013"), ("96385074", None), ("14600682000010", None)],
)
def test_gtins_that_an_ean13_symbol_can_carry(gtin: str, ean13: str | None) -> None:
    assert as_ean13(gtin) == ean13


# --- page sizes ----------------------------------------------------------------------------


def test_page_sizes_by_name() -> None:
    assert page_size("A4") == pytest.approx((210 * mm, 297 * mm), abs=0.01)
    assert page_size("letter") == (612, 792)
    with pytest.raises(ValueError, match="Unknown page size 'A5'; use A4 or Letter"):
        page_size("A5")
