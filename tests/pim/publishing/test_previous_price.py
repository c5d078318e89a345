"""The price shown struck through beside a reduced one: the lowest of the 30 days before the reduction."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import yaml
from sqlalchemy import update

from pim import db
from pim.catalog.services import ProductInput, get_product, update_product
from pim.errors import Invalid
from pim.publishing.export import explain, run_export
from pim.publishing.services import apply_definition, install_preset, show_definition
from pim.versioning.models import Version
from tests.pim.publishing.conftest import headphones_values, prices, save_products
from tests.pim.publishing.test_export import json_lines

pytestmark = pytest.mark.usefixtures("demo_products")

SKU = "HEADPHONES-OMNIBUS"


def shop_with_old_price(actor: Any, **settings: int) -> None:
    """Install the web shop with an old price read from the price history."""
    install_preset("webshop", actor=actor)
    definition = yaml.safe_load(show_definition("webshop"))
    definition["require_complete"] = False
    definition["fields"]["old_price"] = {"attribute": "price", "previous_price": settings or {"days": 30}}
    apply_definition(definition, actor=actor)


def price_history(actor: Any, *steps: tuple[int, str]) -> None:
    """Give the headphones a web shop price per step (days ago, EUR amount), oldest first."""
    save_products([ProductInput(identifier=SKU, family="electronics", values=headphones_values(price=prices("ecommerce", EUR=steps[0][1], USD="1.00")))], actor)
    for _days, amount in steps[1:]:
        update_product(SKU, values={"price": prices("ecommerce", EUR=amount, USD="1.00")}, actor=actor)
    product_id = get_product(SKU).id
    now = dt.datetime.now(dt.UTC)
    for number, (days, _amount) in enumerate(steps, start=1):
        db.session.execute(
            update(Version)
            .where(Version.resource_type == "product", Version.resource_id == product_id, Version.version == number)
            .values(logged_at=now - dt.timedelta(days=days))
        )


def old_price() -> str | None:
    return explain("webshop", SKU)["record"]["fields"].get("old_price")


def test_the_lowest_price_of_the_30_days_before_a_reduction_is_shown(actor):
    shop_with_old_price(actor)
    # 120 long ago, 100 from 20 days ago, 90 from 10 days ago, reduced to 80 two days ago
    price_history(actor, (90, "120.00"), (20, "100.00"), (10, "90.00"), (2, "80.00"))

    assert old_price() == "90.00 EUR"


def test_a_price_that_was_lower_within_the_30_days_shows_no_old_price(actor):
    shop_with_old_price(actor)
    # 70 a fortnight ago, raised to 120, then "reduced" to 80: the lowest of 30 days is 70
    price_history(actor, (90, "120.00"), (14, "70.00"), (8, "120.00"), (1, "80.00"))

    assert old_price() is None


def test_prices_older_than_the_window_do_not_count(actor):
    shop_with_old_price(actor, days=30)
    # 60 held until 40 days ago (before the window), then 100, reduced to 80 yesterday
    price_history(actor, (120, "60.00"), (40, "100.00"), (1, "80.00"))

    assert old_price() == "100.00 EUR"


def test_a_reduction_older_than_its_showing_period_is_no_longer_a_sale(actor):
    shop_with_old_price(actor, days=30, shown_for=14)
    price_history(actor, (90, "100.00"), (20, "80.00"))

    assert old_price() is None


def test_a_rise_or_an_unchanged_price_shows_no_old_price(actor):
    shop_with_old_price(actor)
    price_history(actor, (60, "80.00"), (5, "100.00"))
    assert old_price() is None

    update_product(SKU, values={"name": [{"locale": "en_US", "scope": None, "data": "Travel Headphones 300 II"}]}, actor=actor)
    assert old_price() is None


def test_the_old_price_reaches_the_published_feed(actor):
    shop_with_old_price(actor)
    price_history(actor, (90, "120.00"), (3, "99.00"))

    lines = json_lines(run_export("webshop").folder / "webshop.jsonl")

    line = next(line for line in lines if line.get("sku") == SKU)
    assert line["old_price"] == {"amount": "120.00", "currency": "EUR"}
    assert line["price"] == {"amount": "99.00", "currency": "EUR"}


def test_previous_price_settings_are_checked(actor):
    install_preset("webshop", actor=actor)
    definition = yaml.safe_load(show_definition("webshop"))
    definition["fields"]["old_price"] = {"attribute": "name", "previous_price": {"days": 0, "weeks": 2}}
    definition["fields"]["picture"] = {"attribute": "price", "local": True}

    with pytest.raises(Invalid) as caught:
        apply_definition(definition, actor=actor)

    messages = " ".join(error.message for error in caught.value.errors)
    assert "previous_price applies to price attributes" in messages
    assert "local applies to images" in messages
