"""Publishing definitions: read, check and compile the mapping of an export profile.

A definition is data (YAML in `channels/` presets and in users' version control). It names a
channel, a feed format, the locale and currency values are read in, which products it takes
(a filter in the query service's syntax) and, per channel field, where the value comes from
and how it is transformed. `check_definition` lists every problem at once; `compile_record`
turns the mapping into one function returning a record's fields, built once per run.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from exporters.base import FeedFormat, Measure, Money, Param
from pim.errors import ErrorCode, FieldError
from pim.publishing.renditions import read_spec
from pim.structure.models import AttributeType
from pim.structure.snapshot import ALL_CHANNELS, ALL_LOCALES, AttributeInfo, Structure

SOURCES = ("attribute", "template", "constant", "property", "category", "images", "url", "params")
TRANSFORMS = {
    "locale",
    "currency",
    "option",
    "join",
    "truncate",
    "html",
    "convert",
    "as",
    "booleans",
    "price",
    "default",
    "map",
    "name",
    "id",
    "unit",
    "key",
    "limit",
    "previous_price",
    "local",
    "all",
    "otherwise",
}
# group: the root product model's code; parent: the model just above the product (a colour
# sub-model); parent_or_sku: that model's code, or the SKU of a product without a model
PROPERTIES = ("sku", "uuid", "group", "parent", "parent_or_sku", "family", "enabled", "created", "updated")
CATEGORY_OUTPUTS = ("id", "code", "label", "path", "mapped")
OUTPUT_TYPES = ("text", "decimal", "integer", "measure", "money", "boolean", "list")
ROUNDINGS = ("0.01", "0.1", "1", "10", "0.99", "0.9", "9")
TOP_LEVEL = {
    "code",
    "label",
    "preset",
    "channel",
    "format",
    "locale",
    "currency",
    "filter",
    "require_complete",
    "schedule",
    "keep",
    "for_people",
    "push_folder",
    "base_url",
    "media_url",
    "feed",
    "options",
    "images",
    "categories",
    "fields",
    "delta",
}

_PLACEHOLDER = string.Formatter()
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_SAFE_TAGS = {"p", "br", "ul", "ol", "li", "b", "strong", "i", "em", "h3"}
_ANY_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z0-9]+)[^>]*?(/?)\s*>")


# --- value helpers shared by every field -------------------------------------------------


def strip_html(text: str) -> str:
    """Return plain text: tags removed, entities decoded, runs of white space made one space."""
    text = re.sub(r"(?i)<\s*(br|/p|/li|/h\d)\s*/?>", " ", text)
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text))).strip()


def keep_safe_html(text: str) -> str:
    """Return text keeping only simple formatting tags (p, br, lists, bold, italic, h3), without attributes."""

    def replace(match: re.Match[str]) -> str:
        closing, tag, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if tag not in _SAFE_TAGS:
            return " "
        if tag == "br":
            return "<br/>"
        return f"<{closing}{tag}{self_closing and '/'}>"

    return _ANY_TAG.sub(replace, text).strip()


def truncate_words(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters at a word boundary (mid-word only if one word is longer)."""
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        return cut[:space].rstrip(" ,;:-")
    return text[:limit]


def apply_rounding(amount: Decimal, rule: str) -> Decimal:
    """Round a price: to a step ("0.01", "1", "10") or to a psychological ending ("0.99", "0.9", "9")."""
    if rule in ("0.99", "0.9"):
        ending = Decimal(rule)
        whole = amount.to_integral_value(rounding=ROUND_FLOOR)
        candidate = whole + ending
        return candidate if candidate >= amount else whole + 1 + ending
    if rule == "9":
        tens = (amount / 10).to_integral_value(rounding=ROUND_FLOOR) * 10
        candidate = tens + 9
        return candidate if candidate >= amount else tens + 19
    step = Decimal(rule)
    return (amount / step).to_integral_value(rounding=ROUND_HALF_UP) * step


@dataclass
class PriceRule:
    """A change applied to a resolved price: a percentage, then an amount, then a rounding."""

    percent: Decimal = Decimal(0)
    amount: Decimal = Decimal(0)
    rounding: str = "0.01"

    def apply(self, value: Decimal) -> Decimal:
        """Return the changed price."""
        changed = value * (1 + self.percent / 100) + self.amount
        if changed < 0:
            changed = Decimal(0)
        return apply_rounding(changed, self.rounding).quantize(
            Decimal("0.01"), rounding=ROUND_CEILING if self.rounding in ("0.99", "0.9", "9") else ROUND_HALF_UP
        )


# --- the product as the compiled fields see it -------------------------------------------


@dataclass(slots=True)
class ProductView:
    """What a field reads: the product's values (inherited included) and its properties."""

    sku: str
    uuid: Any  # the product's UUID ("" for a product model): made text only where a field shows it
    values: dict[str, Any]
    family: str | None = None
    group: str | None = None
    group_number: int | None = None
    parent: str | None = None
    is_enabled: bool = True
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    categories: list[Any] = field(default_factory=list)  # CategoryView, deepest first
    # stored images the record points at, and problems found while resolving (code, field, message)
    images: list[str] = field(default_factory=list)
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    # recent changes of the attributes some field reads the history of: code -> [(when, olds)], newest first
    history: dict[str, list[tuple[dt.datetime, dict[str, Any]]]] | None = None


@dataclass(frozen=True, slots=True)
class CategoryView:
    """A category of the channel's tree a product is in: id, code, labels, path of labels."""

    id: int
    code: str
    label: str
    path: str
    mapped: Any
    depth: int = 0  # below the tree's root: 1 for its top categories


FieldFunction = Callable[[ProductView], Any]


@dataclass
class Definition:
    """A checked definition, with the parts the exporter run needs ready to use."""

    raw: dict[str, Any]
    code: str
    channel: str
    format: str
    locale: str
    currency: str
    filter: dict[str, Any]
    require_complete: bool
    schedule: str | None
    keep: int
    is_for_people: bool
    push_folder: str | None
    base_url: str
    media_url: str
    fields: dict[str, Any]
    category_mapping: dict[str, Any]
    is_delta_allowed: bool
    renditions: Any = None


class _Problems:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, where: str, message: str, code: str = ErrorCode.INVALID_FORMAT) -> None:
        self.errors.append(FieldError(where, message, str(code)))


def _labels(raw: Any) -> dict[str, str]:
    if isinstance(raw, str):
        return {"en_US": raw}
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    return {}


def read_definition(raw: Any, structure: Structure, feed_format: FeedFormat | None) -> tuple[Definition | None, list[FieldError]]:
    """Check a definition against the catalogue structure and the format; return it and every problem."""
    problems = _Problems()
    if not isinstance(raw, Mapping):
        problems.add("definition", "A definition is a mapping of settings (code, channel, format, fields...)")
        return None, problems.errors
    for key in raw:
        if key not in TOP_LEVEL:
            problems.add(str(key), f"Unknown setting {key!r}; known: {', '.join(sorted(TOP_LEVEL))}", ErrorCode.UNKNOWN)
    code = raw.get("code")
    if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z0-9_]{1,100}", code or ""):
        problems.add("code", "The code is required: letters, digits and underscores (no hyphens)", ErrorCode.REQUIRED)
    channel_code = raw.get("channel")
    channel = structure.channels.get(channel_code) if isinstance(channel_code, str) else None
    if channel is None:
        problems.add("channel", f"Channel {channel_code!r} does not exist", ErrorCode.UNKNOWN_CHANNEL)
    format_code = raw.get("format")
    if feed_format is None:
        problems.add("format", f"Feed format {format_code!r} is not known", ErrorCode.UNKNOWN)
    locale = raw.get("locale") or (channel.locales[0] if channel and channel.locales else "")
    if channel is not None and locale not in channel.locales:
        problems.add("locale", f"Locale {locale!r} is not one of channel {channel.code!r}'s locales ({', '.join(channel.locales)})", ErrorCode.UNKNOWN_LOCALE)
    currency = raw.get("currency") or (channel.currencies[0] if channel and channel.currencies else "")
    if channel is not None and currency not in channel.currencies:
        problems.add(
            "currency",
            f"Currency {currency!r} is not one of channel {channel.code!r}'s currencies ({', '.join(channel.currencies)})",
            ErrorCode.UNKNOWN_CURRENCY,
        )
    filters = raw.get("filter") or {}
    if not isinstance(filters, Mapping):
        problems.add("filter", "The filter is a mapping in the product search syntax, e.g. {enabled: [{operator: '=', value: true}]}")
        filters = {}
    schedule = raw.get("schedule") or None
    if schedule is not None and not isinstance(schedule, str):
        problems.add("schedule", "The schedule is a cron expression such as '0 3 * * *'")
        schedule = None
    keep = raw.get("keep", 5)
    if isinstance(keep, bool) or not isinstance(keep, int) or not 1 <= keep <= 100:
        problems.add("keep", "keep is how many published files to keep: a whole number from 1 to 100")
        keep = 5
    base_url = str(raw.get("base_url") or "")
    if base_url and not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", base_url):
        problems.add("base_url", f"base_url must be an absolute http(s) address, got {base_url!r}")
    media_url = str(raw.get("media_url") or "")
    categories = raw.get("categories") or {}
    mapping = categories.get("mapping", {}) if isinstance(categories, Mapping) else None
    if not isinstance(mapping, Mapping):
        problems.add("categories.mapping", "The category mapping is {our category code: the channel's category}")
        mapping = {}
    for category_code in mapping:
        if not isinstance(category_code, str):
            problems.add("categories.mapping", f"Category codes are text, got {category_code!r}")
    fields = raw.get("fields")
    if not isinstance(fields, Mapping) or not fields:
        problems.add("fields", "fields maps each channel field to where its value comes from", ErrorCode.REQUIRED)
        fields = {}
    if feed_format is not None:
        known = {rule.name for rule in feed_format.fields}
        for name in fields:
            if known and not feed_format.accepts_any_field and name not in known:
                problems.add(f"fields.{name}", f"The {feed_format.code} format has no field {name!r}", ErrorCode.UNKNOWN)
        for rule in feed_format.fields:
            if rule.required and rule.name not in fields and rule.name not in feed_format.derived_fields:
                problems.add(f"fields.{rule.name}", f"The channel requires {rule.name!r}, which is not mapped", ErrorCode.REQUIRED)
    options = raw.get("options") or {}
    if not isinstance(options, Mapping):
        problems.add("options", "options is a mapping of the format's own settings")
    elif feed_format is not None:
        for option, message in feed_format.option_problems(options):
            problems.add(f"options.{option}", message)
    if channel is not None and isinstance(locale, str):
        for name, spec in fields.items():
            _check_field(f"fields.{name}", spec, structure, problems, locale)
    delta = bool(raw.get("delta", True))
    renditions, rendition_errors = read_spec(raw.get("images"))
    problems.errors.extend(rendition_errors)
    if problems.errors:
        return None, problems.errors
    assert channel is not None and feed_format is not None
    return (
        Definition(
            raw=dict(raw),
            code=str(code),
            channel=channel.code,
            format=feed_format.code,
            locale=str(locale),
            currency=str(currency),
            filter=dict(filters),
            require_complete=bool(raw.get("require_complete", True)),
            schedule=schedule,
            keep=int(keep),
            is_for_people=bool(raw.get("for_people", False)),
            push_folder=raw.get("push_folder") or None,
            base_url=base_url.rstrip("/"),
            media_url=media_url.rstrip("/"),
            fields=dict(fields),
            category_mapping={str(k): v for k, v in mapping.items()},
            is_delta_allowed=delta and feed_format.supports_delta,
            renditions=renditions,
        ),
        [],
    )


def _template_names(template: str) -> list[str]:
    try:
        return [name for _text, name, _spec, _conv in _PLACEHOLDER.parse(template) if name]
    except ValueError as exc:
        raise ValueError(f"template {template!r} does not parse: {exc}") from exc


def _check_field(where: str, spec: Any, structure: Structure, problems: _Problems, locale: str) -> None:
    if isinstance(spec, str):
        spec = {"attribute": spec}
    if not isinstance(spec, Mapping):
        problems.add(where, "A field is an attribute code or a mapping such as {attribute: name, truncate: 150}")
        return
    sources = [key for key in SOURCES if key in spec]
    if len(sources) != 1:
        problems.add(where, f"A field takes exactly one of {', '.join(SOURCES)}; got {', '.join(sources) or 'none'}", ErrorCode.REQUIRED)
        return
    for key in spec:
        if key not in SOURCES and key not in TRANSFORMS:
            problems.add(where, f"Unknown transform {key!r}; known: {', '.join(sorted(TRANSFORMS))}", ErrorCode.UNKNOWN)
    source = sources[0]
    attribute: AttributeInfo | None = None
    if source == "attribute":
        attribute = structure.attributes.get(str(spec["attribute"]))
        if attribute is None:
            problems.add(where, f"Attribute {spec['attribute']!r} does not exist", ErrorCode.UNKNOWN)
            return
    elif source == "template" or source == "url":
        try:
            names = _template_names(str(spec[source]))
        except ValueError as exc:
            problems.add(where, str(exc))
            return
        for name in names:
            if name not in PROPERTIES and name not in structure.attributes:
                problems.add(where, f"The template names {{{name}}}, which is neither an attribute nor one of {', '.join(PROPERTIES)}", ErrorCode.UNKNOWN)
    elif source == "property":
        if spec["property"] not in PROPERTIES:
            problems.add(where, f"Unknown property {spec['property']!r}; known: {', '.join(PROPERTIES)}", ErrorCode.UNKNOWN)
    elif source == "category":
        if spec["category"] not in CATEGORY_OUTPUTS:
            problems.add(where, f"category takes one of {', '.join(CATEGORY_OUTPUTS)}", ErrorCode.UNKNOWN)
    elif source == "images":
        codes = spec["images"] if isinstance(spec["images"], list) else [spec["images"]]
        for code in codes:
            info = structure.attributes.get(str(code))
            if info is None or info.type not in (AttributeType.IMAGE, AttributeType.FILE):
                problems.add(where, f"images lists image attributes; {code!r} is not one", ErrorCode.UNKNOWN)
    elif source == "params":
        if not isinstance(spec["params"], list):
            problems.add(where, "params is a list of {name, attribute (or template, constant), unit}")
            return
        for index, item in enumerate(spec["params"]):
            if not isinstance(item, Mapping):
                problems.add(f"{where}[{index}]", "A param is a mapping such as {name: Цвет, attribute: color}")
                continue
            if "name" not in item and "id" not in item:
                problems.add(f"{where}[{index}]", "A param needs a name or an id", ErrorCode.REQUIRED)
            _check_field(f"{where}[{index}]", {k: v for k, v in item.items() if k not in ("name", "id", "unit")}, structure, problems, locale)
    _check_transforms(where, spec, attribute, structure, problems)
    if "otherwise" in spec:
        _check_field(f"{where}.otherwise", spec["otherwise"], structure, problems, locale)


def _check_transforms(where: str, spec: Mapping[str, Any], attribute: AttributeInfo | None, structure: Structure, problems: _Problems) -> None:
    truncate = spec.get("truncate")
    if truncate is not None and (isinstance(truncate, bool) or not isinstance(truncate, int) or truncate < 1):
        problems.add(where, f"truncate takes a positive number of characters, got {truncate!r}")
    limit = spec.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        problems.add(where, f"limit takes a positive number of items, got {limit!r}")
    if spec.get("html") not in (None, "strip", "keep"):
        problems.add(where, f"html takes strip or keep, got {spec.get('html')!r}")
    output = spec.get("as")
    if output is not None and output not in OUTPUT_TYPES:
        problems.add(where, f"as takes one of {', '.join(OUTPUT_TYPES)}, got {output!r}")
    booleans = spec.get("booleans")
    if booleans is not None and (not isinstance(booleans, list) or len(booleans) != 2):
        problems.add(where, "booleans takes the channel's two words for true and false, e.g. [yes, no]")
    mapping = spec.get("map")
    if mapping is not None and not isinstance(mapping, Mapping):
        problems.add(where, "map takes {our value: the channel's value}")
    convert = spec.get("convert")
    if convert is not None:
        if attribute is None or attribute.type is not AttributeType.METRIC:
            problems.add(where, "convert applies to metric attributes")
        else:
            measurement = structure.measurements.get(attribute.metric_family or "")
            if measurement is None or convert not in measurement.units:
                known = ", ".join(sorted(measurement.units)) if measurement else ""
                problems.add(where, f"Unit {convert!r} is not a unit of {attribute.metric_family} ({known})", ErrorCode.UNKNOWN_UNIT)
    option = spec.get("option")
    if option is not None:
        if attribute is None or attribute.type not in (AttributeType.SIMPLE_SELECT, AttributeType.MULTI_SELECT):
            problems.add(where, "option applies to simple and multi select attributes")
        elif not (option in ("label", "code") or isinstance(option, Mapping)):
            problems.add(where, "option takes label, code or {option code: the channel's value}")
    price = spec.get("price")
    if price is not None:
        if attribute is None or attribute.type is not AttributeType.PRICE_COLLECTION:
            problems.add(where, "price rules apply to price attributes")
        elif not isinstance(price, Mapping):
            problems.add(where, "price takes {percent: 5, amount: 0, round: '0.99'}")
        else:
            for key in price:
                if key not in ("percent", "amount", "round", "only_fallback"):
                    problems.add(where, f"Unknown price rule setting {key!r}; known: percent, amount, round, only_fallback", ErrorCode.UNKNOWN)
            for key in ("percent", "amount"):
                try:
                    Decimal(str(price.get(key, 0)))
                except InvalidOperation:
                    problems.add(where, f"price {key} must be a number, got {price.get(key)!r}")
            if str(price.get("round", "0.01")) not in ROUNDINGS:
                problems.add(where, f"price round takes one of {', '.join(ROUNDINGS)}")
    previous = spec.get("previous_price")
    if previous is not None:
        if attribute is None or attribute.type is not AttributeType.PRICE_COLLECTION:
            problems.add(where, "previous_price applies to price attributes")
        elif not isinstance(previous, Mapping):
            problems.add(where, "previous_price takes {days: 30, shown_for: 30}")
        else:
            for key, value in previous.items():
                if key not in ("days", "shown_for"):
                    problems.add(where, f"Unknown previous_price setting {key!r}; known: days, shown_for", ErrorCode.UNKNOWN)
                elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 366:
                    problems.add(where, f"previous_price {key} takes a number of days from 1 to 366, got {value!r}")
    if spec.get("local") is not None and ("images" not in spec or not isinstance(spec.get("local"), bool)):
        problems.add(where, "local applies to images and takes true or false")
    if spec.get("all") is not None and ("category" not in spec or not isinstance(spec.get("all"), bool)):
        problems.add(where, "all applies to category and takes true or false")
    elif spec.get("all") and spec.get("category") == "mapped":
        problems.add(where, "all lists the product's categories by id, code, label or path, not mapped")
    currency = spec.get("currency")
    if currency is not None and currency not in structure.currencies:
        problems.add(where, f"Currency {currency!r} is not enabled", ErrorCode.UNKNOWN_CURRENCY)
    locale = spec.get("locale")
    if locale is not None and locale not in structure.active_locales:
        problems.add(where, f"Locale {locale!r} is not active", ErrorCode.UNKNOWN_LOCALE)


# --- compiling ------------------------------------------------------------------------------


@dataclass
class CompileContext:
    """What compiled fields need from the run: structure, locale, currency, scopes, option labels, URLs."""

    structure: Structure
    locale: str
    currency: str
    scopes: tuple[str, ...]
    option_labels: Mapping[tuple[str, str], Mapping[str, str]]
    base_url: str
    media_url: str
    renditions: Any = None
    media_root: Any = None
    # when the run started, and the attributes whose value history fields read, with how many
    # days back they look (filled while compiling; the resolver loads that history per batch)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    history_days: dict[str, int] = field(default_factory=dict)
    # the product properties (sku, uuid, created...) fields show, filled while compiling: a run
    # reads the columns of the others not at all
    properties: set[str] = field(default_factory=set)


def read_raw(values: Mapping[str, Any], attribute: AttributeInfo, locale: str, scopes: Sequence[str]) -> Any:
    """Return one value's data for a locale, through the channel's scopes (its own, then fallbacks)."""
    by_scope = values.get(attribute.code)
    if not by_scope:
        return None
    locale_key = locale if attribute.is_localizable else ALL_LOCALES
    if not attribute.is_scopable:
        by_locale = by_scope.get(ALL_CHANNELS)
        return by_locale.get(locale_key) if by_locale else None
    for scope in scopes:
        by_locale = by_scope.get(scope)
        if by_locale:
            data = by_locale.get(locale_key)
            if data is not None and data != "" and data != []:
                return data
    return None


def _option_label(ctx: CompileContext, attribute: str, code: str, locale: str) -> str:
    labels = ctx.option_labels.get((attribute, code))
    if not labels:
        return code
    return labels.get(locale) or labels.get("en_US") or next(iter(labels.values()), code)


def _display(ctx: CompileContext, attribute: AttributeInfo, data: Any, locale: str, currency: str) -> Any:
    """Return a value as the channel reads it by default: option labels, Money, Measure, text."""
    kind = attribute.type
    if kind is AttributeType.SIMPLE_SELECT:
        return _option_label(ctx, attribute.code, data, locale)
    if kind is AttributeType.MULTI_SELECT:
        return [_option_label(ctx, attribute.code, code, locale) for code in data]
    if kind is AttributeType.PRICE_COLLECTION:
        for price in data:
            if price.get("currency") == currency and price.get("amount") not in (None, ""):
                return Money(Decimal(price["amount"]), currency)
        return None
    if kind is AttributeType.METRIC:
        return Measure(Decimal(data["amount"]), data["unit"])
    if kind is AttributeType.NUMBER:
        return Decimal(data)
    return data


def _same(data: Any) -> Any:
    return data


# attribute types whose data is always a text or a list (the write path checks it): empty is falsy
_TEXT_OR_LIST = frozenset(
    {
        AttributeType.IDENTIFIER,
        AttributeType.TEXT,
        AttributeType.TEXTAREA,
        AttributeType.DATE,
        AttributeType.SIMPLE_SELECT,
        AttributeType.MULTI_SELECT,
        AttributeType.PRICE_COLLECTION,
        AttributeType.IMAGE,
        AttributeType.FILE,
    }
)


def _filled(attribute: AttributeInfo) -> str:
    """Return the source of the test that an attribute's data `d` is filled (not None, "" or [])."""
    # a boolean's False and a number's 0 are filled
    return "d" if attribute.type in _TEXT_OR_LIST else "d is not None and d != '' and d != []"


def _read_source(attribute: AttributeInfo, locale: str, scopes: Sequence[str]) -> list[str]:
    """Return source lines that set `d` to one value's data in the document `values`, as `read_raw`
    reads it, with every key written out (`d` may be left "" or [] where `read_raw` says None)."""
    locale_key = locale if attribute.is_localizable else ALL_LOCALES
    lines = [f"s = values.get({attribute.code!r})", "d = None", "if s:"]
    indent = "    "
    chain = scopes if attribute.is_scopable else (ALL_CHANNELS,)
    for index, scope in enumerate(chain):
        lines += [f"{indent}l = s.get({scope!r})", f"{indent}if l:", f"{indent}    d = l.get({locale_key!r})"]
        if index < len(chain) - 1:
            # the next scope is a fallback, read only where this one has no value
            lines.append(f"{indent}if not ({_filled(attribute)}):")
            indent += "    "
    if not chain:
        lines.append(f"{indent}pass")
    return lines


def _generated(name: str, parameter: str, body: list[str], names: Mapping[str, Any]) -> Callable[..., Any]:
    """Return the function `name(parameter)` made of `body` (source lines), which may use `names`.

    Compiled fields are generated as source so a record's fields are read in one call, with each
    attribute code, channel and locale written in as a constant instead of looked up per value.
    Only codes and names given here as `repr` literals reach the source.
    """
    source = f"def {name}({parameter}):\n" + "".join(f"    {line}\n" for line in body)
    namespace = dict(names)
    exec(compile(source, f"<compiled {name}>", "exec"), namespace)  # noqa: S102 - source made above from literals
    return namespace[name]  # type: ignore[no-any-return]


def _raw_reader(attribute: AttributeInfo, locale: str, scopes: Sequence[str]) -> Callable[[Mapping[str, Any]], Any]:
    """Return `read_raw` for one attribute, locale and scopes, with its decisions taken once per run."""
    body = [*_read_source(attribute, locale, scopes), f"return d if {_filled(attribute)} else None"]
    return _generated("read_raw_value", "values", body, {})


def _option_labels(ctx: CompileContext, attribute: AttributeInfo, locale: str) -> dict[str, str]:
    """Return the label in a locale of each option of a select attribute, by option code."""
    code = attribute.code
    return {option: _option_label(ctx, code, option, locale) for attribute_code, option in ctx.option_labels if attribute_code == code}


# Prices and measures are made once per field for each amount the run meets (frozen values,
# shared by the records holding them): a catalogue repeats a few thousand amounts. At most this
# many are kept per field.
_MADE_VALUES = 65_536


def _display_function(ctx: CompileContext, attribute: AttributeInfo, locale: str, currency: str) -> Callable[[Any], Any] | None:
    """Return `_display` for one attribute, locale and currency (option labels looked up once); None when it keeps the data."""
    kind = attribute.type
    if kind is AttributeType.SIMPLE_SELECT or kind is AttributeType.MULTI_SELECT:
        labels = _option_labels(ctx, attribute, locale)
        if kind is AttributeType.SIMPLE_SELECT:
            return lambda data: labels.get(data, data)
        return lambda data: [labels.get(option, option) for option in data]
    if kind is AttributeType.PRICE_COLLECTION:
        prices: dict[Any, Money] = {}

        def price(data: Any) -> Money | None:
            for item in data:
                if item.get("currency") == currency:
                    amount = item.get("amount")
                    if amount is None or amount == "":
                        continue
                    money = prices.get(amount)
                    if money is None:
                        if len(prices) >= _MADE_VALUES:
                            prices.clear()
                        money = prices[amount] = Money(Decimal(amount), currency)
                    return money
            return None

        return price
    if kind is AttributeType.METRIC:
        measures: dict[tuple[Any, Any], Measure] = {}

        def measure(data: Any) -> Measure:
            key = (data["amount"], data["unit"])
            made = measures.get(key)
            if made is None:
                if len(measures) >= _MADE_VALUES:
                    measures.clear()
                made = measures[key] = Measure(Decimal(key[0]), key[1])
            return made

        return measure
    if kind is AttributeType.NUMBER:
        return Decimal
    return None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_as_text(v) for v in value)
    if isinstance(value, Decimal):
        text = f"{value:f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def compile_field(spec: Any, ctx: CompileContext) -> FieldFunction:
    """Compile one field's spec (already checked) into a function of a ProductView."""
    if isinstance(spec, str):
        spec = {"attribute": spec}
    structure = ctx.structure
    locale = spec.get("locale", ctx.locale)
    currency = spec.get("currency", ctx.currency)
    base: FieldFunction
    if "attribute" in spec:
        attribute = structure.attributes[spec["attribute"]]
        base = _compile_attribute(attribute, spec, ctx, locale, currency)
        if spec.get("previous_price") is not None:
            base = _compile_previous_price(base, attribute, spec["previous_price"], ctx)
    elif "template" in spec:
        base = _compile_template(str(spec["template"]), ctx, locale, currency)
    elif "url" in spec:
        template = _compile_template(str(spec["url"]), ctx, locale, currency, is_url=True)
        prefix = ctx.base_url

        def base(view: ProductView) -> Any:
            path = template(view)
            return path if path.startswith(("http://", "https://")) else f"{prefix}/{path.lstrip('/')}"

    elif "constant" in spec:
        constant = spec["constant"]

        def base(view: ProductView) -> Any:
            return constant

    elif "property" in spec:
        base = _compile_property(spec["property"], ctx)
    elif "category" in spec:
        base = _compile_category(spec["category"], spec.get("key"), every=bool(spec.get("all", False)))
    elif "images" in spec:
        base = _compile_images(spec["images"], ctx, locale, local=bool(spec.get("local", False)))
    else:
        base = _compile_params(spec["params"], ctx)
    compiled = _compile_transforms(base, spec)
    if "otherwise" not in spec:
        return compiled
    fallback = compile_field(spec["otherwise"], ctx)

    def first_filled(view: ProductView) -> Any:
        value = compiled(view)
        return fallback(view) if value is None or value == "" or value == [] else value

    return first_filled


def _compile_attribute(attribute: AttributeInfo, spec: Mapping[str, Any], ctx: CompileContext, locale: str, currency: str) -> FieldFunction:
    scopes = ctx.scopes
    option = spec.get("option")
    convert = spec.get("convert")
    price_rule = None
    only_fallback = False
    if spec.get("price") is not None:
        rule = spec["price"]
        price_rule = PriceRule(Decimal(str(rule.get("percent", 0))), Decimal(str(rule.get("amount", 0))), str(rule.get("round", "0.01")))
        only_fallback = bool(rule.get("only_fallback", False))
    own_scope = scopes[0] if scopes else None
    measurement = ctx.structure.measurements.get(attribute.metric_family or "") if convert else None
    read_data = _raw_reader(attribute, locale, scopes)
    shown = _display_function(ctx, attribute, locale, currency)
    display = shown or _same

    if option is None and measurement is None and price_rule is None:
        # the usual field: the value as the channel reads it by default, with every lookup compiled

        def read_plain(view: ProductView) -> Any:
            data = read_data(view.values)
            if data is None or data == "" or data == []:
                return None
            return data if shown is None else shown(data)

        return read_plain

    def read(view: ProductView) -> Any:
        data = read_data(view.values)
        if data is None or data == "" or data == []:
            return None
        if option is not None:
            if option == "code":
                return data
            if isinstance(option, Mapping):
                return [option.get(code, code) for code in data] if isinstance(data, list) else option.get(data, data)
            return display(data)
        if measurement is not None:
            source_unit = measurement.units[data["unit"]]
            target = measurement.units[convert]
            standard = Decimal(data["amount"]) * source_unit.factor + source_unit.offset
            return Measure(((standard - target.offset) / target.factor).normalize(), convert)
        value = display(data)
        if price_rule is not None and isinstance(value, Money):
            if only_fallback and _has_own(view.values, attribute, locale, own_scope):
                # a price typed for this channel is final; the rule derives the others
                return value
            return Money(price_rule.apply(value.amount), value.currency)
        return value

    return read


def _compile_previous_price(current: FieldFunction, attribute: AttributeInfo, settings: Mapping[str, Any], ctx: CompileContext) -> FieldFunction:
    """Return the price to show struck through beside a reduced one, by the EU's rule.

    That is the lowest price the product had in the `days` days before its current price took
    effect, read from its history, and only while the reduction is at most `shown_for` days
    old and the current price is below it; otherwise nothing (no old price is shown).
    """
    days = dt.timedelta(days=int(settings.get("days", 30)))
    shown_for = dt.timedelta(days=int(settings.get("shown_for", 30)))
    code = attribute.code
    ctx.history_days[code] = max(ctx.history_days.get(code, 0), (days + shown_for).days)
    now = ctx.now

    def read(view: ProductView) -> Money | None:
        price = current(view)
        entries = (view.history or {}).get(code)
        if not isinstance(price, Money) or not entries:
            return None
        state = {scope: dict(by_locale) for scope, by_locale in (view.values.get(code) or {}).items()}
        # walk back through the changes: after undoing entry k, prices[k] held until times[k]
        times: list[dt.datetime] = []
        prices: list[Money | None] = []
        for logged_at, olds in entries:
            for key, old in olds.items():
                _attribute, locale, scope = key.split("|")
                by_locale = state.setdefault(scope or ALL_CHANNELS, {})
                if old is None:
                    by_locale.pop(locale or ALL_LOCALES, None)
                else:
                    by_locale[locale or ALL_LOCALES] = old
            before = current(replace(view, values={**view.values, code: state}))
            times.append(logged_at if logged_at.tzinfo else logged_at.replace(tzinfo=dt.UTC))
            prices.append(before if isinstance(before, Money) else None)
        start = next((k for k, before in enumerate(prices) if before is None or before.amount != price.amount), None)
        if start is None or prices[start] is None or times[start] < now - shown_for:
            return None
        window_start = times[start] - days
        lowest = prices[start].amount  # type: ignore[union-attr]
        for k in range(start + 1, len(prices)):
            before = prices[k]
            if before is None or times[k] <= window_start:
                break
            lowest = min(lowest, before.amount)
        return Money(lowest, price.currency) if lowest > price.amount else None

    return read


def _has_own(values: Mapping[str, Any], attribute: AttributeInfo, locale: str, scope: str | None) -> bool:
    by_locale = (values.get(attribute.code) or {}).get(scope or "") or {}
    data = by_locale.get(locale if attribute.is_localizable else ALL_LOCALES)
    return data is not None and data != "" and data != []


def _compile_template(template: str, ctx: CompileContext, locale: str, currency: str, *, is_url: bool = False) -> FieldFunction:
    parts: list[tuple[str, Callable[[ProductView], Any] | None]] = []
    for text, name, _spec, _conv in _PLACEHOLDER.parse(template):
        if text:
            parts.append((text, None))
        if name:
            if name in PROPERTIES:
                parts.append(("", _compile_property(name, ctx)))
            else:
                parts.append(("", _compile_attribute(ctx.structure.attributes[name], {}, ctx, locale, currency)))

    def render(view: ProductView) -> str:
        out = []
        for text, getter in parts:
            if getter is None:
                out.append(text)
            else:
                value = _as_text(getter(view))
                out.append(_url_quote(value) if is_url else value)
        return _SPACE.sub(" ", "".join(out)).strip() if not is_url else "".join(out)

    return render


def _url_quote(text: str) -> str:
    return quote(text, safe="")


def _compile_property(name: str, ctx: CompileContext) -> FieldFunction:
    ctx.properties.add(name)
    getters: dict[str, FieldFunction] = {
        "sku": lambda view: view.sku,
        "uuid": lambda view: str(view.uuid),
        "group": lambda view: view.group,
        "parent": lambda view: view.parent,
        "parent_or_sku": lambda view: view.parent or view.sku,
        "family": lambda view: view.family,
        "enabled": lambda view: view.is_enabled,
        "created": lambda view: view.created_at.isoformat() if view.created_at else "",
        "updated": lambda view: view.updated_at.isoformat() if view.updated_at else "",
    }
    return getters[name]


def _compile_category(output: str, key: str | None, *, every: bool = False) -> FieldFunction:
    """Read the product's deepest category of the channel's tree; with `every`, all its categories there."""
    if every:

        def read_every(view: ProductView) -> Any:
            return [getattr(category, output) for category in view.categories] or None

        return read_every

    def read(view: ProductView) -> Any:
        for category in view.categories:
            if output == "mapped":
                if category.mapped is None:
                    continue
                value = category.mapped
                if key is not None and isinstance(value, Mapping):
                    return value.get(key)
                return value
            return getattr(category, output)
        return None

    return read


def _compile_images(codes: Any, ctx: CompileContext, locale: str, *, local: bool = False) -> FieldFunction:
    """Return the images' addresses, or with `local` their files on disk (for print and PDFs)."""
    attributes = [ctx.structure.attributes[str(code)] for code in (codes if isinstance(codes, list) else [codes])]
    scopes = ctx.scopes
    spec = ctx.renditions
    root = ctx.media_root
    if local and root is not None:
        media_url = str(root)
        rendition_base = str(root / "renditions" / spec.key) if spec is not None else ""
    else:
        media_url = ctx.media_url
        rendition_base = f"{media_url}/renditions/{spec.key}" if spec is not None else ""

    readers = [(attribute, _raw_reader(attribute, locale, scopes)) for attribute in attributes]
    root_text = str(root) if root is not None else ""
    # many products share an image: whether it is on disk and its rendition's name are worked out once a run
    file_names: dict[str, str] = {}
    on_disk: dict[str, bool] = {}

    def is_on_disk(key: str) -> bool:
        found = on_disk.get(key)
        if found is None:
            if len(on_disk) > 100_000:
                on_disk.clear()
            found = on_disk[key] = os.path.isfile(os.path.join(root_text, key))
        return found

    def read(view: ProductView) -> list[str]:
        urls = []
        for attribute, read_key in readers:
            key = read_key(view.values)
            if not key:
                continue
            if root is not None and not is_on_disk(key):
                view.problems.append(("image_missing", attribute.code, f"image {key} of {attribute.code} is missing on disk"))
                continue
            if spec is not None:
                view.images.append(key)
                name = file_names.get(key)
                if name is None:
                    if len(file_names) > 100_000:
                        file_names.clear()
                    name = file_names[key] = spec.file_name(key)
                urls.append(f"{rendition_base}/{name}")
            else:
                urls.append(f"{media_url}/{key}")
        return urls

    return read


def _compile_params(items: list[Mapping[str, Any]], ctx: CompileContext) -> FieldFunction:
    compiled = []
    for item in items:
        value_spec = {k: v for k, v in item.items() if k not in ("name", "id", "unit")}
        compiled.append((item.get("name", ""), item.get("id"), item.get("unit"), compile_field(value_spec, ctx)))

    def read(view: ProductView) -> list[Param]:
        params = []
        for name, param_id, unit, getter in compiled:
            value = getter(view)
            if value is None or value == "" or value == []:
                continue
            if isinstance(value, Measure):
                value, unit = value.amount, unit or value.unit
            params.append(Param(name=name, value=value, unit=unit, id=param_id))
        return params

    return read


def _compile_transforms(base: FieldFunction, spec: Mapping[str, Any]) -> FieldFunction:
    finish = _finisher(spec)
    if finish is None:
        return base

    def run(view: ProductView) -> Any:
        return finish(base(view))

    return run


def _finisher(spec: Mapping[str, Any]) -> Callable[[Any], Any] | None:
    """Return the function a field's value goes through (its transforms, or its default for an
    empty value); None when the spec has neither."""
    steps: list[Callable[[Any], Any]] = []
    mapping = spec.get("map")
    if mapping is not None:
        steps.append(lambda v: [mapping.get(_as_text(x), x) for x in v] if isinstance(v, list) else mapping.get(_as_text(v), v))
    booleans = spec.get("booleans")
    if booleans is not None:
        yes, no = booleans
        steps.append(lambda v: (yes if v else no) if isinstance(v, bool) else v)
    limit = spec.get("limit")
    if limit is not None:
        steps.append(lambda v: v[:limit] if isinstance(v, list) else v)
    join = spec.get("join")
    if join is not None:
        steps.append(lambda v: join.join(_as_text(x) for x in v) if isinstance(v, list) else v)
    html_mode = spec.get("html")
    if html_mode == "strip":
        steps.append(lambda v: strip_html(v) if isinstance(v, str) else v)
    elif html_mode == "keep":
        steps.append(lambda v: keep_safe_html(v) if isinstance(v, str) else v)
    output = spec.get("as")
    if output is not None:
        steps.append(_converter(output))
    truncate = spec.get("truncate")
    if truncate is not None:
        steps.append(lambda v: truncate_words(v, truncate) if isinstance(v, str) else v)
    default = spec.get("default")
    if not steps and default is None:
        return None

    # a text's result is kept: the variants of a model share its texts (a description cleaned of
    # its HTML once, not once per size), and option labels repeat across the catalogue
    done: dict[str, Any] = {}

    def finish(value: Any) -> Any:
        if value is None or value == "" or value == []:
            return default
        if type(value) is str:
            result = done.get(value, _NOT_DONE)
            if result is _NOT_DONE:
                result = value
                for step in steps:
                    result = step(result)
                if len(done) >= _DONE_TEXTS:
                    done.clear()
                if not isinstance(result, list):
                    # a list would be one object shared by every record holding it
                    done[value] = result
            return result
        for step in steps:
            value = step(value)
        return value

    return finish


# how many texts each field keeps the result of (a few MB at most)
_DONE_TEXTS = 4096
_NOT_DONE = object()


def _converter(output: str) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if output == "text":
            return _as_text(value.amount if isinstance(value, Money | Measure) else value)
        if output == "list":
            return value if isinstance(value, list) else [value]
        if output == "boolean":
            return bool(value)
        number = value.amount if isinstance(value, Money | Measure) else value
        try:
            number = Decimal(str(number))
        except InvalidOperation:
            return value
        if output == "integer":
            return int(number.to_integral_value(rounding=ROUND_HALF_UP))
        return number

    return convert


# the plain attribute reads a record function writes out: a spec with none of these keys
_NOT_PLAIN = frozenset({"option", "convert", "price", "previous_price", "otherwise"})


def compile_record(fields: Mapping[str, Any], ctx: CompileContext) -> Callable[[ProductView], dict[str, Any]]:
    """Compile a definition's fields into one function of a ProductView returning its fields in
    the definition's order, empty values (None, "" and []) left out.

    What `compile_field` makes of each spec, in one call: a field that reads an attribute as the
    channel shows it by default (the most common by far) is written out in place, with its
    code, scopes and locale as constants; any other field calls its compiled function.
    """
    names: dict[str, Any] = {}
    body = ["values = view.values", "fields = {}"]
    for index, (name, raw_spec) in enumerate(fields.items()):
        spec = {"attribute": raw_spec} if isinstance(raw_spec, str) else raw_spec
        keep = [f"    fields[{name!r}] = v"]
        if "attribute" not in spec or not _NOT_PLAIN.isdisjoint(spec):
            names[f"field_{index}"] = compile_field(spec, ctx)
            body += [f"v = field_{index}(view)", "if v is not None and not (isinstance(v, (str, list)) and not v):", *keep]
            continue
        attribute = ctx.structure.attributes[spec["attribute"]]
        locale = spec.get("locale", ctx.locale)
        show = _display_function(ctx, attribute, locale, spec.get("currency", ctx.currency))
        finish = _finisher(spec)
        body += _read_source(attribute, locale, ctx.scopes)
        if show is None and finish is None:
            body += [f"if {_filled(attribute)}:", f"    fields[{name!r}] = d"]
            continue
        if attribute.type is AttributeType.SIMPLE_SELECT:
            # the option's label, looked up in place
            names[f"labels_{index}"] = _option_labels(ctx, attribute, locale)
            shown = f"labels_{index}.get(d, d)"
        elif show is not None:
            names[f"show_{index}"] = show
            shown = f"show_{index}(d)"
        else:
            shown = "d"
        body.append(f"v = {shown} if {_filled(attribute)} else None")
        if finish is not None:
            names[f"finish_{index}"] = finish
            body.append(f"v = finish_{index}(v)")
        body += ["if v is not None and not (isinstance(v, (str, list)) and not v):", *keep]
    body.append("return fields")
    return _generated("record_fields", "view", body, names)
