"""Product values: validation and normalisation per attribute type, and the document shapes.

Values are stored as one JSON document per product in Akeneo's raw shape,
`{attribute: {channel or "<all_channels>": {locale or "<all_locales>": data}}}`, and exchanged
in Akeneo's standard shape, `{attribute: [{"locale": ..., "scope": ..., "data": ...}]}`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from pim.errors import ErrorCode, FieldError
from pim.structure.models import AttributeType
from pim.structure.snapshot import ALL_CHANNELS, ALL_LOCALES, AttributeInfo, Structure

TEXT_DEFAULT_MAX = 255
TEXTAREA_DEFAULT_MAX = 65535


class ValueError_(Exception):
    """A value broke a rule of its attribute (internal; turned into a FieldError)."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class ValueContext:
    """Options of one write that change how values are read."""

    structure: Structure
    decimal_separator: str = "."
    media_keys: set[str] = field(default_factory=set)


def value_key(attribute: str, locale: str | None, scope: str | None) -> str:
    """Return the flat key of one value, as used in history: attribute|locale|channel."""
    return f"{attribute}|{locale or ''}|{scope or ''}"


def split_key(key: str) -> tuple[str, str | None, str | None]:
    """Split a flat value key back into attribute, locale and channel."""
    attribute, locale, scope = key.split("|")
    return attribute, locale or None, scope or None


def field_path(attribute: str, locale: str | None, scope: str | None) -> str:
    """Return the dotted error path of a value: values.attribute[.locale][.channel]."""
    parts = ["values", attribute]
    if locale:
        parts.append(locale)
    if scope:
        parts.append(scope)
    return ".".join(parts)


def flatten(raw: dict[str, Any]) -> dict[str, Any]:
    """Flatten a raw values document to {attribute|locale|channel: data}."""
    flat = {}
    for attribute, by_scope in raw.items():
        for scope, by_locale in by_scope.items():
            for locale, data in by_locale.items():
                flat[f"{attribute}|{'' if locale == ALL_LOCALES else locale}|{'' if scope == ALL_CHANNELS else scope}"] = data
    return flat


def iter_values(raw: dict[str, Any]) -> Iterator[tuple[str, str | None, str | None, Any]]:
    """Yield (attribute, locale, channel, data) for every value of a raw document."""
    for attribute, by_scope in raw.items():
        for scope, by_locale in by_scope.items():
            for locale, data in by_locale.items():
                yield (
                    attribute,
                    None if locale == ALL_LOCALES else locale,
                    None if scope == ALL_CHANNELS else scope,
                    data,
                )


def to_standard(raw: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Return a raw values document in Akeneo's standard format."""
    standard: dict[str, list[dict[str, Any]]] = {}
    for attribute, locale, scope, data in iter_values(raw):
        standard.setdefault(attribute, []).append({"locale": locale, "scope": scope, "data": data})
    return standard


def get_value(raw: dict[str, Any], attribute: str, locale: str | None = None, scope: str | None = None) -> Any:
    """Return one value's data from a raw document, or None."""
    return raw.get(attribute, {}).get(scope or ALL_CHANNELS, {}).get(locale or ALL_LOCALES)


def set_value(raw: dict[str, Any], attribute: str, locale: str | None, scope: str | None, data: Any) -> None:
    """Set (or, with None, remove) one value in a raw document, in place."""
    scope_key = scope or ALL_CHANNELS
    locale_key = locale or ALL_LOCALES
    if data is None:
        by_scope = raw.get(attribute)
        if by_scope is None:
            return
        by_locale = by_scope.get(scope_key)
        if by_locale is None:
            return
        by_locale.pop(locale_key, None)
        if not by_locale:
            del by_scope[scope_key]
        if not by_scope:
            del raw[attribute]
        return
    raw.setdefault(attribute, {}).setdefault(scope_key, {})[locale_key] = data


def copy_raw(raw: dict[str, Any]) -> dict[str, Any]:
    """Copy a raw document deeply enough to edit values without touching the original."""
    return {a: {s: dict(by_locale) for s, by_locale in by_scope.items()} for a, by_scope in raw.items()}


# --- normalisation per type -------------------------------------------------------------


def parse_decimal(value: Any, attribute: AttributeInfo, separator: str = ".") -> Decimal:
    """Read a number given as a JSON number or a decimal string; a comma only if asked for."""
    if isinstance(value, bool):
        raise ValueError_(f"expects a number, got {value!r}", ErrorCode.INVALID_TYPE)
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError_(f"expects a finite number, got {value!r}", ErrorCode.INVALID_TYPE)
        number = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if separator != ".":
            text = text.replace("\u00a0", "").replace(" ", "").replace(separator, ".")
        digits = text.lstrip("+-").replace(".", "", 1)
        if not (digits.isdigit() and digits.isascii() and len(text) - len(text.lstrip("+-")) <= 1):
            hint = " (use a dot as decimal separator)" if "," in text and separator == "." else ""
            raise ValueError_(f"expects a number, got {value!r}{hint}", ErrorCode.INVALID_TYPE)
        try:
            number = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError_(f"expects a number, got {value!r}", ErrorCode.INVALID_TYPE) from exc
    else:
        raise ValueError_(f"expects a number, got {value!r}", ErrorCode.INVALID_TYPE)
    if not attribute.is_decimals_allowed and number != number.to_integral_value():
        raise ValueError_(f"does not allow decimals, got {value!r}", ErrorCode.DECIMALS)
    if not attribute.is_negative_allowed and number < 0:
        raise ValueError_(f"does not allow negative numbers, got {value!r}", ErrorCode.NEGATIVE)
    return number


def format_decimal(number: Decimal) -> str:
    """Return a decimal as a plain string without exponent or needless zeros."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


_CENT = Decimal("0.01")
# A price amount as stored: no sign, no leading zero, two decimals.
_CANONICAL_AMOUNT = re.compile(r"(?:0|[1-9][0-9]{0,14})\.[0-9]{2}")


def format_amount(number: Decimal) -> str:
    """Return a price amount with at least two decimals ("12.50")."""
    try:
        cents = number.quantize(_CENT)
    except InvalidOperation:
        return format_decimal(number)
    return str(cents) if cents == number else format_decimal(number)


def _text(attribute: AttributeInfo, data: Any, ctx: ValueContext) -> str:
    if not isinstance(data, str):
        raise ValueError_(f"expects a text, got {type(data).__name__} {data!r}", ErrorCode.INVALID_TYPE)
    is_textarea = attribute.type is AttributeType.TEXTAREA
    if not is_textarea and ("\n" in data or "\r" in data):
        raise ValueError_("expects a single line of text", ErrorCode.INVALID_FORMAT)
    limit = attribute.max_characters or (TEXTAREA_DEFAULT_MAX if is_textarea else TEXT_DEFAULT_MAX)
    if len(data) > limit:
        raise ValueError_(f"is limited to {limit} characters, got {len(data)}", ErrorCode.TOO_LONG)
    if attribute.validation_regexp and data and not _regexp(attribute.validation_regexp).search(data):
        raise ValueError_(f"does not match the pattern {attribute.validation_regexp}: {data!r}", ErrorCode.PATTERN)
    return data


@lru_cache(maxsize=256)
def _regexp(pattern: str) -> re.Pattern[str]:
    # Akeneo stores patterns with PHP delimiters (/^\d+$/); accept both forms.
    if len(pattern) > 2 and pattern[0] == "/" and pattern.rfind("/") > 0:
        end = pattern.rfind("/")
        flags = re.IGNORECASE if "i" in pattern[end + 1 :] else 0
        return re.compile(pattern[1:end], flags)
    return re.compile(pattern)


def _check_range(attribute: AttributeInfo, number: Decimal, data: Any) -> None:
    if attribute.number_min is not None and number < attribute.number_min:
        raise ValueError_(f"must be at least {format_decimal(attribute.number_min)}, got {data!r}", ErrorCode.OUT_OF_RANGE)
    if attribute.number_max is not None and number > attribute.number_max:
        raise ValueError_(f"must be at most {format_decimal(attribute.number_max)}, got {data!r}", ErrorCode.OUT_OF_RANGE)


def _number(attribute: AttributeInfo, data: Any, ctx: ValueContext) -> str:
    number = parse_decimal(data, attribute, ctx.decimal_separator)
    _check_range(attribute, number, data)
    return format_decimal(number)


def _metric(attribute: AttributeInfo, data: Any, ctx: ValueContext) -> dict[str, str]:
    if not isinstance(data, dict) or "amount" not in data:
        raise ValueError_('expects {"amount": number, "unit": unit code}', ErrorCode.INVALID_TYPE)
    measurement = ctx.structure.measurements.get(attribute.metric_family or "")
    if measurement is None:
        raise ValueError_(f"has an unknown measurement family {attribute.metric_family!r}", ErrorCode.UNKNOWN_UNIT)
    unit_code = data.get("unit") or attribute.default_metric_unit
    unit = measurement.units.get(unit_code or "")
    if unit is None:
        known = ", ".join(sorted(measurement.units))
        raise ValueError_(f"expects a unit of {measurement.code} ({known}), got {unit_code!r}", ErrorCode.UNKNOWN_UNIT)
    amount = parse_decimal(data["amount"], attribute, ctx.decimal_separator)
    _check_range(attribute, amount, data["amount"])
    base = amount * unit.factor + unit.offset
    return {
        "amount": format_decimal(amount),
        "unit": unit.code,
        "base_data": format_decimal(base),
        "base_unit": measurement.standard_unit,
    }


def _prices(attribute: AttributeInfo, data: Any, ctx: ValueContext) -> list[dict[str, str]]:
    if not isinstance(data, list):
        raise ValueError_('expects a list of {"amount": number, "currency": code}', ErrorCode.INVALID_TYPE)
    prices: dict[str, str] = {}
    fast = attribute.is_decimals_allowed and attribute.number_min is None and attribute.number_max is None
    for item in data:
        if not isinstance(item, dict) or "currency" not in item:
            raise ValueError_('expects a list of {"amount": number, "currency": code}', ErrorCode.INVALID_TYPE)
        currency = item["currency"]
        if currency not in ctx.structure.currencies:
            raise ValueError_(f"uses currency {currency!r}, which is not enabled", ErrorCode.UNKNOWN_CURRENCY)
        if currency in prices:
            raise ValueError_(f"has two prices in {currency}", ErrorCode.DUPLICATE)
        given = item.get("amount")
        if given in (None, ""):
            continue
        if fast and isinstance(given, str) and _CANONICAL_AMOUNT.fullmatch(given):
            # already what we store ("12.50"): nothing to parse
            prices[currency] = given
            continue
        amount = parse_decimal(given, attribute, ctx.decimal_separator)
        if amount < 0:
            raise ValueError_(f"does not allow a negative price, got {given!r}", ErrorCode.NEGATIVE)
        _check_range(attribute, amount, given)
        prices[currency] = format_amount(amount)
    return [{"amount": prices[c], "currency": c} for c in sorted(prices)]


def _boolean(attribute: AttributeInfo, data: Any, ctx: ValueContext) -> bool:
    if not isinstance(data, bool):
        raise ValueError_(f"expects true or false, got {data!r}", ErrorCode.INVALID_TYPE)
    return data


def _date(attribute: AttributeInfo, data: Any, ctx: ValueContext) -> str:
    if not isinstance(data, str):
        raise ValueError_(f"expects a date as YYYY-MM-DD, got {data!r}", ErrorCode.INVALID_TYPE)
    text = data.strip()
    try:
        day = (dt.datetime.fromisoformat(text).date() if len(text) > 10 else dt.date.fromisoformat(text)).isoformat()
    except ValueError as exc:
        raise ValueError_(f"expects a date as YYYY-MM-DD, got {data!r}", ErrorCode.INVALID_FORMAT) from exc
    if attribute.date_min and day < attribute.date_min:
        raise ValueError_(f"must be on or after {attribute.date_min}, got {day}", ErrorCode.OUT_OF_RANGE)
    if attribute.date_max and day > attribute.date_max:
        raise ValueError_(f"must be on or before {attribute.date_max}, got {day}", ErrorCode.OUT_OF_RANGE)
    return day


def _option(attribute: AttributeInfo, code: Any) -> str:
    if not isinstance(code, str):
        raise ValueError_(f"expects an option code, got {code!r}", ErrorCode.INVALID_TYPE)
    if code not in attribute.options:
        raise ValueError_(f"has no option {code!r}", ErrorCode.UNKNOWN_OPTION)
    return code


def _simple_select(attribute: AttributeInfo, data: Any, ctx: ValueContext) -> str:
    return _option(attribute, data)


def _multi_select(attribute: AttributeInfo, data: Any, ctx: ValueContext) -> list[str]:
    if not isinstance(data, list):
        raise ValueError_(f"expects a list of option codes, got {data!r}", ErrorCode.INVALID_TYPE)
    seen: dict[str, None] = {}
    for code in data:
        seen[_option(attribute, code)] = None
    return list(seen)


def _media(attribute: AttributeInfo, data: Any, ctx: ValueContext) -> str:
    if not isinstance(data, str) or not data:
        raise ValueError_(f"expects a media file key, got {data!r}", ErrorCode.INVALID_TYPE)
    extension = data.rsplit(".", 1)[-1].lower() if "." in data else ""
    if attribute.allowed_extensions and extension not in attribute.allowed_extensions:
        allowed = ", ".join(sorted(attribute.allowed_extensions))
        raise ValueError_(f"accepts files of type {allowed}, got .{extension}", ErrorCode.FILE)
    ctx.media_keys.add(data)
    return data


def _identifier(attribute: AttributeInfo, data: Any, ctx: ValueContext) -> str:
    return _text(attribute, data, ctx)


NORMALIZERS: dict[AttributeType, Callable[[AttributeInfo, Any, ValueContext], Any]] = {
    AttributeType.IDENTIFIER: _identifier,
    AttributeType.TEXT: _text,
    AttributeType.TEXTAREA: _text,
    AttributeType.NUMBER: _number,
    AttributeType.METRIC: _metric,
    AttributeType.PRICE_COLLECTION: _prices,
    AttributeType.BOOLEAN: _boolean,
    AttributeType.DATE: _date,
    AttributeType.SIMPLE_SELECT: _simple_select,
    AttributeType.MULTI_SELECT: _multi_select,
    AttributeType.IMAGE: _media,
    AttributeType.FILE: _media,
}


def is_empty(data: Any) -> bool:
    """Tell whether data means "no value" (null, empty text or empty list)."""
    return data is None or data == "" or data == []


def apply_values(
    raw: dict[str, Any],
    standard: Any,
    ctx: ValueContext,
    *,
    allowed: frozenset[str] | None,
    level_name: str = "family",
) -> list[FieldError]:
    """Merge standard-format values into a raw document in place; return every broken rule.

    Each (attribute, locale, channel) triple given replaces the stored one, an empty `data`
    removes it, and triples not given stay as they are (Akeneo's PATCH rules). `allowed` is the
    set of attributes the product may hold at its level (None: any attribute).
    """
    errors: list[FieldError] = []
    if not isinstance(standard, dict):
        return [FieldError("values", "expects an object of attribute codes to lists of values", ErrorCode.INVALID_TYPE)]
    structure = ctx.structure
    checked = structure.checked_dimensions
    for code, entries in standard.items():
        attribute = structure.attributes.get(code)
        if attribute is None:
            errors.append(FieldError(f"values.{code}", f"Attribute {code!r} does not exist", ErrorCode.UNKNOWN))
            continue
        if attribute.type is AttributeType.IDENTIFIER:
            # The identifier is a product field; a value here is a copy kept for Akeneo files.
            continue
        if allowed is not None and code not in allowed:
            errors.append(
                FieldError(
                    f"values.{code}",
                    f"Attribute {code!r} is not part of the {level_name}",
                    ErrorCode.NOT_IN_FAMILY if level_name == "family" else ErrorCode.NOT_AT_LEVEL,
                )
            )
            continue
        if not isinstance(entries, list):
            errors.append(FieldError(f"values.{code}", 'expects a list of {"locale", "scope", "data"}', ErrorCode.INVALID_TYPE))
            continue
        for entry in entries:
            if not isinstance(entry, dict) or "data" not in entry:
                errors.append(FieldError(f"values.{code}", 'expects a list of {"locale", "scope", "data"}', ErrorCode.INVALID_TYPE))
                continue
            locale, scope = entry.get("locale"), entry.get("scope")
            if (code, locale, scope) not in checked:
                problem = _check_dimensions(attribute, locale, scope, structure)
                if problem is not None:
                    errors.append(FieldError(field_path(code, locale, scope), f"Attribute {code!r} {problem[0]}", problem[1]))
                    continue
                if isinstance(locale, (str, type(None))) and isinstance(scope, (str, type(None))):
                    checked.add((code, locale, scope))
            data = entry["data"]
            if is_empty(data):
                set_value(raw, code, locale, scope, None)
                continue
            try:
                normalized = NORMALIZERS[attribute.type](attribute, data, ctx)
            except ValueError_ as exc:
                where = _where(locale, scope)
                errors.append(FieldError(field_path(code, locale, scope), f"Attribute {code!r}{where} {exc.message}", exc.code))
                continue
            if is_empty(normalized):
                set_value(raw, code, locale, scope, None)
            else:
                set_value(raw, code, locale, scope, normalized)
    return errors


def _where(locale: str | None, scope: str | None) -> str:
    parts = []
    if locale:
        parts.append(f"locale {locale}")
    if scope:
        parts.append(f"channel {scope}")
    return f" ({', '.join(parts)})" if parts else ""


def _check_dimensions(attribute: AttributeInfo, locale: Any, scope: Any, structure: Structure) -> tuple[str, str] | None:
    if attribute.is_scopable:
        if not scope:
            return "is scopable: give the channel (scope) of the value", ErrorCode.REQUIRED
        if scope not in structure.channels:
            return f"has a value for channel {scope!r}, which does not exist", ErrorCode.UNKNOWN_CHANNEL
    elif scope:
        return f"is not scopable, but a channel ({scope!r}) was given", ErrorCode.NOT_SCOPABLE
    if attribute.is_localizable:
        if not locale:
            return "is localizable: give the locale of the value", ErrorCode.REQUIRED
        if locale not in structure.active_locales:
            return f"has a value for locale {locale!r}, which is not active", ErrorCode.UNKNOWN_LOCALE
        if attribute.is_scopable and locale not in structure.channels[scope].locales:
            return f"has a value for locale {locale!r}, which channel {scope!r} does not use", ErrorCode.UNKNOWN_LOCALE
        if attribute.available_locales is not None and locale not in attribute.available_locales:
            return f"is specific to the locales {', '.join(sorted(attribute.available_locales))}", ErrorCode.UNKNOWN_LOCALE
    elif locale:
        return f"is not localizable, but a locale ({locale!r}) was given", ErrorCode.NOT_LOCALIZABLE
    return None
