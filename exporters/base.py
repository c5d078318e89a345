"""What every feed format shares: the records it receives, the rules it checks, where it writes.

An exporter never touches the database or Flask. The publishing pipeline in `pim.publishing`
resolves each product for a channel into a `Record` (field name -> value, already mapped and
transformed by the export profile), asks the format to `check` it, and hands the records that
pass to the format's `write`, which streams them into files opened on a `Sink`.
"""

from __future__ import annotations

import csv
import functools
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, Any, ClassVar, Protocol

# --- values ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in a currency; never a float."""

    amount: Decimal
    currency: str

    def text(self, places: int = 2) -> str:
        """Return the amount with `places` decimals and a dot, e.g. "12.50"."""
        return format_amount(self.amount, places)

    def __str__(self) -> str:
        return f"{self.text()} {self.currency}"


@dataclass(frozen=True, slots=True)
class Measure:
    """An amount in a unit of a measurement family, e.g. 750 GRAM."""

    amount: Decimal
    unit: str

    def __str__(self) -> str:
        return f"{format_number(self.amount)} {self.unit}"


@dataclass(frozen=True, slots=True)
class Param:
    """A named characteristic, e.g. Yandex's `<param name="Цвет">белый</param>` or an OZON attribute."""

    name: str
    value: Any
    unit: str | None = None
    id: int | None = None
    value_id: int | None = None


@dataclass(slots=True)
class Record:
    """One product as a channel sees it: the profile's fields, resolved and transformed.

    `key` is our SKU, `group` the code of the product model a variant belongs to (its root
    model), `group_number` a stable integer for that model where a format wants numbers
    (Yandex's `group_id`). A record with `is_deleted` tells a delta feed that the product left.
    `rendered` is what a format that renders records (see `FeedFormat.render`) prepared to write
    for it, once the run has rendered it.
    """

    key: str
    fields: dict[str, Any]
    group: str | None = None
    group_number: int | None = None
    is_deleted: bool = False
    rendered: Any = None

    def get(self, name: str, default: Any = None) -> Any:
        """Return one field's value, or `default` when it is absent or empty."""
        value = self.fields.get(name)
        # an empty text or list counts as absent (the type test first: comparing a Money to "" costs a call)
        if value is None or (isinstance(value, str | list) and not value):
            return default
        return value

    def __reduce__(self) -> tuple[Any, ...]:
        # records cross from an export's helper process a thousand at a time: rebuilt from their
        # arguments, they unpickle several times faster than through a slotted dataclass's state
        return (Record, (self.key, self.fields, self.group, self.group_number, self.is_deleted, self.rendered))


@dataclass(slots=True)
class RecordGroup:
    """A product model with its variants, for formats that nest variants under their model.

    `rendered` is what a format that renders records prepared for the model itself (see
    `FeedFormat.render_group`), once the run has rendered it.
    """

    key: str
    fields: dict[str, Any]
    variants: list[Record]
    axes: tuple[str, ...] = ()
    rendered: Any = None

    def __reduce__(self) -> tuple[Any, ...]:
        # as Record's: groups cross from an export's helper process with their batch
        return (RecordGroup, (self.key, self.fields, self.variants, self.axes, self.rendered))


def format_amount(amount: Decimal, places: int = 2) -> str:
    """Return an amount rounded half up to `places` decimals, with a dot and no grouping."""
    quantum = _QUANTA.get(places) or Decimal(1).scaleb(-places)
    return f"{amount.quantize(quantum, rounding=ROUND_HALF_UP):f}"


# the steps amounts are rounded to, by places (currencies have 0 to 4)
_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(7)}


def format_number(number: Decimal | int | float) -> str:
    """Return a number without exponent or trailing zeros: 0.750 -> "0.75", 42.0 -> "42"."""
    if isinstance(number, int):
        return str(number)
    value = Decimal(str(number)) if isinstance(number, float) else number
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


class CsvLine:
    """Render one row of a CSV file as text, as `csv.writer` would write it into the file."""

    __slots__ = ("_lines", "_writer")

    def __init__(self, **options: Any) -> None:
        self._lines: list[str] = []
        # the csv module writes each row with one call of `write`: here, onto a list
        self._writer = csv.writer(_Appender(self._lines), **options)

    def __call__(self, cells: Iterable[Any]) -> str:
        self._writer.writerow(cells)
        return self._lines.pop()


class _Appender:
    """A file-like object whose writes land on a list."""

    __slots__ = ("write",)

    def __init__(self, lines: list[str]) -> None:
        self.write = lines.append


# --- text safety ---------------------------------------------------------------------------

# XML 1.0 allows tab, LF and CR below 0x20 and forbids surrogates and U+FFFE/U+FFFF.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def xml_text(value: Any) -> str:
    """Return a value as text that XML 1.0 can hold: forbidden characters removed."""
    text = value if isinstance(value, str) else str(value)
    # Printable text holds none of the forbidden characters; testing that is much cheaper than the pattern.
    return text if text.isprintable() else _XML_FORBIDDEN.sub("", text)


# Control characters other than tab, LF and CR, lone surrogates (which UTF-8 cannot hold) and U+FFFE/U+FFFF.
_JSON_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean_text(value: Any) -> str:
    """Return a value as text without control characters, lone surrogates or non-characters (for JSON)."""
    return _JSON_UNSAFE.sub("", value if isinstance(value, str) else str(value))


def strip_control(text: str) -> str:
    """Remove control characters other than tab, LF and CR."""
    return _CONTROL.sub("", text)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula with an apostrophe."""
    return "'" + text if text.startswith(_FORMULA_START) else text


# --- GS1 identifiers -----------------------------------------------------------------------


def gtin_check_digit(digits: str) -> int:
    """Return the GS1 check digit for the digits before it (any GTIN length; ASCII digits only, which callers check first)."""
    # from the right: the first, third... digits weigh 3, the others 1
    # summing the ASCII codes and taking off 48 ("0") per digit costs a tenth of converting each digit
    odd, even = digits[-1::-2], digits[-2::-2]
    total = 3 * (sum(odd.encode()) - 48 * len(odd)) + sum(even.encode()) - 48 * len(even)
    return (10 - total % 10) % 10


def gtin_problem(value: str, *, is_global: bool = True) -> str | None:
    """Return why `value` is not a valid GTIN-8/12/13/14, or None when it is.

    With `is_global`, restricted-circulation (2x, 02x, 04x) and coupon (05x, 981-984, 99)
    prefixes are refused, as channels that want a global trade item number do.
    """
    if not value.isdigit() or not value.isascii():
        return "must contain digits only"
    if len(value) not in (8, 12, 13, 14):
        return f"must have 8, 12, 13 or 14 digits, not {len(value)}"
    if gtin_check_digit(value[:-1]) != int(value[-1]):
        return f"has a wrong check digit (expected {gtin_check_digit(value[:-1])})"
    if is_global:
        gtin13 = value[-13:].rjust(13, "0")
        if gtin13[0] == "2" or gtin13[:3] in ("002", "004", "005") or gtin13[:2] == "99" or gtin13[:3] in ("981", "982", "983", "984"):
            return "uses a restricted or coupon prefix, which is not a global trade item number"
    return None


# --- field rules -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a record cannot go into a feed: the field, a message for people, a code for reports."""

    field: str
    message: str
    code: str


@dataclass(frozen=True)
class FieldRule:
    """What a channel accepts in one field.

    `kind` is one of text, url, money, gtin, integer, decimal, boolean, measure, list, any.
    For a list, `max_items` caps its length and `item_max_length` each item's length.
    """

    name: str
    required: bool = False
    kind: str = "text"
    max_length: int | None = None
    choices: frozenset[str] | None = None
    max_items: int | None = None
    item_max_length: int | None = None
    description: str = ""


_URL = re.compile(r"https?://[^\s]+", re.IGNORECASE)


def _length_problem(rule: FieldRule, text: str, limit: int | None) -> Problem | None:
    if limit is not None and len(text) > limit:
        return Problem(rule.name, f"{rule.name} is {len(text)} characters long; the channel takes at most {limit}", "too_long")
    return None


def _check_scalar(rule: FieldRule, value: Any, limit: int | None) -> Problem | None:
    kind = rule.kind
    if kind == "money":
        if not isinstance(value, Money):
            return Problem(rule.name, f"{rule.name} must be a price with a currency", "invalid")
        if value.amount < 0:
            return Problem(rule.name, f"{rule.name} must not be negative, got {value}", "invalid")
        return None
    if kind == "gtin":
        reason = gtin_problem(str(value))
        return None if reason is None else Problem(rule.name, f"{rule.name} {value!s} {reason}", "invalid_gtin")
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return Problem(rule.name, f"{rule.name} must be a whole number, got {value!r}", "invalid")
        return None
    if kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            return Problem(rule.name, f"{rule.name} must be a number, got {value!r}", "invalid")
        return None
    if kind == "boolean":
        return None if isinstance(value, bool) else Problem(rule.name, f"{rule.name} must be true or false", "invalid")
    if kind == "measure":
        return None if isinstance(value, Measure) else Problem(rule.name, f"{rule.name} must be an amount with a unit", "invalid")
    if kind == "any":
        return None
    text = value if isinstance(value, str) else str(value)
    if kind == "url" and not _URL.fullmatch(text):
        return Problem(rule.name, f"{rule.name} must be an absolute http(s) address, got {text[:80]!r}", "invalid_url")
    if rule.choices is not None and text not in rule.choices:
        allowed = ", ".join(sorted(rule.choices))
        return Problem(rule.name, f"{rule.name} must be one of {allowed}; got {text[:80]!r}", "not_allowed")
    return _length_problem(rule, text, limit)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


ScalarCheck = Callable[[Any], "Problem | None"]


def _scalar_check(rule: FieldRule, limit: int | None) -> ScalarCheck | None:
    """Return the check of one value against a rule, or None when the rule lets every value through."""
    kind = rule.kind
    if kind == "any" or (kind not in ("money", "gtin", "integer", "decimal", "boolean", "measure", "url") and rule.choices is None and limit is None):
        return None
    # the common kinds get a check of their own; the others go through _check_scalar
    if kind == "money":
        return lambda value: None if type(value) is Money and value.amount >= 0 else _check_scalar(rule, value, limit)
    if kind == "decimal":
        return lambda value: None if type(value) is Decimal or type(value) is int else _check_scalar(rule, value, limit)
    if kind == "boolean":
        return lambda value: None if value is True or value is False else _check_scalar(rule, value, limit)
    if kind == "measure":
        return lambda value: None if type(value) is Measure else _check_scalar(rule, value, limit)
    if kind not in ("gtin", "integer", "url") and rule.choices is None and limit is not None:
        return lambda value: None if type(value) is str and len(value) <= limit else _check_scalar(rule, value, limit)
    return functools.partial(_check_scalar, rule, limit=limit)


def value_check(rule: FieldRule) -> ScalarCheck | None:
    """Return the check of one value against a rule, None when every value passes: for a field a
    format checks its own way (one value or a list of any length), compiled once per run."""
    return _scalar_check(rule, rule.max_length)


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    """A rule with what checking it needs worked out once per run instead of once per value."""

    name: str
    required: bool
    takes_list: bool
    max_items: int | None
    check: ScalarCheck | None
    check_item: ScalarCheck | None


def _compile_rule(rule: FieldRule) -> _CompiledRule:
    item_rule = rule if rule.kind != "list" else FieldRule(rule.name, choices=rule.choices)
    return _CompiledRule(
        rule.name,
        rule.required,
        rule.kind == "list" or rule.max_items is not None,
        rule.max_items,
        _scalar_check(rule, rule.max_length),
        _scalar_check(item_rule, rule.item_max_length),
    )


def compile_rules(rules: Iterable[FieldRule]) -> Callable[[Record], list[Problem]]:
    """Return a function that checks a record against the rules; compiled once per run.

    A channel has many optional fields and a record fills some: the check walks the record's
    fields and looks up their rules, and checks the required ones apart. Problems come in the
    order of the rules.
    """
    checks = tuple(_compile_rule(rule) for rule in rules)
    by_name: dict[str, list[_CompiledRule]] = {}
    for rule in checks:
        by_name.setdefault(rule.name, []).append(rule)
    required = tuple(dict.fromkeys(rule.name for rule in checks if rule.required))
    order = {name: index for index, name in enumerate(by_name)}

    def check(record: Record) -> list[Problem]:
        problems: list[Problem] = []
        fields = record.fields
        for name in required:
            value = fields.get(name)
            if value is None or (isinstance(value, str | list) and not value):
                problems.append(Problem(name, f"{name} is required by the channel and is empty", "required"))
        for name, value in fields.items():
            found = by_name.get(name)
            if found is None or value is None or (isinstance(value, str | list) and not value):
                continue
            for rule in found:
                if isinstance(value, list | tuple):
                    if not rule.takes_list:
                        problems.append(Problem(name, f"{name} takes one value, got {len(value)}", "invalid"))
                        continue
                    if rule.max_items is not None and len(value) > rule.max_items:
                        problems.append(Problem(name, f"{name} has {len(value)} values; the channel takes at most {rule.max_items}", "too_many"))
                    check_item = rule.check_item
                    if check_item is not None:
                        for item in value:
                            problem = check_item(item)
                            if problem is not None:
                                problems.append(problem)
                                break
                    continue
                if rule.check is not None:
                    problem = rule.check(value)
                    if problem is not None:
                        problems.append(problem)
        if len(problems) > 1:
            # stable: a rule's own problems keep their order
            problems.sort(key=lambda problem: order.get(problem.field, len(order)))
        return problems

    return check


# --- where formats write -------------------------------------------------------------------


class Sink(Protocol):
    """Where a format writes its files: each name opens one new binary file of the feed.

    A format may close a file it has finished (a request body of a chunked feed), so that
    thousands of files never stay open at once; the publisher syncs and publishes them all.
    """

    def open(self, name: str) -> IO[bytes]:
        """Open a new file of this feed for writing."""
        ...


@dataclass
class FeedSettings:
    """What a format needs besides the records: the feed's header data and per-format options.

    `categories` lists the channel's own category tree as (id, parent id, label) in tree order,
    for formats that declare it (Yandex's `<categories>`). `options` holds the format's own
    settings from the export profile (shop name, company, chunk size...). `is_for_people`
    neutralises spreadsheet formulas in CSV cells; machine feeds keep values exact.
    """

    code: str
    title: str = ""
    link: str = ""
    description: str = ""
    locale: str = "en_US"
    currency: str = "EUR"
    generated_at: str = ""
    categories: list[tuple[str, str | None, str]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    is_for_people: bool = False
    is_delta: bool = False


class FeedFormat(ABC):
    """A feed format: its file name, media type, field rules and writer; subclasses register."""

    code: ClassVar[str]
    label: ClassVar[str]
    media_type: ClassVar[str]
    extension: ClassVar[str]
    fields: ClassVar[tuple[FieldRule, ...]] = ()
    supports_delta: ClassVar[bool] = False
    is_grouped: ClassVar[bool] = False
    # a free-form format (the web shop) takes any field name; others only those of `fields`
    accepts_any_field: ClassVar[bool] = False
    # required fields the format fills itself when a profile leaves them out (an id from the SKU)
    derived_fields: ClassVar[frozenset[str]] = frozenset()
    # printed on demand for chosen products (shelf labels), not a whole feed: a run may name SKUs
    prints_on_demand: ClassVar[bool] = False
    # writes each record from parts prepared for it alone (a line, an XML element): see `render`
    renders_records: ClassVar[bool] = False

    def __init__(self) -> None:
        self._check_fields = compile_rules(self.fields)
        # records a format refuses while writing, for rules that span several records (a
        # group mixing categories); the publisher reports them as skipped
        self.rejected: list[tuple[str, Problem]] = []
        # records published with something the reader should know (a placeholder for a missing
        # image, a label without its barcode); the publisher reports them as warnings
        self.warnings: list[tuple[str, Problem]] = []

    def check(self, record: Record, settings: FeedSettings | None = None) -> list[Problem]:
        """Return every rule of the channel the record breaks (empty when it may be published).

        With `settings`, rules that depend on the feed (a category of the feed's tree, the
        feed's currency) are checked too.
        """
        return self._check_fields(record)

    def option_problems(self, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Return (option, message) for every option of a profile the format cannot use, so a
        definition is refused when it is applied rather than when it runs; none by default."""
        return []

    def notices(self, record: Record, settings: FeedSettings) -> list[Problem]:
        """Return what a record that passes `check` will be published without (a picture, a barcode).

        The record is published all the same; the run reports these as warnings, and `pim export
        explain` shows them before any run. Formats that print nothing in place of a value have none.
        """
        return []

    def render(self, record: Record, settings: FeedSettings) -> Any:
        """Return what `write` writes for a record that passes `check` (its text, or the format's
        own prepared parts), or the Problem that keeps it out.

        Formats with `renders_records` implement it. The run renders each record while it resolves
        the records (on either core of a big run) and keeps the result in `Record.rendered`;
        `write` then writes it, and renders only the records that come without one (the
        deletions of a delta feed). A rendered record keeps no fields: the format must need
        nothing else of it but its key and group. None (this default) prepares nothing: the
        record keeps its fields and `write` works from them.
        """
        return None

    def render_group(self, group: RecordGroup, variants: list[Record], settings: FeedSettings) -> tuple[Any, list[Any]]:
        """Return what `write` writes for a product model itself and for each of its variants
        (which passed `check`), for formats that render records and nest variants (`is_grouped`).

        A variant's part may depend on its model's fields (a flat row repeats them), so the run
        renders the variants of a model together with it, in the resolve step, instead of calling
        `render` for each. `write` may get fewer of the variants than were rendered (a delta
        leaves the unchanged ones out), so a model's part must not depend on which of them come.
        The run keeps the results in `RecordGroup.rendered` and `Record.rendered`; the default
        prepares nothing.
        """
        return None, [None] * len(variants)

    def file_name(self, settings: FeedSettings) -> str:
        """Return the name of the feed's main file."""
        return f"{settings.code}.{self.extension}"

    @abstractmethod
    def write(self, items: Iterator[Record | RecordGroup], settings: FeedSettings, sink: Sink) -> None:
        """Stream the records into one or more files opened on the sink."""


FORMATS: dict[str, type[FeedFormat]] = {}


def register(cls: type[FeedFormat]) -> type[FeedFormat]:
    """Register a format class under its code (used as a class decorator)."""
    FORMATS[cls.code] = cls
    return cls
