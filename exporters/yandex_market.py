"""Yandex.Market YML feed: one XML catalogue of the shop, its currencies, categories and offers."""

from __future__ import annotations

import functools
import html
import io
import logging
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import IO, Any, ClassVar

from lxml import etree

from exporters.base import (
    FeedFormat,
    FeedSettings,
    FieldRule,
    Measure,
    Money,
    Param,
    Problem,
    Record,
    RecordGroup,
    Sink,
    format_amount,
    format_number,
    gtin_problem,
    register,
    xml_text,
)

logger = logging.getLogger(__name__)

YML_SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "yandex_market.xsd"

# Yandex wants exactly this line at byte 0; lxml would write the declaration with single quotes.
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_INDENT = "  "
_CHILD_BREAK = "\n" + _INDENT * 4
_OFFER_BREAK = "\n" + _INDENT * 3

CURRENCIES = frozenset({"RUR", "RUB", "BYN", "UAH", "KZT", "USD", "EUR"})
BASE_CURRENCIES = frozenset({"RUR", "RUB", "BYN", "UAH", "KZT"})
# Yandex's RUR is the rouble our catalogue calls RUB.
_SAME_CURRENCY = {"RUR": "RUB"}

MAX_OFFER_ID = 80
MAX_NAME = 150
MAX_URL = 512
MAX_PICTURES = 10
MAX_DESCRIPTION = 3000
MAX_SALES_NOTES = 50
MAX_SHOP_NAME = 20
MAX_SHOP_URL = 50
MAX_GROUP_ID = 999_999_999
DESCRIPTION_TAGS = frozenset({"h3", "p", "ul", "li", "br"})
AGES_IN_YEARS = frozenset({0, 6, 12, 16, 18})

_ID_PUNCTUATION = frozenset(".,/\\()[]-=_")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_TAG = re.compile(r"<\s*/?\s*([A-Za-z][A-Za-z0-9]*)\b[^>]*>")
_DIMENSIONS = re.compile(r"[0-9]+(\.[0-9]+)?/[0-9]+(\.[0-9]+)?/[0-9]+(\.[0-9]+)?")
_CATALOG_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_CENT = Decimal("0.01")
_PLAIN_ID = re.compile(r"[A-Za-z0-9.,/\\()\[\]=_-]+")


class _Filled:
    """A record's filled fields, read many times while one offer is checked or written.

    `get` is the dictionary's own, so each read costs a lookup, not a method call; the values are
    those `Record.get` returns (empty ones left out).
    """

    __slots__ = ("fields", "get", "group", "group_number", "key")

    def __init__(self, record: Record) -> None:
        # the type test first: comparing a price to "" costs a call
        self.fields = {name: value for name, value in record.fields.items() if value is not None and not (isinstance(value, str | list) and not value)}
        self.get = self.fields.get
        self.key = record.key
        self.group = record.group
        self.group_number = record.group_number


class YmlSettingsError(ValueError):
    """The feed's own settings (shop, currency, categories, date) cannot make a valid catalogue."""


def _text(value: Any) -> str:
    """Return a value as text XML 1.0 can hold, without control characters."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():
        # printable text holds no control character, surrogate or non-character: nothing to remove
        return text.strip()
    text = xml_text(text)
    # xml_text already removed every control character but DEL, which XML allows and Yandex does not.
    return (text.replace("\x7f", "") if "\x7f" in text else text).strip()


def _field_text(record: Record, name: str) -> str | None:
    """Return a text field as it will be written, or None when nothing of it would remain."""
    value = record.get(name)
    if value is None:
        return None
    return _text(value) or None


def _same_currency(code: str) -> str:
    return _SAME_CURRENCY.get(code, code)


def _price_text(amount: Decimal) -> str:
    """Return a price rounded to kopecks: whole amounts without decimals, others with two."""
    text = format_amount(amount, 2)
    return text[:-3] if text.endswith(".00") else text


def _offer_id(record: Record) -> str:
    value = record.get("id")
    return str(value) if value is not None else record.key


def _offer_id_problem(offer_id: str) -> Problem | None:
    if not offer_id:
        return Problem("id", "id is required by the channel and is empty", "required")
    if len(offer_id) > MAX_OFFER_ID:
        return Problem("id", f"id is {len(offer_id)} characters long; the channel takes at most {MAX_OFFER_ID}", "too_long")
    if _PLAIN_ID.fullmatch(offer_id):
        # ASCII letters, digits and the allowed punctuation: the usual SKU, no need to look up each character
        return None
    for char in offer_id:
        category = unicodedata.category(char)
        if not (category.startswith("L") or category == "Nd" or char in _ID_PUNCTUATION):
            return Problem("id", f"id {offer_id!r} may hold only letters, digits and . , / \\ ( ) [ ] - = _; found {char!r}", "invalid")
    return None


def _group_id(record: Record) -> Any:
    """Return the offer's group_id: its own field, else the number of the model it is a variant of."""
    value = record.get("group_id")
    if value is None and record.group is not None:
        return record.group_number
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _description_parts(text: str) -> tuple[list[str], int]:
    """Return the tags a description uses and the length of its text without markup."""
    tags = [match.group(1).lower() for match in _TAG.finditer(text)]
    plain = html.unescape(_TAG.sub("", text)) if tags else text
    return tags, len(plain)


def _cdata_chunks(text: str) -> list[str]:
    """Split text so that no CDATA section holds "]]>": "a]]>b" becomes "a]]" and ">b"."""
    parts = text.split("]]>")
    return [("" if index == 0 else ">") + part + ("" if index == len(parts) - 1 else "]]") for index, part in enumerate(parts)]


def _param_value(value: Any) -> str:
    if isinstance(value, bool):
        # Yandex reads param values as Russian text, as in its own feeds ("Да").
        return "Да" if value else "Нет"
    if isinstance(value, Measure):
        return format_number(value.amount)
    if isinstance(value, int | Decimal | float):
        return format_number(value)
    return _text(value)


@dataclass(frozen=True, slots=True)
class _Shop:
    """The header of a catalogue, checked once before anything is written."""

    date: str
    name: str
    company: str
    url: str
    extras: tuple[tuple[str, str], ...]
    currency: str
    categories: tuple[tuple[str, str | None, str], ...]

    @property
    def category_ids(self) -> frozenset[str]:
        return frozenset(category_id for category_id, _, _ in self.categories)


def _shop_from_settings(settings: FeedSettings) -> _Shop:
    """Return the catalogue header from the settings, or raise YmlSettingsError naming every problem."""
    errors: list[str] = []
    options = settings.options
    date = settings.generated_at or datetime.now(UTC).isoformat(timespec="minutes")
    if not _CATALOG_DATE.fullmatch(date):
        errors.append(f"generated_at {date!r} is not an RFC 3339 date and time with a time zone, e.g. 2026-03-01T14:37+03:00")
    name = _text(options.get("shop_name") or settings.title)
    if not name:
        errors.append("the shop name (option shop_name, or the feed title) is empty")
    elif len(name) > MAX_SHOP_NAME:
        errors.append(f"the shop name {name!r} is {len(name)} characters long; Yandex takes at most {MAX_SHOP_NAME}")
    company = _text(options.get("company") or settings.title)
    if not company:
        errors.append("the company (option company, or the feed title) is empty")
    url = _text(options.get("url") or settings.link)
    if not _URL.fullmatch(url):
        errors.append(f"the shop url (option url, or the feed link) must be an absolute http(s) address, got {url!r}")
    elif len(url) > MAX_SHOP_URL:
        errors.append(f"the shop url {url!r} is {len(url)} characters long; Yandex takes at most {MAX_SHOP_URL}")
    extras = tuple((key, _text(options[key])) for key in ("platform", "version", "agency", "email") if options.get(key))
    email = dict(extras).get("email")
    if email is not None and not _EMAIL.fullmatch(email):
        errors.append(f"the shop email {email!r} is not an e-mail address")
    currency = settings.currency
    if currency not in CURRENCIES:
        errors.append(f"currency {currency!r} is not one Yandex accepts ({', '.join(sorted(CURRENCIES))})")
    elif currency not in BASE_CURRENCIES:
        errors.append(f"currency {currency} cannot be the feed's base currency with rate 1; use one of {', '.join(sorted(BASE_CURRENCIES))}")
    categories = _categories_from_settings(settings.categories, errors)
    if errors:
        raise YmlSettingsError("; ".join(errors))
    return _Shop(date, name, company, url, extras, currency, categories)


def _categories_from_settings(categories: list[tuple[Any, Any, str]], errors: list[str]) -> tuple[tuple[str, str | None, str], ...]:
    if not categories:
        errors.append("the feed declares no categories; every offer needs a categoryId from the shop's tree")
        return ()
    result: list[tuple[str, str | None, str]] = []
    seen: set[str] = set()
    for category_id, parent_id, label in categories:
        code = str(category_id).strip()
        parent = None if parent_id is None or str(parent_id).strip() == "" else str(parent_id).strip()
        text = _text(label)
        if not code or any(char.isspace() for char in code):
            errors.append(f"category id {code!r} must be a non-empty id without spaces")
        elif code in seen:
            errors.append(f"category id {code} is declared twice")
        if not text:
            errors.append(f"category {code} has no label")
        seen.add(code)
        result.append((code, parent, text))
    for code, parent, _ in result:
        if parent is not None and parent not in seen:
            errors.append(f"category {code} names parent {parent}, which the tree does not declare")
    return tuple(result)


@register
class YandexMarketFeed(FeedFormat):
    """Yandex.Market YML catalogue, simplified or vendor.model offers, variants by group_id."""

    code: ClassVar[str] = "yandex_market"
    label: ClassVar[str] = "Yandex.Market (YML)"
    media_type: ClassVar[str] = "application/xml"
    extension: ClassVar[str] = "xml"
    renders_records: ClassVar[bool] = True
    fields: ClassVar[tuple[FieldRule, ...]] = (
        FieldRule("id", max_length=MAX_OFFER_ID, description="Offer id, stable forever; our SKU when empty."),
        FieldRule("available", kind="boolean", description="In stock and ready to ship."),
        FieldRule("type", choices=frozenset({"vendor.model"}), description="vendor.model for typePrefix + vendor + model titles."),
        FieldRule("group_id", kind="integer", description="Shared by the variants of one model; the model's number when empty."),
        FieldRule("name", max_length=MAX_NAME, description="Full title: type, brand, model, key features."),
        FieldRule("typePrefix", description="Product type, e.g. Кеды (vendor.model offers)."),
        FieldRule("vendor", description="Brand exactly as the brand writes it."),
        FieldRule("model", description="Model name (vendor.model offers)."),
        FieldRule("vendorCode", description="Manufacturer article number."),
        FieldRule("url", kind="url", max_length=MAX_URL, description="Product page."),
        FieldRule("price", required=True, kind="money", description="Selling price."),
        FieldRule("oldprice", kind="money", description="Price before a discount; above price."),
        FieldRule("currencyId", choices=CURRENCIES, description="The feed's currency; the price's when empty."),
        FieldRule("categoryId", required=True, description="Id of a category of the feed's tree."),
        FieldRule("picture", kind="url", max_items=MAX_PICTURES, item_max_length=MAX_URL, description="Image URLs, main first."),
        FieldRule("delivery", kind="boolean", description="Courier delivery possible."),
        FieldRule("pickup", kind="boolean", description="Pickup possible."),
        FieldRule("store", kind="boolean", description="Can be bought in a store without ordering."),
        FieldRule("description", description="Text or limited XHTML (h3, p, ul, li, br), at most 3000 characters of text."),
        FieldRule("sales_notes", max_length=MAX_SALES_NOTES, description="Terms of sale, e.g. prepayment."),
        FieldRule("manufacturer_warranty", kind="boolean", description="Has the manufacturer's warranty."),
        FieldRule("country_of_origin", description="Country of origin, from Yandex's list."),
        FieldRule("barcode", kind="list", description="GTINs (EAN-13, EAN-8, UPC-A)."),
        FieldRule("param", kind="list", description="Characteristics: name, value, unit."),
        FieldRule("weight", kind="decimal", description="Gross weight in kg with packaging."),
        FieldRule("dimensions", description="Length/width/height in cm with packaging, e.g. 33/22/12."),
        FieldRule("age", kind="integer", description="Age rating in years: 0, 6, 12, 16 or 18."),
    )

    def check(self, record: Record, settings: FeedSettings | None = None) -> list[Problem]:
        """Return every rule of Yandex the record breaks; with settings also its currency and category."""
        problems = super().check(record)
        filled: Any = _Filled(record)
        # A field the plain rules already refused gets no second, overlapping complaint.
        refused = {problem.field for problem in problems}
        problems.extend(problem for problem in self._record_problems(filled) if problem.field not in refused)
        if settings is not None:
            refused = {problem.field for problem in problems}
            category_ids = self._category_ids(settings)
            problems.extend(problem for problem in self._settings_problems(filled, settings.currency, category_ids) if problem.field not in refused)
        return problems

    def _category_ids(self, settings: FeedSettings) -> frozenset[str]:
        """Return the ids of the feed's categories, worked out once per feed, not per record."""
        cached = getattr(self, "_cached_categories", None)
        if cached is None or cached[0] is not settings.categories:
            cached = (settings.categories, frozenset(str(category_id).strip() for category_id, _, _ in settings.categories))
            self._cached_categories = cached
        return cached[1]

    def _record_problems(self, record: Record) -> Iterator[Problem]:
        """Yield the cross-field rules and the checks the field rules cannot express."""
        problem = _offer_id_problem(_offer_id(record))
        if problem is not None:
            yield problem
        yield from self._title_problems(record)
        yield from self._price_problems(record)
        group_id = _group_id(record)
        if isinstance(group_id, int) and not isinstance(group_id, bool) and not 0 <= group_id <= MAX_GROUP_ID:
            yield Problem("group_id", f"group_id must be a whole number of at most 9 digits, got {group_id}", "invalid")
        description = record.get("description")
        if isinstance(description, str):
            yield from self._description_problems(description)
        yield from self._barcode_problems(record.get("barcode"))
        yield from self._param_problems(record.get("param"))
        weight = record.get("weight")
        if isinstance(weight, int | Decimal) and not isinstance(weight, bool) and weight <= 0:
            yield Problem("weight", f"weight must be above zero, got {weight}", "invalid")
        dimensions = record.get("dimensions")
        if dimensions is not None and not _DIMENSIONS.fullmatch(str(dimensions)):
            yield Problem("dimensions", f"dimensions must be length/width/height in cm with a dot, e.g. 33/22/12; got {dimensions!r}", "invalid")
        age = record.get("age")
        if isinstance(age, int) and not isinstance(age, bool) and age not in AGES_IN_YEARS:
            yield Problem("age", f"age must be one of {', '.join(map(str, sorted(AGES_IN_YEARS)))} years, got {age}", "not_allowed")

    def _title_problems(self, record: Record) -> Iterator[Problem]:
        if record.get("type") == "vendor.model":
            for name in ("vendor", "model"):
                if _field_text(record, name) is None:
                    yield Problem(name, f"{name} is required for type vendor.model offers and is empty", "required")
        elif _field_text(record, "name") is None:
            yield Problem("name", "name is required for offers without a type and is empty", "required")
        if record.get("categoryId") is not None and _field_text(record, "categoryId") is None:
            yield Problem("categoryId", "categoryId is required by the channel and is empty", "required")

    def _price_problems(self, record: Record) -> Iterator[Problem]:
        price = record.get("price")
        if not isinstance(price, Money):
            return
        if price.amount.quantize(_CENT) <= 0:
            yield Problem("price", f"price must be above zero, got {price}", "not_positive")
        currency = record.get("currencyId")
        if currency is None and price.currency not in CURRENCIES:
            yield Problem("currencyId", f"price is in {price.currency}, a currency Yandex does not accept", "not_allowed")
        elif currency is not None and _same_currency(str(currency)) != _same_currency(price.currency):
            yield Problem("currencyId", f"currencyId is {currency} but the price is in {price.currency}", "currency_mismatch")
        oldprice = record.get("oldprice")
        if isinstance(oldprice, Money):
            if _same_currency(oldprice.currency) != _same_currency(price.currency):
                yield Problem("oldprice", f"oldprice is in {oldprice.currency} but the price is in {price.currency}", "currency_mismatch")
            elif oldprice.amount.quantize(_CENT) <= price.amount.quantize(_CENT):
                yield Problem("oldprice", f"oldprice {oldprice} must be higher than price {price}", "oldprice_not_higher")

    def _description_problems(self, description: str) -> Iterator[Problem]:
        tags, length = _description_parts(description)
        refused = sorted({tag for tag in tags if tag not in DESCRIPTION_TAGS})
        if refused:
            allowed = ", ".join(sorted(DESCRIPTION_TAGS))
            yield Problem("description", f"description uses tags Yandex refuses: {', '.join(refused)}; only {allowed} are allowed", "not_allowed")
        if length > MAX_DESCRIPTION:
            yield Problem("description", f"description has {length} characters of text; the channel takes at most {MAX_DESCRIPTION}", "too_long")

    def _barcode_problems(self, value: Any) -> Iterator[Problem]:
        for barcode in _as_list(value):
            # Yandex takes in-store (2x) codes too, so restricted prefixes pass.
            reason = gtin_problem(str(barcode), is_global=False)
            if reason is not None:
                yield Problem("barcode", f"barcode {barcode} {reason}", "invalid_gtin")
                return

    def _param_problems(self, value: Any) -> Iterator[Problem]:
        for param in _as_list(value):
            if not isinstance(param, Param):
                yield Problem("param", f"param must be a characteristic with a name and a value, got {param!r}", "invalid")
                return
            if not _text(param.name) or param.value is None or _param_value(param.value) == "":
                yield Problem("param", f"param {param.name!r} needs both a name and a value", "invalid")
                return

    def _settings_problems(self, record: Record, declared: str, category_ids: frozenset[str]) -> Iterator[Problem]:
        """Yield the rules that depend on the feed: its one currency and its category tree."""
        currency = self._currency_of(record)
        if currency is not None and _same_currency(currency) != _same_currency(declared):
            yield Problem("currencyId", f"currencyId {currency} is not the feed's currency {declared}", "undeclared_currency")
        category = record.get("categoryId")
        if category is not None and str(category).strip() not in category_ids:
            yield Problem("categoryId", f"categoryId {category} is not a category of the feed's tree", "unknown_category")

    @staticmethod
    def _currency_of(record: Record) -> str | None:
        currency = record.get("currencyId")
        if currency is not None:
            return str(currency)
        price = record.get("price")
        return price.currency if isinstance(price, Money) else None

    # --- writing -------------------------------------------------------------------------

    def write(self, items: Iterator[Record | RecordGroup], settings: FeedSettings, sink: Sink) -> None:
        """Stream the catalogue: the shop header, then one offer per record.

        The offers are written as text built here (escaped as lxml escapes), a batch of them per
        write; an offer holding characters only lxml knows how to treat is serialized by lxml.
        """
        shop = _shop_from_settings(settings)
        category_ids = shop.category_ids
        out = sink.open(self.file_name(settings))
        out.write(_DECLARATION)
        out.write(f'<yml_catalog date="{_attribute_text(shop.date)}">\n{_INDENT}<shop>'.encode())
        out.write(_header_xml(shop).encode())
        out.write(f"\n{_INDENT * 2}<offers>".encode())
        chunk: list[str] = []
        for record in self._records(items):
            if record.rendered is not None:
                chunk.append(record.rendered)
            else:
                filled: Any = _Filled(record)
                problems = list(self._settings_problems(filled, shop.currency, category_ids))
                if problems:
                    # The pipeline checks records with the settings first; this guard
                    # keeps one stray record from making Yandex refuse the whole feed.
                    logger.warning("Offer %s left out of the YML feed: %s", _offer_id(filled), "; ".join(p.message for p in problems))
                    continue
                chunk.append(_OFFER_START + self._offer_xml(filled, shop.currency))
            if len(chunk) >= 512:
                out.write("".join(chunk).encode())
                chunk = []
        chunk.append(f"\n{_INDENT * 2}</offers>\n{_INDENT}</shop>\n</yml_catalog>\n")
        out.write("".join(chunk).encode())
        out.flush()

    def render(self, record: Record, settings: FeedSettings) -> str | Problem:
        """Return the record's `<offer>` element as the feed writes it (the record passed `check` with the settings)."""
        return _OFFER_START + self._offer_xml(_Filled(record), settings.currency)

    @staticmethod
    def _records(items: Iterator[Record | RecordGroup]) -> Iterator[Record]:
        for item in items:
            if isinstance(item, RecordGroup):
                yield from item.variants
            else:
                yield item

    def _offer_xml(self, record: Any, declared: str) -> str:
        """Return one offer element as text, exactly as lxml writes it."""
        offer_id = _offer_id(record)
        offer_type = record.get("type")
        group_id = _group_id(record)
        available = record.get("available")
        weight = record.get("weight")
        age = record.get("age")
        # texts not cleaned by _text: lxml refuses some characters and escapes others in its own way
        raw = (offer_id, offer_type, group_id, weight, age)
        if not all(value is None or isinstance(value, bool | int | Decimal) or (isinstance(value, str) and value.isprintable()) for value in raw):
            return _lxml_offer(self, record, declared)
        parts = [f'<offer id="{_attribute_text(offer_id)}"']
        if offer_type is not None:
            parts.append(f' type="{_attribute_text(str(offer_type))}"')
        if group_id is not None:
            parts.append(f' group_id="{_attribute_text(str(group_id))}"')
        if isinstance(available, bool):
            parts.append(f' available="{_boolean(available)}"')
        parts.append(">")
        _offer_children(parts, record, declared, weight, age)
        # the children always hold currencyId, so the offer ends on the last child's line break
        parts.append(_OFFER_BREAK + "</offer>")
        return "".join(parts)

    @staticmethod
    def _write_header(xf: Any, shop: _Shop) -> None:
        level = "\n" + _INDENT * 2
        for tag, value in (("name", shop.name), ("company", shop.company), ("url", shop.url), *shop.extras):
            xf.write(level)
            _write_text_element(xf, tag, value)
        xf.write(level)
        with xf.element("currencies"):
            xf.write(level + _INDENT)
            xf.write(etree.Element("currency", id=shop.currency, rate="1"))
            xf.write(level)
        xf.write(level)
        with xf.element("categories"):
            for category_id, parent_id, label in shop.categories:
                xf.write(level + _INDENT)
                attributes = {"id": category_id} if parent_id is None else {"id": category_id, "parentId": parent_id}
                _write_text_element(xf, "category", label, attributes)
            xf.write(level)

    def _write_offer(self, xf: Any, record: Record, declared: str) -> None:
        attributes = {"id": _offer_id(record)}
        offer_type = record.get("type")
        if offer_type is not None:
            attributes["type"] = str(offer_type)
        group_id = _group_id(record)
        if group_id is not None:
            attributes["group_id"] = str(group_id)
        available = record.get("available")
        if isinstance(available, bool):
            attributes["available"] = _boolean(available)
        # One small element per offer, written in one call: writing child by child is several
        # times slower, and a catalogue can hold hundreds of thousands of offers.
        offer = etree.Element("offer", attributes)
        offer.text = _CHILD_BREAK
        description_chunks: list[str] = []
        child = None
        for tag, value, tag_attributes in self._offer_elements(record, declared):
            child = etree.SubElement(offer, tag, tag_attributes or {})
            child.tail = _CHILD_BREAK
            if tag != "description" or not _TAG.search(value):
                child.text = value
                continue
            description_chunks = _cdata_chunks(value)
            child.text = etree.CDATA(description_chunks[0])
        if child is not None:
            child.tail = _OFFER_BREAK
        if len(description_chunks) > 1:
            _write_split_description(xf, offer, description_chunks)
        else:
            xf.write(offer)

    @staticmethod
    def _offer_elements(record: Record, declared: str) -> Iterator[tuple[str, str, dict[str, str] | None]]:
        """Yield (tag, text, attributes) of the offer's children in the order of Yandex's examples."""
        for tag in ("name", "typePrefix", "model", "url"):
            text = _field_text(record, tag)
            if text is not None:
                yield tag, text, None
        price = record.get("price")
        if isinstance(price, Money):
            yield "price", _price_text(price.amount), None
        oldprice = record.get("oldprice")
        if isinstance(oldprice, Money):
            yield "oldprice", _price_text(oldprice.amount), None
        # The catalogue declares one currency; RUB and RUR name the same one.
        yield "currencyId", declared, None
        category = _field_text(record, "categoryId")
        if category is not None:
            yield "categoryId", category, None
        for tag in ("vendor", "vendorCode"):
            text = _field_text(record, tag)
            if text is not None:
                yield tag, text, None
        for picture in _as_list(record.get("picture"))[:MAX_PICTURES]:
            yield "picture", _text(picture), None
        for tag in ("description", "sales_notes"):
            text = _field_text(record, tag)
            if text is not None:
                yield tag, text, None
        warranty = record.get("manufacturer_warranty")
        if isinstance(warranty, bool):
            yield "manufacturer_warranty", _boolean(warranty), None
        country = _field_text(record, "country_of_origin")
        if country is not None:
            yield "country_of_origin", country, None
        for param in _as_list(record.get("param")):
            if isinstance(param, Param):
                unit = param.unit if param.unit else (param.value.unit if isinstance(param.value, Measure) else None)
                yield "param", _param_value(param.value), {"name": _text(param.name)} | ({"unit": _text(unit)} if unit else {})
        for barcode in _as_list(record.get("barcode")):
            yield "barcode", _text(barcode), None
        for tag in ("store", "pickup", "delivery"):
            value = record.get(tag)
            if isinstance(value, bool):
                yield tag, _boolean(value), None
        weight = record.get("weight")
        if weight is not None:
            yield "weight", format_number(weight), None
        dimensions = _field_text(record, "dimensions")
        if dimensions is not None:
            yield "dimensions", dimensions, None
        age = record.get("age")
        if age is not None:
            yield "age", str(age), {"unit": "year"}


def _boolean(value: bool) -> str:
    return "true" if value else "false"


def _offer_children(parts: list[str], record: Any, declared: str, weight: Any, age: Any) -> None:
    """Add the offer's children as text, as `_offer_elements` lists them (same order, same texts)."""
    add = parts.append
    get = record.get
    for tag in ("name", "typePrefix", "model", "url"):
        value = get(tag)
        if value is not None and (text := _text(value)):
            add(f"{_CHILD_BREAK}<{tag}>{_element_text(text)}</{tag}>")
    price = get("price")
    if isinstance(price, Money):
        add(f"{_CHILD_BREAK}<price>{_element_text(_price_text(price.amount))}</price>")
    oldprice = get("oldprice")
    if isinstance(oldprice, Money):
        add(f"{_CHILD_BREAK}<oldprice>{_element_text(_price_text(oldprice.amount))}</oldprice>")
    add(f"{_CHILD_BREAK}<currencyId>{_element_text(declared)}</currencyId>")
    for tag in ("categoryId", "vendor", "vendorCode"):
        value = get(tag)
        if value is not None and (text := _text(value)):
            add(f"{_CHILD_BREAK}<{tag}>{_element_text(text)}</{tag}>")
    for picture in _as_list(get("picture"))[:MAX_PICTURES]:
        add(f"{_CHILD_BREAK}<picture>{_element_text(_text(picture))}</picture>")
    value = get("description")
    if value is not None and (text := _text(value)):
        if _TAG.search(text):
            content = "".join(f"<![CDATA[{chunk}]]>" for chunk in _cdata_chunks(text))
        else:
            content = _element_text(text)
        add(f"{_CHILD_BREAK}<description>{content}</description>")
    value = get("sales_notes")
    if value is not None and (text := _text(value)):
        add(f"{_CHILD_BREAK}<sales_notes>{_element_text(text)}</sales_notes>")
    warranty = get("manufacturer_warranty")
    if isinstance(warranty, bool):
        add(f"{_CHILD_BREAK}<manufacturer_warranty>{_boolean(warranty)}</manufacturer_warranty>")
    value = get("country_of_origin")
    if value is not None and (text := _text(value)):
        add(f"{_CHILD_BREAK}<country_of_origin>{_element_text(text)}</country_of_origin>")
    for param in _as_list(get("param")):
        if isinstance(param, Param):
            unit = param.unit if param.unit else (param.value.unit if isinstance(param.value, Measure) else None)
            unit_attribute = f' unit="{_attribute_text(_text(unit))}"' if unit else ""
            add(f'{_CHILD_BREAK}<param name="{_attribute_text(_text(param.name))}"{unit_attribute}>{_element_text(_param_value(param.value))}</param>')
    for barcode in _as_list(get("barcode")):
        add(f"{_CHILD_BREAK}<barcode>{_element_text(_text(barcode))}</barcode>")
    for tag in ("store", "pickup", "delivery"):
        value = get(tag)
        if isinstance(value, bool):
            add(f"{_CHILD_BREAK}<{tag}>{_boolean(value)}</{tag}>")
    if weight is not None:
        add(f"{_CHILD_BREAK}<weight>{_element_text(format_number(weight))}</weight>")
    value = get("dimensions")
    if value is not None and (text := _text(value)):
        add(f"{_CHILD_BREAK}<dimensions>{_element_text(text)}</dimensions>")
    if age is not None:
        add(f'{_CHILD_BREAK}<age unit="year">{_element_text(str(age))}</age>')


_OFFER_START = "\n" + _INDENT * 3


def _element_text(text: str) -> str:
    """Escape text as lxml writes an element's text: &, <, > and carriage returns."""
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return text


def _attribute_text(text: str) -> str:
    """Escape text as lxml writes an attribute value: &, <, >, quotes and white space other than spaces."""
    if "&" in text or "<" in text or ">" in text or '"' in text or not text.isprintable():
        return (
            text.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&quot;")
            .replace("\n", "&#10;")
            .replace("\r", "&#13;")
            .replace("\t", "&#9;")
        )
    return text


def _header_xml(shop: _Shop) -> str:
    """Return the shop's header elements (name to categories) as lxml writes them."""
    buffer = io.BytesIO()
    with etree.xmlfile(buffer, encoding="UTF-8") as xf, xf.element("shop"):
        YandexMarketFeed._write_header(xf, shop)
    text = buffer.getvalue().decode()
    return text[len("<shop>") : -len("</shop>")]


def _lxml_offer(feed: YandexMarketFeed, record: Any, declared: str) -> str:
    """Return one offer as lxml writes it, for offers whose texts the quick path does not handle."""
    buffer = io.BytesIO()
    with etree.xmlfile(buffer, encoding="UTF-8") as xf:
        feed._write_offer(xf, record, declared)
    return buffer.getvalue().decode()


def _write_text_element(xf: Any, tag: str, text: str, attributes: dict[str, str] | None = None) -> None:
    element = etree.Element(tag, attributes or {})
    element.text = text
    xf.write(element)


def _write_split_description(xf: Any, offer: etree._Element, chunks: list[str]) -> None:
    """Write an offer whose description needs several CDATA sections, which an element cannot hold."""
    with xf.element(offer.tag, dict(offer.attrib)):
        xf.write(offer.text)
        for child in offer:
            if child.tag != "description":
                xf.write(child)
                continue
            with xf.element("description"):
                for chunk in chunks:
                    xf.write(etree.CDATA(chunk))
            xf.write(child.tail)


# --- schema --------------------------------------------------------------------------------


@functools.cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(YML_SCHEMA_PATH)))


def validate_yml(path: str | PathLike[str] | IO[bytes]) -> list[str]:
    """Return what keeps a YML file from matching the schema of the current format, with line numbers."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        document = etree.parse(os.fspath(path) if isinstance(path, PathLike) else path, parser)
    except etree.XMLSyntaxError as error:
        return [f"line {entry.line}: {entry.message}" for entry in parser.error_log] or [str(error)]
    schema = _schema()
    if schema.validate(document):
        return []
    return [f"line {entry.line}: {entry.message}" for entry in schema.error_log]
