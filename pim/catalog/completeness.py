"""Completeness: for each product x channel x locale, the share of required values present.

The rules are Akeneo's, so figures match what users know: the required set is the family's
requirements for the channel (the identifier always among them), a locale-specific attribute
counts only in its locales, a metric needs an amount and a unit, a price needs an amount in
every currency of the channel, values inherited from product models count, and the ratio is
rounded down. A channel with a fallback reads the fallback's scopable value wherever it has none
of its own. Only incomplete pairs are stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


_Check = tuple[str, tuple[str, ...], str, int, tuple[str, ...]]  # attribute, scope keys, locale key, kind, currencies
_PLAIN, _METRIC, _PRICE, _IDENTIFIER = 0, 1, 2, 3


@dataclass(frozen=True)
class _Pair:
    channel: str
    channel_id: int
    locale: str
    locale_id: int
    checks: tuple[int, ...]  # indexes into the family plan's distinct checks


@dataclass(frozen=True)
class _Plan:
    checks: tuple[_Check, ...]  # each distinct check once, however many pairs share it
    pairs: tuple[_Pair, ...]


class CompletenessCalculator:
    """Compute completeness rows for products of any family, compiling each family once.

    A family compiles to its distinct checks, each a ready-made (attribute, scope key, locale
    key) lookup, and per (channel, locale) the checks that apply; a product evaluates each
    distinct check once (a brand required by every channel is looked up once, not eight times).
    """

    def __init__(self, structure: Structure):
        self.structure = structure
        self._plans: dict[int, _Plan] = {}

    def _plan(self, family: FamilyInfo) -> _Plan:
        plan = self._plans.get(family.id)
        if plan is not None:
            return plan
        structure = self.structure
        index: dict[_Check, int] = {}
        pairs = []
        for channel in structure.channels.values():
            attributes = [structure.attributes[code] for code in family.requirements.get(channel.code, ())]
            for locale in channel.locales:
                checks = []
                for attribute in attributes:
                    if attribute.available_locales is not None and locale not in attribute.available_locales:
                        continue
                    if attribute.type is AttributeType.IDENTIFIER:
                        kind = _IDENTIFIER
                    elif attribute.type is AttributeType.METRIC:
                        kind = _METRIC
                    elif attribute.type is AttributeType.PRICE_COLLECTION:
                        kind = _PRICE
                    else:
                        kind = _PLAIN
                    check = (
                        attribute.code,
                        (channel.scopes or (channel.code,)) if attribute.is_scopable else (ALL_CHANNELS,),
                        locale if attribute.is_localizable else ALL_LOCALES,
                        kind,
                        channel.currencies if kind == _PRICE else (),
                    )
                    checks.append(index.setdefault(check, len(index)))
                pairs.append(_Pair(channel.code, channel.id, locale, structure.locales[locale], tuple(checks)))
        plan = _Plan(tuple(index), tuple(pairs))
        self._plans[family.id] = plan
        return plan

    def required_count(self, family: FamilyInfo, channel: str, locale: str) -> int:
        """Return how many values a product of the family needs for a channel and locale."""
        for pair in self._plan(family).pairs:
            if pair.channel == channel and pair.locale == locale:
                return len(pair.checks)
        return 0

    def missing(self, family: FamilyInfo, values: dict[str, Any]) -> list[tuple[_Pair, list[str]]]:
        """Return the (channel, locale) pairs where the product misses values, with the codes missing."""
        plan = self._plan(family)
        filled = []
        for attribute, scope_keys, locale_key, kind, currencies in plan.checks:
            if kind == _IDENTIFIER:
                filled.append(True)
                continue
            data = None
            by_scope = values.get(attribute)
            if by_scope is not None:
                # a channel without a value of its own reads its fallback's
                for scope_key in scope_keys:
                    by_locale = by_scope.get(scope_key)
                    if by_locale is not None:
                        data = by_locale.get(locale_key)
                        if data is not None and data != "" and data != []:
                            break
            if data is None or data == "" or data == []:
                filled.append(False)
            elif kind == _METRIC:
                filled.append(data.get("amount") not in (None, "") and bool(data.get("unit")))
            elif kind == _PRICE:
                present = {p["currency"] for p in data if p.get("amount") not in (None, "")}
                filled.append(all(c in present for c in currencies))
            else:
                filled.append(True)
        if all(filled):
            return []
        result = []
        checks = plan.checks
        for pair in plan.pairs:
            missing = [checks[i][0] for i in pair.checks if not filled[i]]
            if missing:
                result.append((pair, missing))
        return result

    def compute(self, family: FamilyInfo, values: dict[str, Any]) -> list[CompletenessRow]:
        """Return one row per channel and locale for a product holding `values` (inherited included)."""
        missing = {(pair.channel, pair.locale): codes for pair, codes in self.missing(family, values)}
        return [
            CompletenessRow(pair.channel, pair.locale, len(pair.checks), tuple(missing.get((pair.channel, pair.locale), ())))
            for pair in self._plan(family).pairs
        ]

    def rows(self, product_id: int, family: FamilyInfo, values: dict[str, Any]) -> list[dict[str, Any]]:
        """Return the completeness rows to store for a product: one per incomplete pair."""
        return [
            {
                "product_id": product_id,
                "channel_id": pair.channel_id,
                "locale_id": pair.locale_id,
                "required": len(pair.checks),
                "missing": len(codes),
                "ratio": ratio(len(pair.checks), len(codes)),
                "missing_attributes": codes,
            }
            for pair, codes in self.missing(family, values)
        ]


__all__ = ["CompletenessCalculator", "CompletenessRow", "ratio"]
