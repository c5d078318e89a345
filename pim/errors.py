"""Domain errors raised by services; entry points turn them into HTTP codes, messages or reports."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace


class ErrorCode(enum.StrEnum):
    """Machine-readable reason of a rule violation, stable for reports and translations."""

    REQUIRED = "required"
    UNKNOWN = "unknown"
    INVALID_TYPE = "invalid_type"
    INVALID_FORMAT = "invalid_format"
    TOO_LONG = "too_long"
    PATTERN = "pattern"
    OUT_OF_RANGE = "out_of_range"
    DECIMALS = "decimals_not_allowed"
    NEGATIVE = "negative_not_allowed"
    UNKNOWN_OPTION = "unknown_option"
    UNKNOWN_UNIT = "unknown_unit"
    UNKNOWN_CURRENCY = "unknown_currency"
    UNKNOWN_LOCALE = "unknown_locale"
    UNKNOWN_CHANNEL = "unknown_channel"
    NOT_LOCALIZABLE = "not_localizable"
    NOT_SCOPABLE = "not_scopable"
    NOT_IN_FAMILY = "not_in_family"
    NOT_AT_LEVEL = "not_at_level"
    DUPLICATE = "duplicate"
    AXIS_TAKEN = "axis_combination_taken"
    AXIS_MISSING = "axis_value_missing"
    WRONG_TREE = "wrong_tree"
    IN_USE = "in_use"
    STALE = "stale_version"
    FILE = "invalid_file"


@dataclass(frozen=True)
class FieldError:
    """One broken rule: where (a dotted field path) and what, in words for a user."""

    field: str
    message: str
    code: str
    row: int | None = None
    column: str | None = None

    def to_dict(self) -> dict[str, object]:
        """Return the error as a JSON-ready mapping, leaving out unset positions."""
        data: dict[str, object] = {"field": self.field, "message": self.message, "code": self.code}
        if self.row is not None:
            data["row"] = self.row
        if self.column is not None:
            data["column"] = self.column
        return data


class PimError(Exception):
    """Base of every domain error."""


class NotFound(PimError):
    """A code that names nothing."""


class Conflict(PimError):
    """A duplicate code or a stale version."""


class Invalid(PimError):
    """One or more rule violations; nothing was written."""

    def __init__(self, errors: Iterable[FieldError]):
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors) or "invalid")

    @classmethod
    def one(cls, field: str, message: str, code: str = ErrorCode.INVALID_FORMAT) -> Invalid:
        """Build an error with a single violation."""
        return cls([FieldError(field, message, str(code))])

    def at_row(self, row: int) -> Invalid:
        """Return a copy whose errors all point at a row of an input file."""
        return Invalid(replace(e, row=row) for e in self.errors)
