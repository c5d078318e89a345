"""Completeness: for each product x channel x locale, the share of required values present.

The rules are Akeneo's, so figures match what users know: the required set is the family's
requirements for the channel (the identifier always among them), a locale-specific attribute
counts only in its locales, a metric needs an amount and a unit, a price needs an amount in
every currency of the channel, values inherited from product models count, and the ratio is
rounded down. Only incomplete pairs are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pim.catalog.values import is_filled
from pim.structure.models import AttributeType
from pim.structure.snapshot import ALL_CHANNELS, ALL_LOCALES, FamilyInfo, Structure


@dataclass(frozen=True)
class CompletenessRow:
    """The completeness of one product for one channel and locale."""

    channel: str
    locale: str
    required: int
    missing_attributes: tuple[str, ...]

    @property
    def missing(self) -> int:
        """Number of required values missing."""
        return len(self.missing_attributes)

    @property
    def ratio(self) -> int:
        """Percentage of required values present, rounded down (100 when nothing is required)."""
        return ratio(self.required, self.missing)


def ratio(required: int, missing: int) -> int:
    """Return Akeneo's completeness ratio: floor(100 * present / required), 100 for nothing required."""
    if required == 0:
        return 100
    return (100 * (required - missing)) // required


@dataclass(frozen=True)
class _Check:
    attribute: str
    scope_key: str
    is_localizable: bool
    kind: str  # "identifier", "plain", "metric", "price"
    locales: frozenset[str] | None


class CompletenessCalculator:
    """Compute completeness rows for products of any family, compiling each family once."""

    def __init__(self, structure: Structure):
        self.structure = structure
        self._plans: dict[int, list[tuple[str, tuple[str, ...], tuple[str, ...], list[_Check]]]] = {}

    def _plan(self, family: FamilyInfo) -> list[tuple[str, tuple[str, ...], tuple[str, ...], list[_Check]]]:
        plan = self._plans.get(family.id)
        if plan is not None:
            return plan
        plan = []
        for channel in self.structure.channels.values():
            checks = []
            for code in family.requirements.get(channel.code, ()):
                attribute = self.structure.attributes[code]
                if attribute.type is AttributeType.IDENTIFIER:
                    kind = "identifier"
                elif attribute.type is AttributeType.METRIC:
                    kind = "metric"
                elif attribute.type is AttributeType.PRICE_COLLECTION:
                    kind = "price"
                else:
                    kind = "plain"
                checks.append(
                    _Check(
                        code,
                        channel.code if attribute.is_scopable else ALL_CHANNELS,
                        attribute.is_localizable,
                        kind,
                        attribute.available_locales,
                    )
                )
            plan.append((channel.code, channel.locales, channel.currencies, checks))
        self._plans[family.id] = plan
        return plan

    def required_count(self, family: FamilyInfo, channel: str, locale: str) -> int:
        """Return how many values a product of the family needs for a channel and locale."""
        for channel_code, _locales, _currencies, checks in self._plan(family):
            if channel_code == channel:
                return sum(1 for c in checks if c.locales is None or locale in c.locales)
        return 0

    def compute(self, family: FamilyInfo, values: dict[str, Any]) -> list[CompletenessRow]:
        """Return one row per channel and locale for a product holding `values` (inherited included)."""
        rows = []
        for channel_code, locales, currencies, checks in self._plan(family):
            for locale in locales:
                required = 0
                missing = []
                for check in checks:
                    if check.locales is not None and locale not in check.locales:
                        continue
                    required += 1
                    if check.kind == "identifier":
                        continue
                    data = values.get(check.attribute)
                    if data is not None:
                        data = data.get(check.scope_key)
                        if data is not None:
                            data = data.get(locale if check.is_localizable else ALL_LOCALES)
                    if data is None or data == "" or data == []:
                        missing.append(check.attribute)
                    elif check.kind == "metric":
                        if not (data.get("amount") not in (None, "") and data.get("unit")):
                            missing.append(check.attribute)
                    elif check.kind == "price":
                        present = {p["currency"] for p in data if p.get("amount") not in (None, "")}
                        if not all(c in present for c in currencies):
                            missing.append(check.attribute)
                rows.append(CompletenessRow(channel_code, locale, required, tuple(missing)))
        return rows


__all__ = ["CompletenessCalculator", "CompletenessRow", "is_filled", "ratio"]
