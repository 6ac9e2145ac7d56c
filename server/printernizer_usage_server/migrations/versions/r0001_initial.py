"""Initial tables: submission and recent_acceptance."""

from __future__ import annotations

from typing import Final

from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# PostgreSQL's ANALYZE keeps samples of column values (most common values,
# histogram bounds) in pg_statistic: for these columns, ids and times that a
# deletion would not reach. The lookups go by unique keys; the planner needs
# no samples of them.
_UNSAMPLED_COLUMNS: Final = (
    ("submission", "installation_id"),
    ("recent_acceptance", "installation_id"),
    ("recent_acceptance", "accepted_at"),
)


def upgrade() -> None:
    """Create both tables as models.py declares them."""
    op.create_table(
        "submission",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("installation_id", sa.String(length=36), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("app_version", sa.String(length=20), nullable=False),
        sa.Column("python_version", sa.String(length=20), nullable=True),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("deployment_mode", sa.String(length=16), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("printer_count", sa.Integer(), nullable=False),
        sa.Column("printer_type_counts", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("job_count", sa.Integer(), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("upload_count", sa.Integer(), nullable=False),
        sa.Column("uptime_hours", sa.Integer(), nullable=False),
        sa.Column("feature_usage", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("error_summary", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_submission"),
        sa.UniqueConstraint(
            "installation_id",
            "period_start",
            name="uq_submission_installation_id_period_start",
        ),
    )
    op.create_index("ix_submission_installation_id", "submission", ["installation_id"])
    op.create_index("ix_submission_period_end", "submission", ["period_end"])
    op.create_table(
        "recent_acceptance",
        sa.Column("installation_id", sa.String(length=36), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("installation_id", name="pk_recent_acceptance"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table, column in _UNSAMPLED_COLUMNS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STATISTICS 0")


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("recent_acceptance")
    op.drop_index("ix_submission_period_end", table_name="submission")
    op.drop_index("ix_submission_installation_id", table_name="submission")
    op.drop_table("submission")
