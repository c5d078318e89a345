"""Numbers and prices written the way people of a locale read them: `1 299,00 ₽`, `€1,299.00`.

Printed pages, shelf labels and designers' data-merge files show prices to people, so they use
the locale's grouping, decimal mark and currency sign (from the CLDR data that Babel ships);
machine feeds keep `Money.text()` with a dot and no grouping.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, format_decimal

from exporters.base import Money


@lru_cache(maxsize=64)
def babel_locale(code: str) -> Locale:
    """Return Babel's locale for one of ours ("ru_RU"); English when Babel does not know it."""
    try:
        return Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_US")


def format_money(money: Money, locale: str, *, places: int = 2) -> str:
    """Return a price as the locale writes it, with its currency sign: "1 299,00 ₽"."""
    pattern = None if places == 2 else _pattern_with_places(locale, places)
    return format_currency(money.amount, money.currency, format=pattern, locale=babel_locale(locale), currency_digits=places == 2)


def format_quantity(number: Decimal | int, locale: str, *, places: int | None = None) -> str:
    """Return a number as the locale writes it; `places` fixes the decimals ("0,75")."""
    if places is None:
        return format_decimal(number, locale=babel_locale(locale))
    pattern = "#,##0." + "0" * places if places else "#,##0"
    return format_decimal(number, format=pattern, locale=babel_locale(locale), decimal_quantization=True)


def _pattern_with_places(locale: str, places: int) -> str:
    pattern = babel_locale(locale).currency_formats["standard"].pattern.split(";")[0]
    decimals = "." + "0" * places if places else ""
    integer, _, rest = pattern.partition("0.00")
    return integer + "0" + decimals + rest if rest or integer else pattern
