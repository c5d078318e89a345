"""Keep textarea texts, lower-cased, where they are written: a product's own in product_text, a model's in model_text

Textarea filters and their counts read every product's values document and its models'; they
now scan these rows and find the variants of the matching models by their parent.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 12:45:00.000000
"""

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from pim.catalog.facets import LONG_TEXT_TYPES, MODEL_TEXT_COLUMNS, TEXT_COLUMNS, text_rows
from pim.db import JsonDocument

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_text",
        sa.Column("attribute_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("locale", sa.String(length=100), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("attribute_id", "scope", "locale", "model_id", name=op.f("pk_model_text")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_model_text_model", "model_text", ["model_id"], unique=False)
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
    for source, target, columns in (("product", "product_text", TEXT_COLUMNS), ("product_model", "model_text", MODEL_TEXT_COLUMNS)):
        table = sa.table(target, *(sa.column(name) for name in columns))
        for batch in _own_values(connection, source):
            rows = [row for owner_id, values in batch for row in text_rows(owner_id, values, long_texts)]
            if rows:
                connection.execute(sa.insert(table), [dict(zip(columns, row, strict=True)) for row in dict.fromkeys(rows)])


def downgrade() -> None:
    connection = op.get_bind()
    attribute = sa.table("attribute", sa.column("id", sa.Integer), sa.column("type", sa.String))
    product_text = sa.table("product_text", sa.column("attribute_id", sa.Integer))
    textareas = sa.select(attribute.c.id).where(attribute.c.type.in_([t.value for t in LONG_TEXT_TYPES]))
    connection.execute(sa.delete(product_text).where(product_text.c.attribute_id.in_(textareas)))
    op.drop_index("ix_model_text_model", table_name="model_text")
    op.drop_table("model_text")
