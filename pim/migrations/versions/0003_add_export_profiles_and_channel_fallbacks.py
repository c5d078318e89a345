"""Add export profiles and channel fallbacks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:13:32.532203
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("labels", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(length=50), nullable=False),
        sa.Column("preset", sa.String(length=100), nullable=True),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.String(length=100), nullable=True),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["channel_id"], ["channel.id"], name=op.f("fk_export_profile_channel_id_channel")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_profile")),
        sa.UniqueConstraint("code", name=op.f("uq_export_profile_code")),
        sa.UniqueConstraint("token", name=op.f("uq_export_profile_token")),
    )
    with op.batch_alter_table("export_profile", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_profile_channel_id"), ["channel_id"], unique=False)

    op.create_table(
        "export_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("is_delta", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("folder", sa.String(length=500), nullable=True),
        sa.Column("files", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("counts", sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"), nullable=False),
        sa.Column("report_path", sa.String(length=500), nullable=True),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["profile_id"], ["export_profile.id"], name=op.f("fk_export_run_profile_id_export_profile"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_run")),
    )
    with op.batch_alter_table("export_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_run_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_run_profile_id"), ["profile_id"], unique=False)

    op.create_table(
        "published_record",
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=16), nullable=False),
        sa.Column("sku", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["profile_id"], ["export_profile.id"], name=op.f("fk_published_record_profile_id_export_profile"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("profile_id", "product_id", name=op.f("pk_published_record")),
    )
    if op.get_bind().dialect.name == "sqlite":
        # a batch rebuild would drop the channel table, and with foreign keys on that cascades
        op.execute("ALTER TABLE channel ADD COLUMN fallback_id INTEGER CONSTRAINT fk_channel_fallback_id_channel REFERENCES channel (id) ON DELETE SET NULL")
    else:
        op.add_column("channel", sa.Column("fallback_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_channel_fallback_id_channel"), "channel", "channel", ["fallback_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE channel DROP COLUMN fallback_id")
    else:
        op.drop_constraint(op.f("fk_channel_fallback_id_channel"), "channel", type_="foreignkey")
        op.drop_column("channel", "fallback_id")

    op.drop_table("published_record")
    with op.batch_alter_table("export_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_run_profile_id"))
        batch_op.drop_index(batch_op.f("ix_export_run_job_id"))

    op.drop_table("export_run")
    with op.batch_alter_table("export_profile", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_profile_channel_id"))

    op.drop_table("export_profile")
