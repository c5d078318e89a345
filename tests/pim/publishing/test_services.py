"""Export profile services: presets, channels with a fallback, token rotation, summaries."""

from __future__ import annotations

import csv
from typing import Any

import pytest
import yaml
from lxml import etree

from pim.catalog.services import update_product
from pim.errors import Conflict, Invalid, NotFound
from pim.jobs.schedule import find_schedule
from pim.publishing.export import explain, published_file, run_export
from pim.publishing.services import (
    apply_definition,
    delete_profile,
    feed_address,
    install_preset,
    list_presets,
    list_profiles,
    profile_summary,
    rotate_token,
    show_definition,
)
from pim.structure.services import get_channel
from pim.structure.snapshot import get_structure
from tests.pim.publishing.conftest import prices

pytestmark = pytest.mark.usefixtures("demo_products")


def offers(result: Any) -> dict[str, etree._Element]:
    """Return the offers of a Yandex.Market run by vendor code (our SKU)."""
    return {offer.findtext("vendorCode"): offer for offer in etree.parse(result.folder / result.files[0]["name"]).iter("offer")}


def a_variant_in(result: Any) -> str:
    """Return the SKU of the first variant product (an offer with a group) of a Yandex.Market run."""
    return next(sku for sku, offer in offers(result).items() if offer.get("group_id"))


def with_price_rule(code: str, rule: dict[str, Any], actor: Any) -> None:
    """Add a price rule to a profile's price field the way a user does: show, edit, apply."""
    definition = yaml.safe_load(show_definition(code))
    definition["fields"]["price"] = {"attribute": "price", "price": rule}
    apply_definition(definition, actor=actor)


# --- presets ----------------------------------------------------------------------------------


def test_presets_are_listed_by_name():
    assert list_presets() == [
        "google_merchant",
        "meta",
        "ozon",
        "print_catalogue",
        "print_datamerge",
        "shelf_labels",
        "store_pos",
        "webshop",
        "wildberries",
        "yandex_market",
    ]


def test_install_preset_publishes_from_the_preset_channel(actor):
    profile = install_preset("yandex_market", actor=actor)

    definition = yaml.safe_load(show_definition("yandex_market"))
    assert (profile.code, profile.format, profile.preset) == ("yandex_market", "yandex_market", "yandex_market")
    assert (definition["channel"], definition["locale"], definition["currency"]) == ("marketplace", "ru_RU", "RUB")
    assert profile.token


def test_install_preset_on_another_channel_takes_that_channel_currency(actor):
    install_preset("google_merchant", code="google_print", channel="print", actor=actor)

    definition = yaml.safe_load(show_definition("google_print"))
    assert (definition["code"], definition["channel"], definition["locale"], definition["currency"]) == ("google_print", "print", "en_US", "EUR")


def test_install_preset_twice_is_a_conflict(actor):
    install_preset("meta", actor=actor)

    with pytest.raises(Conflict):
        install_preset("meta", actor=actor)


def test_install_unknown_preset_is_not_found(actor):
    with pytest.raises(NotFound, match="amazon"):
        install_preset("amazon", actor=actor)


def test_install_preset_refuses_an_unknown_channel(actor):
    with pytest.raises(Invalid) as caught:
        install_preset("webshop", channel="moon_shop", actor=actor)

    assert [(e.field, e.code) for e in caught.value.errors] == [("channel", "unknown_channel")]


def test_install_preset_refuses_channel_and_fallback_together(actor):
    with pytest.raises(Invalid) as caught:
        install_preset("webshop", code="webshop_at", channel="ecommerce", fallback="ecommerce", actor=actor)

    assert [e.field for e in caught.value.errors] == ["fallback"]


def test_show_unknown_profile_is_not_found():
    with pytest.raises(NotFound):
        show_definition("amazon")


# --- a second region through a fallback channel -----------------------------------------------


@pytest.fixture
def spb(actor) -> None:
    """Yandex.Market for Moscow on the marketplace channel, and for Saint Petersburg falling back to it."""
    install_preset("yandex_market", actor=actor)
    install_preset("yandex_market", code="yandex_market_spb", fallback="marketplace", actor=actor)


def test_install_preset_with_fallback_makes_a_channel_reading_the_fallback(spb):
    channel = get_structure().channels["yandex_market_spb"]
    marketplace = get_structure().channels["marketplace"]

    assert channel.scopes == ("yandex_market_spb", "marketplace")
    assert set(channel.locales) == set(marketplace.locales)
    assert channel.currencies == marketplace.currencies
    assert channel.category_tree_id == marketplace.category_tree_id
    assert get_channel("yandex_market_spb").fallback_id == get_channel("marketplace").id


def test_fallback_channel_feed_has_as_many_products_as_its_fallback(spb):
    moscow = run_export("yandex_market")
    petersburg = run_export("yandex_market_spb")

    assert petersburg.exported == moscow.exported
    assert petersburg.skipped == moscow.skipped
    assert sorted(offers(petersburg)) == sorted(offers(moscow))


def test_fallback_channel_requires_what_its_fallback_requires(spb):
    with open(run_export("yandex_market").report_path, newline="", encoding="utf-8") as report:
        skipped = next(row for row in csv.DictReader(report) if row["reason"] == "incomplete")

    answer = explain("yandex_market_spb", skipped["sku"])

    assert [(r["reason"], r["field"]) for r in answer["reasons"]] == [("incomplete", skipped["field"])]


def test_price_rule_on_the_fallback_channel_changes_prices(spb, actor):
    sku = a_variant_in(run_export("yandex_market"))
    update_product(sku, values={"price": prices("marketplace", RUB="100.00")}, actor=actor)

    with_price_rule("yandex_market_spb", {"percent": 5, "round": "1"}, actor)

    assert explain("yandex_market", sku)["record"]["fields"]["price"] == "100.00 RUB"
    assert explain("yandex_market_spb", sku)["record"]["fields"]["price"] == "105.00 RUB"
    assert offers(run_export("yandex_market_spb"))[sku].findtext("price") == "105"


def test_own_price_on_the_fallback_channel_is_kept(spb, actor):
    sku = a_variant_in(run_export("yandex_market"))
    update_product(sku, values={"price": prices("marketplace", RUB="100.00")}, actor=actor)

    update_product(sku, values={"price": prices("yandex_market_spb", RUB="89.00")}, actor=actor)

    assert explain("yandex_market", sku)["record"]["fields"]["price"] == "100.00 RUB"
    assert explain("yandex_market_spb", sku)["record"]["fields"]["price"] == "89.00 RUB"
    assert offers(run_export("yandex_market_spb"))[sku].findtext("price") == "89"


# --- the feed's address -----------------------------------------------------------------------


def test_rotate_token_revokes_the_old_address(actor):
    profile = install_preset("google_merchant", actor=actor)
    run_export("google_merchant")
    old = profile.token

    rotated = rotate_token("google_merchant")

    assert rotated.token != old
    assert published_file(rotated.token, "google_merchant.xml")[0].exists()
    with pytest.raises(NotFound):
        published_file(old, "google_merchant.xml")
    assert feed_address(rotated).endswith(f"/feeds/{rotated.token}/google_merchant.xml")


def test_feed_address_names_the_main_file_before_the_first_run(actor):
    profile = install_preset("ozon", actor=actor)

    assert feed_address(profile) == f"http://127.0.0.1:5000/feeds/{profile.token}/ozon-0001.json"


def test_published_file_before_the_first_run_is_not_found(actor):
    profile = install_preset("meta", actor=actor)

    with pytest.raises(NotFound):
        published_file(profile.token, "meta.csv")


# --- listing and removing ---------------------------------------------------------------------


def test_profile_summary_reports_the_last_run(actor):
    install_preset("meta", actor=actor)
    result = run_export("meta")

    summary = profile_summary(next(p for p in list_profiles() if p.code == "meta"))

    assert (summary["channel"], summary["format"]) == ("marketplace", "meta")
    assert summary["last_run"]["exported"] == result.exported
    assert summary["last_run"]["skipped"] == result.skipped
    assert summary["last_run"]["files"] == ["meta.csv"]


def test_delete_profile_removes_it_and_its_schedule(actor):
    install_preset("meta", actor=actor)
    definition = yaml.safe_load(show_definition("meta"))
    apply_definition({**definition, "schedule": "0 3 * * *"}, actor=actor)

    delete_profile("meta")

    assert [p.code for p in list_profiles()] == []
    assert find_schedule("export:meta") is None
