"""Text that a till or a legacy file encoding can hold: Cyrillic in Latin letters, plain punctuation.

Transliteration follows ICAO Doc 9303 (Machine Readable Travel Documents, Part 3), the system
Russian international passports use under FMS order No. 320 of 15 October 2012:
Щ -> SHCH, Ж -> ZH, Х -> KH, Ц -> TS, Ю -> IU, Я -> IA, Ъ -> IE, Й -> I, Ё -> E, and Ь is
dropped. The Ukrainian and Belarusian letters of the same table are covered too (Є -> IE,
І and Ї -> I, Ґ -> G, Ў -> U); other letters of those languages get their Russian value, as
the text's language is not known. Latin letters, digits and punctuation are left alone.

`make_encodable` is what a till file needs: typographic quotes, dashes and special spaces
become their ASCII forms, Cyrillic is transliterated when asked or when the encoding has no
Cyrillic letters, and any character the encoding still cannot hold becomes its Latin letters
(Ukrainian "Ґ" in cp866), a short spelling ("№" -> "No"), its accent-free form ("é" -> "e")
or, failing all of these, `REPLACEMENT` ("?", the substitution character the
Windows and DOS code pages use themselves), so writing the file never fails.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from functools import lru_cache

# The ICAO Doc 9303 values, for lower-case letters; capitals are derived (see `transliterate`).
_ICAO = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "e",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ъ": "ie",
    "ы": "y",
    "ь": "",
    "э": "e",
    "ю": "iu",
    "я": "ia",
    # Ukrainian and Belarusian letters of the same table
    "є": "ie",
    "і": "i",
    "ї": "i",
    "ґ": "g",
    "ў": "u",
}

# Typographic punctuation and spaces and their ASCII forms; the empty ones are invisible.
_PUNCTUATION = str.maketrans(
    {
        **dict.fromkeys("«»„“”‟″〝〞", '"'),
        **dict.fromkeys("‘’‚‛′ʼ", "'"),
        **dict.fromkeys("‐‑‒–—―−", "-"),
        **dict.fromkeys("\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "),
        **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", ""),
        "…": "...",
    }
)

_PUNCTUATION_FOUND = re.compile("[" + re.escape("".join(chr(code) for code in _PUNCTUATION)) + "]")

# Signs that have a short ASCII spelling, used only when the encoding cannot hold them.
_ASCII_SPELLING = {"№": "No", "€": "EUR", "₽": "RUB", "×": "x", "™": "TM", "©": "(c)", "®": "(R)"}

REPLACEMENT = "?"


def transliterate(text: str) -> str:
    """Return the text with Cyrillic letters in Latin ones (ICAO Doc 9303); case follows the word.

    A capital that becomes several letters is written in capitals inside a word in capitals
    ("ЩУКА" -> "SHCHUKA") and as a capital and small letters otherwise ("Щука" -> "Shchuka").
    """
    if not any("\u0400" <= char <= "\u04ff" for char in text):
        return text
    parts: list[str] = []
    last = len(text) - 1
    for index, char in enumerate(text):
        lower = char.lower()
        latin = _ICAO.get(lower)
        if latin is None:
            parts.append(char)
        elif char == lower:
            parts.append(latin)
        elif len(latin) < 2 or _is_in_capitals(text, index, last):
            parts.append(latin.upper())
        else:
            parts.append(latin.capitalize())
    return "".join(parts)


def _is_in_capitals(text: str, index: int, last: int) -> bool:
    """Tell whether the capital at `index` stands in a word written in capitals."""
    following = text[index + 1] if index < last else ""
    if following.isalpha():
        return following.isupper()
    preceding = text[index - 1] if index > 0 else ""
    return preceding.isalpha() and preceding.isupper()


def plain_punctuation(text: str) -> str:
    """Return the text with typographic quotes, dashes, ellipses and special spaces in ASCII."""
    # most texts hold none of them: finding that out is much cheaper than translating
    if text.isascii() or _PUNCTUATION_FOUND.search(text) is None:
        return text
    return text.translate(_PUNCTUATION)


def encoding_name(encoding: str) -> str:
    """Return Python's name of an encoding ("windows-1251" -> "cp1251"); ValueError names an unknown one."""
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise ValueError(f"unknown text encoding {encoding!r}; use for example utf-8, cp1251, cp866, ascii or latin-1") from None


@lru_cache(maxsize=32)
def holds_cyrillic(encoding: str) -> bool:
    """Tell whether an encoding can hold the Russian alphabet."""
    try:
        "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя".encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def make_encodable(text: str, encoding: str, *, is_latin_only: bool = False) -> str:
    """Return text that `encoding` can hold, as close to the original as the encoding allows.

    Punctuation becomes ASCII; Cyrillic is transliterated with `is_latin_only` or when
    the encoding has no Cyrillic letters; a character that still does not fit becomes its
    Latin letters, a short ASCII spelling ("№" -> "No"), its accent-free form or `REPLACEMENT`.
    """
    text = plain_punctuation(text)
    if is_latin_only or not holds_cyrillic(encoding):
        text = transliterate(text)
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return "".join(_encodable_char(char, encoding) for char in text)
    return text


def _encodable_char(char: str, encoding: str) -> str:
    # a Cyrillic letter outside the code page (Ukrainian Ґ in cp866) still reads best in Latin letters
    for candidate in (char, transliterate(char), _ASCII_SPELLING.get(char, ""), _without_accents(char)):
        if candidate and _fits(candidate, encoding):
            return candidate
    return REPLACEMENT


def _without_accents(char: str) -> str:
    return "".join(part for part in unicodedata.normalize("NFKD", char) if not unicodedata.combining(part))


def _fits(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True
