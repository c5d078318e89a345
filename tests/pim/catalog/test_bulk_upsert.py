"""The batch upsert on a database of its own, where each batch is written while the next is
prepared: the outcome must be the one of writing the batches one after another."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from pim import db
from pim.actor import Actor, Source
from pim.app import create_app
from pim.catalog.models import Completeness, Product, ProductAssociation, ProductCategory, ProductFacet, ProductNumber, ProductText, UniqueValue
from pim.catalog.services import ProductInput, get_product, save_product_models, upsert_products
from pim.demo import DemoGenerator, ean13, install_demo_structure
from tests.conftest import drop_database, make_database
from tests.pim.catalog.test_services import boots, one

LOADER = Actor("loader", Source.IMPORT)


def shoe(identifier: str, serial: int, **fields):
    return ProductInput(identifier=identifier, family="shoes", categories=["men_boots"], values=boots(ean=one(ean13(serial))), **fields)


def load(app, items, batch_size):
    with app.app_context():
        try:
            return upsert_products(items, actor=LOADER, batch_size=batch_size, keep_results=True)
        finally:
            db.session.remove()


@pytest.fixture
def catalogue(committed_app):
    with committed_app.app_context():
        install_demo_structure()
        db.session.remove()
    return committed_app


def snapshot(app) -> dict[str, object]:
    """Everything the write path derives, by identifier rather than by id."""
    with app.app_context():
        session = db.session
        identifiers = dict(session.execute(select(Product.id, Product.identifier)).all())
        derived = {}
        for table in (ProductCategory, Completeness, UniqueValue, ProductFacet, ProductNumber, ProductText):
            columns = [c for c in table.__table__.c if c.name != "product_id"]
            derived[table.__tablename__] = sorted(
                (identifiers[row.product_id], *(str(row[c.name]) for c in columns)) for row in session.execute(select(table.__table__)).mappings()
            )
        associations = session.execute(select(ProductAssociation.owner_id, ProductAssociation.target_product_id, ProductAssociation.target_model_id)).all()
        derived["associations"] = sorted((identifiers[o], identifiers.get(t), m) for o, t, m in associations)
        derived["products"] = sorted(
            (p.identifier, str(p.values), str(p.categories), p.version, p.is_enabled, p.search_text, p.axis_key) for p in session.scalars(select(Product))
        )
        db.session.remove()
        return derived


def test_a_stream_of_batches_writes_what_one_batch_writes(catalogue, backend, tmp_path: Path):
    def write_demo(app, batch_size):
        generator = DemoGenerator(120, seed=3)
        products = list(generator.products())
        with app.app_context():
            install_demo_structure()
            save_product_models(generator.models, actor=LOADER)
            db.session.remove()
        report = load(app, products, batch_size)
        assert report.rejected == [] and report.created == len(products)
        return snapshot(app)

    streamed = write_demo(catalogue, 7)
    # the same catalogue in one batch, on a database of its own (the session follows the newest app)
    (tmp_path / "single").mkdir()
    url = make_database(backend, tmp_path / "single")
    single_app = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "single")})
    try:
        single = write_demo(single_app, 1000)
    finally:
        single_app.extensions["pim_engine"].dispose()
        drop_database(backend, url)
        db.configure(catalogue.extensions["pim_engine"])

    assert streamed["associations"], "the demo links products to others"
    assert streamed == single


def test_a_product_given_in_two_batches_in_a_row_is_created_then_updated(catalogue):
    changed = shoe("BOOT_A", 2, enabled=False)
    report = load(catalogue, [shoe("BOOT_0", 1), shoe("BOOT_A", 2), shoe("BOOT_B", 3), changed], batch_size=2)

    assert [r.status for r in report.results] == ["created", "created", "created", "updated"]
    with catalogue.app_context():
        product = get_product("BOOT_A")
        assert product.version == 2 and product.is_enabled is False
        db.session.remove()


def test_a_unique_value_freed_in_one_batch_can_be_taken_in_the_next(catalogue):
    load(catalogue, [shoe("BOOT_A", 2)], batch_size=1)

    moved = ProductInput(identifier="BOOT_A", values={"ean": one(ean13(9))})
    report = load(catalogue, [shoe("BOOT_0", 1), moved, shoe("BOOT_B", 2)], batch_size=1)

    assert [r.status for r in report.results] == ["created", "updated", "created"]
    with catalogue.app_context():
        assert get_product("BOOT_B").values["ean"]["<all_channels>"]["<all_locales>"] == ean13(2)
        db.session.remove()


def test_a_unique_value_taken_in_one_batch_is_refused_in_the_next(catalogue):
    report = load(catalogue, [shoe("BOOT_0", 1), shoe("BOOT_A", 2), shoe("BOOT_B", 2)], batch_size=1)

    assert [r.status for r in report.results] == ["created", "created", "rejected"]
    assert "already used by product 'BOOT_A'" in report.results[2].errors[0].message


def test_an_association_reaches_a_product_of_the_batch_ahead_and_not_a_rejected_one(catalogue):
    broken = ProductInput(identifier="BOOT_X", family="shoes", values={"weight": one({"amount": "heavy", "unit": "KILOGRAM"})})
    items = [
        shoe("BOOT_0", 1),
        shoe("BOOT_T", 2),
        shoe("BOOT_O", 3, associations={"X_SELL": {"products": ["BOOT_T"]}}),
        broken,
        shoe("BOOT_P", 4, associations={"X_SELL": {"products": ["BOOT_X"]}}),
    ]
    report = load(catalogue, items, batch_size=1)

    assert [r.status for r in report.results] == ["created", "created", "created", "rejected", "rejected"]
    assert report.results[4].errors[0].message == "Product 'BOOT_X' does not exist"
    with catalogue.app_context():
        target = db.session.scalar(
            select(Product.identifier)
            .join(ProductAssociation, ProductAssociation.target_product_id == Product.id)
            .where(ProductAssociation.owner_id == get_product("BOOT_O").id)
        )
        assert target == "BOOT_T"
        db.session.remove()
