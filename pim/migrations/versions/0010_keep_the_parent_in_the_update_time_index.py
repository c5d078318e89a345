"""Keep each product's parent in the update-time index (PostgreSQL)

A page sorted by update time walks this index; a filter that tests the product's parent (a
textarea held by its model) read every product it passed. With the parent in the index the walk
reads the index alone (an index-only scan), which halved a million-product page that matches
nothing. SQLite has no included columns and needs none here.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 17:30:00.000000
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_product_updated", table_name="product")
    op.create_index("ix_product_updated", "product", ["updated_at", "id"], unique=False, postgresql_include=["parent_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_product_updated", table_name="product")
    op.create_index("ix_product_updated", "product", ["updated_at", "id"], unique=False)
