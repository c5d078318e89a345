"""The migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from pim.migrate import current_revision, include_object
from pim.models import metadata


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
