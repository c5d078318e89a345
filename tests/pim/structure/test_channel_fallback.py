"""Channels with a fallback: values read through it, completeness kept in step, no loops, safe deletes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pim import db
from pim.catalog.jobs import pending_for_channel, settle_completeness
from pim.catalog.models import Completeness
from pim.catalog.serialize import completeness_of
from pim.catalog.services import create_product, get_product, update_product
from pim.errors import Conflict, Invalid
from pim.structure.services import create_channel, delete_channel, get_channel, update_channel, update_family
from pim.structure.snapshot import get_structure

pytestmark = pytest.mark.usefixtures("demo_catalog")


def one(data, locale=None, scope=None):
    return [{"locale": locale, "scope": scope, "data": data}]


def headphones(**values):
    """Return the values of headphones described and priced for the web shop only."""
    base = {
        "name": [{"locale": "en_US", "scope": None, "data": "Travel Headphones 300"}, {"locale": "de_DE", "scope": None, "data": "Reisekopfhörer 300"}],
        "description": one("<p>Geschlossene Kopfhörer für lange Reisen.</p>", locale="de_DE", scope="ecommerce"),
        "price": one([{"amount": "99.00", "currency": "EUR"}, {"amount": "107.00", "currency": "USD"}], scope="ecommerce"),
        "brand": one("aurora"),
    }
    base.update(values)
    return base


def completeness(sku, channel, locale):
    pairs = {(c["scope"], c["locale"]): c for c in completeness_of(get_product(sku))}
    return pairs[(channel, locale)]


@pytest.fixture
def austria(db_session, actor):
    """An Austrian web shop in German that falls back to the main web shop, requiring name, description and price."""
    create_channel("ecommerce_at", locales=["de_DE"], currencies=["EUR"], category_tree="master", labels={"en_US": "Web shop Austria"}, fallback="ecommerce")
    update_family("electronics", requirements={"ecommerce_at": ["name", "description", "price"]})
    create_product("HP300", family="electronics", values=headphones(), actor=actor)


def test_channel_with_fallback_reads_its_own_scope_first(austria):
    assert get_structure().channels["ecommerce_at"].scopes == ("ecommerce_at", "ecommerce")
    assert get_channel("ecommerce_at").fallback_id == get_channel("ecommerce").id


def test_fallbacks_chain(austria):
    create_channel("ecommerce_vienna", locales=["de_DE"], currencies=["EUR"], category_tree="master", fallback="ecommerce_at")

    assert get_structure().channels["ecommerce_vienna"].scopes == ("ecommerce_vienna", "ecommerce_at", "ecommerce")


def test_product_is_complete_through_the_fallback_values(austria):
    state = completeness("HP300", "ecommerce_at", "de_DE")

    assert (state["data"], state["missing"]) == (100, [])


def test_removing_the_fallback_makes_products_incomplete_again(austria):
    update_channel("ecommerce_at", fallback=None)
    settle_completeness("ecommerce_at")

    state = completeness("HP300", "ecommerce_at", "de_DE")
    assert get_structure().channels["ecommerce_at"].scopes == ("ecommerce_at",)
    assert sorted(state["missing"]) == ["description", "price"]
    assert state["data"] < 100


def test_setting_a_fallback_later_completes_products(austria):
    update_channel("ecommerce_at", fallback=None)
    settle_completeness("ecommerce_at")

    update_channel("ecommerce_at", fallback="ecommerce")
    settle_completeness("ecommerce_at")

    assert completeness("HP300", "ecommerce_at", "de_DE")["missing"] == []


def test_a_change_of_fallback_queues_a_recomputation_of_that_channel_only(austria):
    settle_completeness("ecommerce_at")

    update_channel("ecommerce_at", fallback=None)

    # the change is committed at once; the numbers follow when the job has run
    assert completeness("HP300", "ecommerce_at", "de_DE")["missing"] == []
    [job] = pending_for_channel("ecommerce_at")
    assert (job.type, job.params) == ("completeness", {"channels": ["ecommerce_at"]})
    assert pending_for_channel("ecommerce") == []
    assert settle_completeness("ecommerce_at") == 1
    assert sorted(completeness("HP300", "ecommerce_at", "de_DE")["missing"]) == ["description", "price"]
    assert pending_for_channel("ecommerce_at") == []


def test_a_change_of_fallback_recomputes_the_channels_reading_through_it(austria):
    create_channel("ecommerce_vienna", locales=["de_DE"], currencies=["EUR"], category_tree="master", fallback="ecommerce_at")
    settle_completeness("ecommerce_vienna")

    update_channel("ecommerce_at", fallback=None)

    [job] = pending_for_channel("ecommerce_vienna")
    assert job.params == {"channels": ["ecommerce_at", "ecommerce_vienna"]}


def test_leaving_fallback_out_of_an_update_keeps_it(austria):
    update_channel("ecommerce_at", labels={"de_DE": "Webshop Österreich"})

    assert get_structure().channels["ecommerce_at"].scopes == ("ecommerce_at", "ecommerce")


def test_own_value_counts_when_the_fallback_has_none(austria, actor):
    update_channel("ecommerce_at", fallback=None)
    settle_completeness("ecommerce_at")

    update_product(
        "HP300",
        values={
            "description": one("<p>Für lange Reisen in Österreich.</p>", locale="de_DE", scope="ecommerce_at"),
            "price": one([{"amount": "109.00", "currency": "EUR"}], scope="ecommerce_at"),
        },
        actor=actor,
    )

    assert completeness("HP300", "ecommerce_at", "de_DE")["missing"] == []


def test_change_on_the_fallback_updates_the_reading_channel(austria, actor):
    update_product("HP300", values={"description": one(None, locale="de_DE", scope="ecommerce")}, actor=actor)

    assert completeness("HP300", "ecommerce_at", "de_DE")["missing"] == ["description"]
    assert "description" in completeness("HP300", "ecommerce", "de_DE")["missing"]


def test_fallback_to_an_unknown_channel_is_refused(db_session):
    with pytest.raises(Invalid) as caught:
        create_channel("ecommerce_at", locales=["de_DE"], currencies=["EUR"], category_tree="master", fallback="ecommerce_de")

    assert [(e.field, e.code) for e in caught.value.errors] == [("fallback", "unknown_channel")]


def test_fallback_loop_is_refused(austria):
    with pytest.raises(Invalid) as caught:
        update_channel("ecommerce", fallback="ecommerce_at")

    assert [e.field for e in caught.value.errors] == ["fallback"]
    assert "loop" in caught.value.errors[0].message
    assert get_structure().channels["ecommerce"].scopes == ("ecommerce",)


def test_longer_fallback_loop_is_refused(austria):
    create_channel("ecommerce_vienna", locales=["de_DE"], currencies=["EUR"], category_tree="master", fallback="ecommerce_at")

    with pytest.raises(Invalid) as caught:
        update_channel("ecommerce", fallback="ecommerce_vienna")

    assert [e.field for e in caught.value.errors] == ["fallback"]


def test_channel_cannot_fall_back_to_itself(db_session):
    with pytest.raises(Invalid) as caught:
        update_channel("print", fallback="print")

    assert [e.field for e in caught.value.errors] == ["fallback"]


def test_deleting_a_channel_others_fall_back_to_is_a_conflict(db_session):
    create_channel("print_at", locales=["de_DE"], currencies=["EUR"], category_tree="master", fallback="print")

    with pytest.raises(Conflict, match="print_at"):
        delete_channel("print")

    assert get_channel("print").code == "print"


def test_deleting_a_channel_is_allowed_once_nothing_falls_back_to_it(db_session):
    create_channel("print_at", locales=["de_DE"], currencies=["EUR"], category_tree="master", fallback="print")
    update_channel("print_at", fallback=None)

    delete_channel("print")

    assert "print" not in get_structure().channels


def test_deleting_a_channel_removes_its_completeness(db_session, actor):
    create_product("MUG_1", family="shoes", values={}, actor=actor)
    print_id = get_channel("print").id
    ecommerce_id = get_channel("ecommerce").id

    def rows(channel_id):
        return db.session.scalar(select(func.count()).select_from(Completeness).where(Completeness.channel_id == channel_id))

    assert rows(print_id) and rows(ecommerce_id)
    kept = rows(ecommerce_id)

    delete_channel("print")

    assert rows(print_id) == 0
    assert rows(ecommerce_id) == kept
