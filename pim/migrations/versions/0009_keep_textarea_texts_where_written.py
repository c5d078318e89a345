"""Keep textarea texts, lower-cased, where they are written: a product's own in product_long_text, a model's in model_long_text

Textarea filters and their counts read every product's values document and its models'; they
now scan these rows and find the variants of the matching models by their parent. The tables
have no key of their own (rowid tables on SQLite, heaps on PostgreSQL), so a bulk load appends
their long rows; small indexes find an owner's rows and those of one attribute, channel and
locale.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 16:00:00.000000
"""

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from pim.catalog.facets import LONG_TEXT_COLUMNS, LONG_TEXT_TYPES, MODEL_LONG_TEXT_COLUMNS, long_text_rows
from pim.db import JsonDocument

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# table: (owner column, the table its rows come from, the columns in the order of long_text_rows)
TABLES = {
    "product_long_text": ("product_id", "product", LONG_TEXT_COLUMNS),
    "model_long_text": ("model_id", "product_model", MODEL_LONG_TEXT_COLUMNS),
}


def upgrade() -> None:
    for name, (owner, _source, _columns) in TABLES.items():
        op.create_table(
            name,
            sa.Column(owner, sa.Integer(), nullable=False),
            sa.Column("attribute_id", sa.Integer(), nullable=False),
            sa.Column("scope", sa.String(length=100), nullable=False),
            sa.Column("locale", sa.String(length=100), nullable=False),
            sa.Column("value", sa.Text(), nullable=False),
        )
        op.create_index(f"ix_{name}_{owner.removesuffix('_id')}", name, [owner], unique=False)
        op.create_index(f"ix_{name}_slot", name, ["attribute_id", "scope", "locale"], unique=False)
    _fill()


def _own_values(connection: sa.Connection, table_name: str, batch_size: int = 5000) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    """Yield the id and own values of every row of a table, in batches by id."""
    table = sa.table(table_name, sa.column("id", sa.Integer), sa.column("values", JsonDocument))
    last = 0
    while True:
        rows = connection.execute(sa.select(table.c.id, table.c["values"]).where(table.c.id > last).order_by(table.c.id).limit(batch_size)).all()
        if not rows:
            return
        last = rows[-1][0]
        yield [(row_id, values or {}) for row_id, values in rows]


def _fill() -> None:
    """Write the textarea texts of every product and product model, from their own values."""
    connection = op.get_bind()
    attribute = sa.table("attribute", sa.column("id", sa.Integer), sa.column("code", sa.String), sa.column("type", sa.String))
    statement = sa.select(attribute.c.code, attribute.c.id).where(attribute.c.type.in_([t.value for t in LONG_TEXT_TYPES]))
    long_texts = {code: attribute_id for code, attribute_id in connection.execute(statement)}
    if not long_texts:
        return
    for name, (_owner, source, columns) in TABLES.items():
        table = sa.table(name, *(sa.column(column) for column in columns))
        for batch in _own_values(connection, source):
            rows = [row for owner_id, values in batch for row in long_text_rows(owner_id, values, long_texts)]
            if rows:
                connection.execute(sa.insert(table), [dict(zip(columns, row, strict=True)) for row in dict.fromkeys(rows)])


def downgrade() -> None:
    for name, (owner, _source, _columns) in TABLES.items():
        op.drop_index(f"ix_{name}_slot", table_name=name)
        op.drop_index(f"ix_{name}_{owner.removesuffix('_id')}", table_name=name)
        op.drop_table(name)
