"""Create the jobs, job log, job locks, workers and schedules

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:12:05.000000
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("params", JSON_DOCUMENT, nullable=False),
        sa.Column("lock_key", sa.String(length=200), nullable=True),
        sa.Column("actor_name", sa.String(length=255), nullable=False),
        sa.Column("actor_source", sa.String(length=20), nullable=False),
        sa.Column(
            "status",
            sa.Enum("queued", "running", "succeeded", "failed", "cancelled", "interrupted", name="jobstatus", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        sa.Column("counts", JSON_DOCUMENT, nullable=False),
        sa.Column("warnings", JSON_DOCUMENT, nullable=False),
        sa.Column("warning_count", sa.Integer(), nullable=False),
        sa.Column("report_path", sa.String(length=1000), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("rerun_of", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=255), nullable=True),
        sa.Column("is_cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("is_enqueued", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index("ix_job_status_id", ["status", "id"], unique=False)
        batch_op.create_index("ix_job_type_id", ["type", "id"], unique=False)

    op.create_table(
        "job_lock",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_job_lock_job_id_job"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_job_lock")),
    )
    with op.batch_alter_table("job_lock", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_lock_job_id"), ["job_id"], unique=False)

    op.create_table(
        "job_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_job_log_job_id_job"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_log")),
    )
    with op.batch_alter_table("job_log", schema=None) as batch_op:
        batch_op.create_index("ix_job_log_job_id_id", ["job_id", "id"], unique=False)

    op.create_table(
        "worker",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_scheduler", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker")),
        sa.UniqueConstraint("name", name=op.f("uq_worker_name")),
    )
    op.create_table(
        "schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("cron", sa.String(length=200), nullable=False),
        sa.Column("job_type", sa.String(length=100), nullable=False),
        sa.Column("params", JSON_DOCUMENT, nullable=False),
        sa.Column("lock_key", sa.String(length=200), nullable=True),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("last_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule")),
        sa.UniqueConstraint("key", name=op.f("uq_schedule_key")),
    )


def downgrade() -> None:
    op.drop_table("schedule")
    op.drop_table("worker")
    with op.batch_alter_table("job_log", schema=None) as batch_op:
        batch_op.drop_index("ix_job_log_job_id_id")
    op.drop_table("job_log")
    with op.batch_alter_table("job_lock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_lock_job_id"))
    op.drop_table("job_lock")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_type_id")
        batch_op.drop_index("ix_job_status_id")
    op.drop_table("job")
