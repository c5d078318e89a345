"""Index enabled products by key

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:40:00.000000
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index("ix_product_enabled_id", ["is_enabled", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index("ix_product_enabled_id")
