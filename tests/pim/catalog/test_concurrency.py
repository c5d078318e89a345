"""Concurrent writers on a database where commits are real."""

from __future__ import annotations

import threading

from pim import db
from pim.catalog.services import create_product, get_product, update_product
from pim.demo import install_demo_structure
from pim.errors import Conflict
from tests.pim.catalog.test_services import boots, one


def test_two_concurrent_edits_keep_the_first_and_refuse_the_second(committed_app, actor):
    """Two merchandisers open version 1 and save at the same moment: one wins, one is told."""
    with committed_app.app_context():
        install_demo_structure()
        create_product("BOOT_1", family="shoes", values=boots(), actor=actor)
        db.session.remove()

    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def edit(brand: str) -> None:
        with committed_app.app_context():
            get_product("BOOT_1")  # both read version 1 first
            barrier.wait()
            try:
                update_product("BOOT_1", values={"brand": one(brand)}, version=1, actor=actor)
                outcomes[brand] = "saved"
            except Conflict:
                outcomes[brand] = "conflict"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=edit, args=(brand,)) for brand in ("aurora", "volga")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes.values()) == ["conflict", "saved"]
    winner = next(brand for brand, outcome in outcomes.items() if outcome == "saved")
    with committed_app.app_context():
        product = get_product("BOOT_1")
        assert product.version == 2
        assert product.values["brand"]["<all_channels>"]["<all_locales>"] == winner
        db.session.remove()
