"""Shared fixtures: the application and a database session on SQLite and, when
PIM_TEST_DATABASE_URL is set, on PostgreSQL too; each test runs in a transaction that is
rolled back, so tests see real rows and leave nothing behind."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pim import db
from pim.actor import Actor, Source
from pim.app import create_app
from pim.migrate import upgrade

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("PIM_TEST_DATABASE_URL") else [])


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="Rewrite golden files from the current output.")


def _postgres_database(name: str) -> str:
    """Create an empty PostgreSQL database next to the test URL's and return its URL."""
    base = make_url(os.environ["PIM_TEST_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(url: str) -> None:
    target = make_url(url)
    admin = create_engine(
        target.set(database=make_url(os.environ["PIM_TEST_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)).database),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


def make_database(backend: str, folder: Path, revision: str = "head") -> str:
    """Create a new database for a backend, migrated to a revision (the newest), and return its URL."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / f'pim-{uuid.uuid4().hex[:8]}.sqlite3'}"
    else:
        url = _postgres_database(f"pim_test_{uuid.uuid4().hex[:10]}")
    engine = db.make_engine(url)
    upgrade(engine, revision)
    engine.dispose()
    return url


def drop_database(backend: str, url: str) -> None:
    """Remove a database made by make_database."""
    if backend == "postgresql":
        _drop_postgres_database(url)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of the test: sqlite, or postgresql in CI."""
    return request.param


@pytest.fixture(scope="session")
def app(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The application on a migrated database of the backend, shared by the tests of a session."""
    folder = tmp_path_factory.mktemp(f"instance-{backend}")
    url = make_database(backend, folder)
    application = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url, "INSTANCE_PATH": str(folder)})
    yield application
    application.extensions["pim_engine"].dispose()
    drop_database(backend, url)


@pytest.fixture
def db_session(app: object) -> Iterator[object]:
    """A session whose every commit is a savepoint of one transaction rolled back after the test."""
    engine = app.extensions["pim_engine"]  # type: ignore[attr-defined]
    connection = engine.connect()
    transaction = connection.begin()
    db.session.remove()
    db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
    with app.app_context():  # type: ignore[attr-defined]
        yield db.session
    db.session.remove()
    transaction.rollback()
    connection.close()
    db.session.configure(bind=engine, join_transaction_mode="conditional_savepoint")


@pytest.fixture
def committed_app(backend: str, tmp_path: Path) -> Iterator[object]:
    """An application on its own new database where commits are real (for concurrency tests)."""
    url = make_database(backend, tmp_path)
    application = create_app({"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path)})
    yield application
    db.session.remove()
    application.extensions["pim_engine"].dispose()
    drop_database(backend, url)


@pytest.fixture
def actor() -> Actor:
    """A merchandiser working from the command line."""
    return Actor("anna", Source.CLI)


@pytest.fixture
def demo_catalog(db_session: object) -> None:
    """The demo catalogue's structure: locales, channels, attributes, families, variants, categories."""
    from pim.demo import install_demo_structure

    install_demo_structure()


@pytest.fixture
def no_threads_left_behind() -> Iterator[None]:
    """Fail a test that leaves a thread running (workers, schedulers, heartbeats)."""
    import threading
    import time

    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    while (extra := [t.name for t in threading.enumerate() if t not in before and t.is_alive()]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert extra == []
