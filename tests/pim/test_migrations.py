"""The migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from pim import db
from pim.errors import Conflict
from pim.migrate import current_revision, include_object, upgrade
from pim.models import metadata
from tests.conftest import drop_database, make_database


def test_migrated_schema_matches_the_models(app):
    engine = app.extensions["pim_engine"]
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_object": include_object, "target_metadata": metadata},
        )
        differences = compare_metadata(context, metadata)

    assert _without_unnamed_sqlite_foreign_keys(differences) == []


def _signature(constraint):
    return (
        constraint.table.name,
        tuple(c.name for c in constraint.columns),
        constraint.referred_table.name,
    )


def _without_unnamed_sqlite_foreign_keys(differences):
    """Drop remove/add pairs of one foreign key that differ only in name.

    SQLite reports no name (nor ON DELETE rule) for a constraint declared on a column added by
    ALTER TABLE, which is how a migration adds a foreign key without rebuilding the table.
    """
    removed = {_signature(d[1]) for d in differences if d[0] == "remove_fk" and d[1].name is None}
    added = {_signature(d[1]) for d in differences if d[0] == "add_fk"}
    same = removed & added
    return [d for d in differences if not (d[0] in ("remove_fk", "add_fk") and _signature(d[1]) in same)]


def test_database_is_at_the_newest_revision(app):
    from alembic.script import ScriptDirectory

    from pim.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(app.extensions["pim_engine"]) == head


def test_full_text_index_exists_for_the_backend(app):
    engine = app.extensions["pim_engine"]
    inspector = inspect(engine)
    if engine.dialect.name == "postgresql":
        assert "ix_product_search" in {index["name"] for index in inspector.get_indexes("product")}
    else:
        assert "product_fts" in inspector.get_table_names()


def _database_with_products(backend, folder, identifiers):
    """A database at the revision before identifier keys, holding products written by hand."""
    url = make_database(backend, folder, revision="0004")
    engine = db.make_engine(url)
    with engine.begin() as connection:
        for identifier in identifiers:
            connection.execute(
                text(
                    'INSERT INTO product (uuid, identifier, is_enabled, "values", categories, search_text, created_at, updated_at, version)'
                    " VALUES (:uuid, :identifier, true, '{}', '[]', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"
                ),
                {"uuid": uuid.uuid4().hex if backend == "sqlite" else uuid.uuid4(), "identifier": identifier},
            )
    return url, engine


def test_upgrade_gives_stored_products_their_identifier_keys(backend, tmp_path):
    url, engine = _database_with_products(backend, tmp_path, ["BOOT-1", "Stiefel-\u00c4", "\u0421\u042b\u0420-01"])
    try:
        upgrade(engine)
        with engine.connect() as connection:
            keys = dict(connection.execute(text("SELECT identifier, identifier_key FROM product")).all())
    finally:
        engine.dispose()
        drop_database(backend, url)

    assert keys == {"BOOT-1": "boot-1", "Stiefel-\u00c4": "stiefel-\u00e4", "\u0421\u042b\u0420-01": "\u0441\u044b\u0440-01"}


def test_upgrade_stops_and_names_identifiers_that_differ_only_in_case(backend, tmp_path):
    url, engine = _database_with_products(backend, tmp_path, ["BOOT-1", "boot-1", "BOOT-2"])
    try:
        with pytest.raises(
            Conflict,
            match="Product identifiers now ignore case, and 1 of them is written in more than one way .*: 'BOOT-1' and 'boot-1'. Rename",
        ):
            upgrade(engine)
        assert current_revision(engine) == "0004"
        with engine.connect() as connection:
            assert "identifier_key" not in {c["name"] for c in inspect(connection).get_columns("product")}
    finally:
        engine.dispose()
        drop_database(backend, url)


def test_upgrade_builds_the_facets_the_write_path_keeps(committed_app, actor):
    """A catalogue from before facets gets, on upgrade, exactly the option, number and text rows (textareas of models included) saving would write."""
    from alembic import command

    from pim.demo import install_demo_structure, load_demo
    from pim.migrate import alembic_config

    engine = committed_app.extensions["pim_engine"]
    facets = text("SELECT attribute_id, scope, locale, value, product_id FROM product_facet ORDER BY product_id, attribute_id, scope, locale, value")
    numbers = text(
        "SELECT attribute_id, scope, locale, unit, value, product_id FROM product_number ORDER BY product_id, attribute_id, scope, locale, unit, value"
    )
    texts = text("SELECT attribute_id, scope, locale, product_id, value FROM product_text ORDER BY product_id, attribute_id, scope, locale")
    long_texts = text("SELECT product_id, attribute_id, scope, locale, value FROM product_long_text ORDER BY product_id, attribute_id, scope, locale")
    model_texts = text("SELECT model_id, attribute_id, scope, locale, value FROM model_long_text ORDER BY model_id, attribute_id, scope, locale")
    with committed_app.app_context():
        install_demo_structure()
        load_demo(products=300)
        db.session.remove()
    with engine.connect() as connection:
        written = connection.execute(facets).all()
        written_numbers = connection.execute(numbers).all()
        written_texts = connection.execute(texts).all()
        written_long_texts = connection.execute(long_texts).all()
        written_model_texts = connection.execute(model_texts).all()
        variants = connection.scalar(text("SELECT count(*) FROM product WHERE parent_id IS NOT NULL"))
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection=connection), "0005")
    with engine.connect() as connection:
        assert {"product_facet", "product_number", "product_text", "product_long_text", "model_long_text"}.isdisjoint(inspect(connection).get_table_names())

    upgrade(engine)

    with engine.connect() as connection:
        assert connection.execute(facets).all() == written
        assert connection.execute(numbers).all() == written_numbers
        assert connection.execute(texts).all() == written_texts
        assert connection.execute(long_texts).all() == written_long_texts
        assert connection.execute(model_texts).all() == written_model_texts
    assert variants > 50
    assert len(written) > 300 * 3
    # prices in three currencies on four channels, measures and dates, own and inherited
    assert len(written_numbers) > 300 * 10
    # names in three locales, materials, countries of origin
    assert len(written_texts) > 300 * 3
    # descriptions of single products; the models' in each channel and locale, once for all their variants
    assert len(written_long_texts) > 100
    assert len(written_model_texts) > 100
