"""Keep the numbers, measures, prices and dates of products in a table of their own

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 01:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

from pim.catalog.facets import NUMBER_COLUMNS, NUMBERED_TYPES, number_rows
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
    if op.get_bind().dialect.name == "postgresql":
        # how many rows each attribute holds in each channel, locale and currency (see 0006)
        op.execute("CREATE STATISTICS st_product_number_slot (mcv) ON attribute_id, scope, locale, unit FROM product_number")
    _fill()


def _fill() -> None:
    """Write the numbers of every product, its own values merged over its models'."""
    connection = op.get_bind()
    attribute = sa.table("attribute", sa.column("id", sa.Integer), sa.column("code", sa.String), sa.column("type", sa.String))
    types = [t.value for t in NUMBERED_TYPES]
    statement = sa.select(attribute.c.id, attribute.c.code, attribute.c.type).where(attribute.c.type.in_(types))
    numbered = {code: (attribute_id, AttributeType(kind)) for attribute_id, code, kind in connection.execute(statement)}
    if not numbered:
        return
    number = sa.table("product_number", *(sa.column(name) for name in NUMBER_COLUMNS))
    for batch in effective_values(connection):
        rows = [row for product_id, effective in batch for row in number_rows(product_id, effective, numbered)]
        if rows:
            connection.execute(sa.insert(number), [dict(zip(NUMBER_COLUMNS, row, strict=True)) for row in rows])


def downgrade() -> None:
    op.drop_index("ix_product_number_product", table_name="product_number")
    op.drop_table("product_number")
