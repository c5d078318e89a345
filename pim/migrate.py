"""Schema migrations with Alembic, driven from the application instead of an alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Leave the full-text indexes out of schema comparisons: migrations manage them by hand.

    SQLite's is the product_fts virtual table, PostgreSQL's the GIN index ix_product_search.
    """
    if type_ == "table" and name is not None and name.startswith("product_fts"):
        return False
    return not (type_ == "index" and name == "ix_product_search")


def alembic_config(engine: Engine | None = None, connection: Connection | None = None) -> Config:
    """Return an Alembic configuration pointing at our migration scripts and database."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to a revision (the newest by default)."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection=connection), revision)


def current_revision(engine: Engine) -> str | None:
    """Return the schema revision of the database, or None when it has no schema yet."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
