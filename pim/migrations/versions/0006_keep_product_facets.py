"""Keep the option codes and yes/no values of products in a table of their own

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 22:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

from pim.catalog.facets import FACET_COLUMNS, FACETED_TYPES, facet_rows
from pim.migrations import effective_values

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "product_facet",
        sa.Column("attribute_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("locale", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["attribute_id"], ["attribute.id"], name=op.f("fk_product_facet_attribute_id_attribute"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_product_facet_product_id_product"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("attribute_id", "scope", "locale", "value", "product_id", name=op.f("pk_product_facet")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_product_facet_product", "product_facet", ["product_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # How often each option of each attribute occurs: without it the planner multiplies the
        # columns' frequencies, takes a common brand for a rare one and reads all its rows.
        op.execute("CREATE STATISTICS st_product_facet_slot (mcv) ON attribute_id, scope, locale, value FROM product_facet")
    _fill()


def _fill() -> None:
    """Write the facets of every product, its own values merged over its models'."""
    connection = op.get_bind()
    attribute = sa.table("attribute", sa.column("id", sa.Integer), sa.column("code", sa.String), sa.column("type", sa.String))
    types = [t.value for t in FACETED_TYPES]
    faceted = {code: attribute_id for attribute_id, code in connection.execute(sa.select(attribute.c.id, attribute.c.code).where(attribute.c.type.in_(types)))}
    if not faceted:
        return
    facet = sa.table(
        "product_facet",
        *(sa.column(name, sa.String) for name in ("scope", "locale", "value")),
        sa.column("attribute_id", sa.Integer),
        sa.column("product_id", sa.Integer),
    )
    for batch in effective_values(connection):
        facets = [row for product_id, effective in batch for row in facet_rows(product_id, effective, faceted)]
        if facets:
            connection.execute(sa.insert(facet), [dict(zip(FACET_COLUMNS, row, strict=True)) for row in facets])


def downgrade() -> None:
    op.drop_index("ix_product_facet_product", table_name="product_facet")
    op.drop_table("product_facet")
