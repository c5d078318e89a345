"""Publishing fixtures: a feeds folder of the test's own, the demo catalogue and hand-made products."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pim import db
from pim.actor import Actor
from pim.app import create_app
from pim.catalog import media
from pim.catalog.media import store_media
from pim.catalog.services import ProductInput, upsert_products
from pim.demo import load_demo
from pim.structure.snapshot import Structure, get_structure
from tests.conftest import drop_database, make_database

DEMO_PRODUCTS = 120


def one(data: Any, locale: str | None = None, scope: str | None = None) -> list[dict[str, Any]]:
    """Return the values of one attribute holding a single value."""
    return [{"locale": locale, "scope": scope, "data": data}]


def prices(channel: str, **amounts: str) -> list[dict[str, Any]]:
    """Return a price value for one channel, e.g. prices("ecommerce", EUR="100.00")."""
    return one([{"amount": amount, "currency": currency} for currency, amount in amounts.items()], scope=channel)


@pytest.fixture
def feeds(app: Any, tmp_path: Path) -> Iterator[Path]:
    """The folder exports publish into, the test's own."""
    previous = app.config.get("FEEDS_PATH")
    folder = tmp_path / "feeds"
    app.config["FEEDS_PATH"] = str(folder)
    yield folder
    app.config["FEEDS_PATH"] = previous


@pytest.fixture(scope="package")
def app(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The application on a database holding the demo catalogue, loaded once for the publishing tests.

    Each test still runs in a transaction rolled back at its end (`db_session`), so the
    catalogue every test starts from is the same.
    """
    folder = tmp_path_factory.mktemp(f"publishing-{backend}")
    url = make_database(backend, folder)
    # create_app binds the shared session and the media folder; give them back afterwards
    previous_bind, previous_media = db.session.session_factory.kw.get("bind"), media.media_root()
    application = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url, "INSTANCE_PATH": str(folder)})
    with application.app_context():
        report = load_demo(products=DEMO_PRODUCTS)
        db.session.remove()
    assert not report.rejected
    yield application
    db.session.remove()
    db.session.configure(bind=previous_bind)
    media.configure(previous_media)
    application.extensions["pim_engine"].dispose()
    drop_database(backend, url)


@pytest.fixture(scope="module")
def demo_structure(app: Any) -> Structure:
    """A snapshot of the demo structure, for checks that need no database."""
    with app.app_context():
        structure = get_structure()
        db.session.remove()
    return structure


@pytest.fixture
def demo_products(db_session: Any, feeds: Path) -> None:
    """The demo catalogue (shoes, apparel, electronics, groceries), changes rolled back after the test."""


def picture_key(rgb: tuple[int, int, int] = (250, 250, 250)) -> str:
    """Store a small JPEG product picture and return its media key."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), rgb).save(buffer, "JPEG")
    return store_media(buffer.getvalue(), "headphones.jpg").key


def headphones_values(*, name_de: str = "Kopfhörer Reise 300", **extra: Any) -> dict[str, Any]:
    """Return the values of over-ear headphones sold in the web shop, described in German with rich HTML."""
    values: dict[str, Any] = {
        "name": [
            {"locale": "en_US", "scope": None, "data": "Travel Headphones 300"},
            {"locale": "de_DE", "scope": None, "data": name_de},
            {"locale": "ru_RU", "scope": None, "data": "Наушники Путешествие 300"},
        ],
        "description": [
            {
                "locale": "de_DE",
                "scope": "ecommerce",
                "data": (
                    '<p class="lead" onclick="steal()">Geschlossene Kopfhörer für lange Reisen.</p>'
                    "<script>alert('x')</script>"
                    "<ul><li>Aktive Geräuschunterdrückung</li><li>30 Stunden Akku</li></ul>"
                ),
            }
        ],
        "brand": one("aurora"),
        "color": one("white"),
        "weight": one({"amount": "1250", "unit": "GRAM"}),
        "warranty_months": one(24),
        "price": prices("ecommerce", EUR="100.00", USD="108.00"),
    }
    values.update(extra)
    return values


def save_products(items: list[ProductInput], actor: Actor) -> None:
    """Save products through the catalogue's write path and insist that none was refused."""
    report = upsert_products(items, actor=actor)
    assert not report.rejected, [(r.identifier, r.errors) for r in report.rejected]
