"""Keep the numbers, measures, prices, dates and single-line texts of products in tables of their own

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 01:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

from pim.catalog.facets import NUMBER_COLUMNS, NUMBERED_TYPES, TEXT_COLUMNS, TEXTED_TYPES, number_rows, text_rows
from pim.migrations import effective_values
from pim.structure.models import AttributeType

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "product_number",
        sa.Column("attribute_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("locale", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["attribute_id"], ["attribute.id"], name=op.f("fk_product_number_attribute_id_attribute"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_product_number_product_id_product"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("attribute_id", "scope", "locale", "unit", "value", "product_id", name=op.f("pk_product_number")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_product_number_product", "product_number", ["product_id"], unique=False)
    op.create_table(
        "product_text",
        sa.Column("attribute_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("locale", sa.String(length=100), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["attribute_id"], ["attribute.id"], name=op.f("fk_product_text_attribute_id_attribute"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_product_text_product_id_product"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("attribute_id", "scope", "locale", "product_id", name=op.f("pk_product_text")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_product_text_product", "product_text", ["product_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # how many rows each attribute holds in each channel, locale and currency (see 0006)
        op.execute("CREATE STATISTICS st_product_number_slot (mcv) ON attribute_id, scope, locale, unit FROM product_number")
    _fill()


def _fill() -> None:
    """Write the numbers and texts of every product, its own values merged over its models'."""
    connection = op.get_bind()
    attribute = sa.table("attribute", sa.column("id", sa.Integer), sa.column("code", sa.String), sa.column("type", sa.String))
    types = [t.value for t in (*NUMBERED_TYPES, *TEXTED_TYPES)]
    statement = sa.select(attribute.c.id, attribute.c.code, attribute.c.type).where(attribute.c.type.in_(types))
    kinds = {code: (attribute_id, AttributeType(kind)) for attribute_id, code, kind in connection.execute(statement)}
    numbered = {code: spec for code, spec in kinds.items() if spec[1] in NUMBERED_TYPES}
    texted = {code: attribute_id for code, (attribute_id, kind) in kinds.items() if kind in TEXTED_TYPES}
    if not kinds:
        return
    number = sa.table("product_number", *(sa.column(name) for name in NUMBER_COLUMNS))
    text = sa.table("product_text", *(sa.column(name) for name in TEXT_COLUMNS))
    for batch in effective_values(connection):
        for table, columns, rows in (
            (number, NUMBER_COLUMNS, [row for product_id, effective in batch for row in number_rows(product_id, effective, numbered)]),
            (text, TEXT_COLUMNS, [row for product_id, effective in batch for row in text_rows(product_id, effective, texted)]),
        ):
            if rows:
                # as the write path does: a row held twice (old data) is written once
                connection.execute(sa.insert(table), [dict(zip(columns, row, strict=True)) for row in dict.fromkeys(rows)])


def downgrade() -> None:
    op.drop_index("ix_product_text_product", table_name="product_text")
    op.drop_table("product_text")
    op.drop_index("ix_product_number_product", table_name="product_number")
    op.drop_table("product_number")
