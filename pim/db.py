"""Database plumbing: declarative base, engine set-up, the session and the transaction helper."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

import orjson
from sqlalchemy import JSON, DateTime, Enum, LargeBinary, MetaData, String, Table, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, scoped_session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSON documents are JSONB on PostgreSQL (indexable, compact) and JSON text on SQLite.
JsonDocument = JSON().with_variant(JSONB(), "postgresql")

Code = Annotated[str, mapped_column(String(100))]
Labels = Annotated[dict[str, str], mapped_column(JsonDocument, default=dict)]


def utcnow() -> dt.datetime:
    """Return the current time in UTC, as stored in every timestamp column."""
    return dt.datetime.now(dt.UTC)


_uuid_lock = threading.Lock()
_last_uuid = 0


def new_uuid() -> uuid.UUID:
    """Return a new time-ordered UUID (version 7 of RFC 9562): 48 bits of Unix milliseconds, then random bits.

    Each is greater than the one before in this process, so a big load appends to the index of
    product UUIDs instead of writing all over it; random UUIDs touch a different page of that
    index for nearly every product once the catalogue is big.
    """
    global _last_uuid
    random_bits = int.from_bytes(os.urandom(10))  # 80 bits, of which 74 are kept
    with _uuid_lock:
        value = (time.time_ns() // 1_000_000) << 74 | random_bits >> 6
        if value <= _last_uuid:
            value = _last_uuid + 1  # the same millisecond (or a clock set back): count on from the last
        _last_uuid = value
    milliseconds, rand_a, rand_b = value >> 74, (value >> 62) & 0xFFF, value & (1 << 62) - 1
    return uuid.UUID(int=milliseconds << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b)


Timestamp = Annotated[dt.datetime, mapped_column(DateTime(timezone=True), default=utcnow)]


class Base(DeclarativeBase):
    """Base of every model; its metadata names constraints predictably for migrations."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JsonDocument, dict[str, str]: JsonDocument, list[Any]: JsonDocument}


# One session per thread; bound to an engine by `configure`.
session: scoped_session[Session] = scoped_session(sessionmaker(expire_on_commit=False))


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _tune_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """Turn on WAL, foreign keys and a busy timeout, and let SQLAlchemy drive transactions."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT; we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()
        # SQLite's lower() folds ASCII only; queries fold text in every alphabet with this.
        dbapi_connection.create_function("pim_lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two writers queue on the busy timeout
        # instead of one of them failing half-way with "database is locked".
        is_write = conn.get_execution_options().get("pim_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if is_write else "BEGIN")


def dump_json(value: Any) -> str:
    """Serialise a JSON document compactly, keeping non-ASCII text as it is.

    orjson writes the product documents of a bulk load several times faster than the
    standard library, which is a few percent of the whole load.
    """
    return orjson.dumps(value).decode()


def load_json(text: str | bytes) -> Any:
    """Read a JSON document stored by the database."""
    return orjson.loads(text)


def make_engine(url: str, *, busy_timeout_ms: int = 30000, echo: bool = False) -> Engine:
    """Create an engine for the database URL with the settings this application relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, json_serializer=dump_json, json_deserializer=load_json)
        _tune_sqlite(engine, busy_timeout_ms)
        return engine
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    engine = create_engine(url, echo=echo, pool_pre_ping=True, json_serializer=dump_json, json_deserializer=load_json)
    _tune_postgresql(engine)
    return engine


def _tune_postgresql(engine: Engine) -> None:
    """Plan every statement for its own parameters, without JIT compilation."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # psycopg prepares a statement run five times, and PostgreSQL may then keep one plan for
        # any parameters: a grid page whose filter reads a facet table went from 20 ms to a
        # second that way, its plan made for an option or a range it was not given.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_custom_plan")
            # JIT compilation starts for any statement the planner finds costly, a match count on
            # a million products among them, and costs it 70 to 110 ms that it never wins back
            cursor.execute("SET jit = off")
        dbapi_connection.commit()


def configure(engine: Engine) -> None:
    """Bind the thread-local session to an engine."""
    session.remove()
    session.configure(bind=engine)


def is_postgresql() -> bool:
    """Tell whether the current session talks to PostgreSQL."""
    return session.get_bind().dialect.name == "postgresql"


def _begin_write(current: Session) -> None:
    """Start a write transaction; on SQLite take the write lock at once.

    A read done earlier in the same session (a view looking the product up) is ended first:
    SQLite cannot upgrade an old read snapshot to a write once another writer has committed.
    """
    if current.get_bind().dialect.name != "sqlite":
        return
    if current.in_transaction():
        current.commit()
    current.connection(execution_options={"pim_write": True})


def bulk_insert(table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows of a table fast: a driver executemany on SQLite, COPY on PostgreSQL.

    Values go through each column type's own bind conversion (JSON, UUID, timestamps), so
    rows read back exactly as if SQLAlchemy had written them; every row has the same keys.
    """
    if not rows:
        return
    names = list(rows[0])
    insert_records(table, names, [[row[name] for name in names] for row in rows])


def insert_records(table: Table, names: Sequence[str], records: Sequence[Sequence[Any]]) -> None:
    """Insert records (values in the order of `names`) as bulk_insert does; tuples of plain values stay as they are."""
    write_encoded(table, names, encode_records(table, names, records))


def encode_records(table: Table, names: Sequence[str], records: Sequence[Sequence[Any]]) -> str | bytes | Sequence[Sequence[Any]]:
    """Turn records into one text the database loads in one go: JSON (as UTF-8 bytes) on SQLite, COPY text on PostgreSQL.

    Values go through each column type's own conversion (JSON documents, UUIDs, timestamps),
    so rows read back exactly as if SQLAlchemy had written them. The encoding is most of the
    Python work of an insert, and the write of an encoded batch runs without Python's lock:
    a bulk load encodes the next batch while the database writes this one.
    """
    if not records:
        return b""
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return _copy_text(table, names, records)
    types = [table.c[name].type for name in names]
    converters = [column_type.dialect_impl(dialect).bind_processor(dialect) for column_type in types]
    data: Sequence[Sequence[Any]] = records
    if any(converters):
        data = [list(record) for record in records]
        for position, convert in enumerate(converters):
            if convert is None:
                continue
            last: Any = None
            last_converted: Any = None
            for record in data:
                value = record[position]
                if value is None:
                    continue
                # a batch shares many values (its timestamp, empty lists): convert each once
                if value is not last:
                    last, last_converted = value, convert(value)
                record[position] = last_converted
    if any(isinstance(column_type, LargeBinary) for column_type in types):
        return data  # JSON holds no bytes: these rows go through executemany
    # bytes: a batch's megabytes of text are neither decoded here nor encoded again to be bound
    return orjson.dumps(data)


def _copy_text(table: Table, names: Sequence[str], records: Sequence[Sequence[Any]]) -> str:
    """Render records in PostgreSQL's COPY text format: tab-separated, \\N for null, backslash escapes.

    Column by column, so that the common columns (numbers, texts without tabs or backslashes)
    are rendered by a single call each.
    """
    columns = [_copy_column(table.c[name].type, values) for name, values in zip(names, zip(*records, strict=True), strict=True)]
    return "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"


def _copy_column(column_type: Any, values: Sequence[Any]) -> Sequence[str]:
    if isinstance(column_type, Enum):
        raise TypeError("enumerations are written through SQLAlchemy")
    if isinstance(column_type, JSON):
        return ["\\N" if value is None else _copy_escape(dump_json(value)) for value in values]
    kinds = set(map(type, values))
    if kinds <= {int, float}:
        return list(map(str, values))  # the repr of a float reads back as the same float
    if kinds == {str}:
        joined = "".join(values)
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
            return list(map(_copy_escape, values))
        return values
    return ["\\N" if value is None else _copy_value(value) for value in values]


def _copy_escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_value(value: Any) -> str:
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return _copy_escape(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\\\x" + bytes(value).hex()
    return str(value)  # numbers, UUIDs


def write_encoded(table: Table, names: Sequence[str], payload: str | bytes | Sequence[Sequence[Any]]) -> None:
    """Insert records made by encode_records with one statement.

    Neither the statement (SQLite) nor the copy (PostgreSQL) holds Python's lock while the
    database works, so another thread can prepare the next batch meanwhile.
    """
    if not payload:
        return
    connection = session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    column_list = ", ".join(quote(name) for name in names)
    cursor = connection.connection.driver_connection.cursor()
    if dialect.name == "postgresql":
        statement = f"COPY {quote(table.name)} ({column_list}) FROM STDIN"
    else:
        fields = ", ".join(f"value ->> {position}" for position in range(len(names)))
        # the JSON comes as bytes, bound as a blob: SQLite reads it as the UTF-8 text it is
        statement = f"INSERT INTO {quote(table.name)} ({column_list}) SELECT {fields} FROM json_each(CAST(? AS TEXT))"  # noqa: S608
    try:
        if dialect.name == "postgresql":
            with cursor.copy(statement) as copy:
                copy.write(payload)
        elif isinstance(payload, bytes):
            cursor.execute(statement, (payload,))
        else:
            cursor.executemany(f"INSERT INTO {quote(table.name)} ({column_list}) VALUES ({', '.join('?' for _ in names)})", payload)
    except dialect.loaded_dbapi.IntegrityError as exc:
        # the same exception SQLAlchemy raises, so callers handle one kind of refusal
        raise IntegrityError(statement, None, exc) from exc
    finally:
        cursor.close()


@contextlib.contextmanager
def transaction() -> Iterator[Session]:
    """Run a block in a transaction: the outermost block commits, nested ones use a savepoint.

    Services wrap their writes in this so that every entry point (web, CLI, jobs, importers)
    commits the same way; a block that raises leaves nothing behind.
    """
    current = session()
    depth = current.info.get("pim_depth", 0)
    current.info["pim_depth"] = depth + 1
    try:
        if depth == 0:
            _begin_write(current)
            try:
                yield current
                current.commit()
            except BaseException:
                current.rollback()
                raise
        else:
            with current.begin_nested():
                yield current
    finally:
        current.info["pim_depth"] = depth
