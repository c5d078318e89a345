"""Catalogue figures: counts of everything and completeness per channel and locale."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from pim import db
from pim.catalog.models import Category, Completeness, Product, ProductModel
from pim.structure.models import Attribute, Channel, Family, Locale, channel_locale
from pim.structure.snapshot import get_structure


def _count(model: Any, *conditions: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


def catalog_stats() -> dict[str, Any]:
    """Return counts of products, models, families, attributes, categories, channels, locales and completeness."""
    structure = get_structure()
    counts = {
        "products": _count(Product),
        "product_models": _count(ProductModel),
        "families": _count(Family),
        "attributes": _count(Attribute),
        "categories": _count(Category),
        "channels": _count(Channel),
        "locales": int(db.session.scalar(select(func.count(func.distinct(channel_locale.c.locale_id)))) or 0),
        "locales_known": _count(Locale),
    }
    with_family = _count(Product, Product.family_id.is_not(None))
    incomplete = {
        (channel_id, locale_id): (count, ratio_sum)
        for channel_id, locale_id, count, ratio_sum in db.session.execute(
            select(Completeness.channel_id, Completeness.locale_id, func.count(), func.sum(Completeness.ratio)).group_by(
                Completeness.channel_id, Completeness.locale_id
            )
        )
    }
    completeness = []
    for channel in structure.channels.values():
        for locale in channel.locales:
            count, ratio_sum = incomplete.get((channel.id, structure.locales[locale]), (0, 0))
            complete = with_family - count
            average = ((complete * 100 + int(ratio_sum or 0)) // with_family) if with_family else 100
            completeness.append(
                {
                    "channel": channel.code,
                    "locale": locale,
                    "products": with_family,
                    "complete": complete,
                    "incomplete": count,
                    "ratio": average,
                }
            )
    return {"counts": counts, "completeness": completeness}
