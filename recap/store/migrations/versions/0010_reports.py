"""reports: pattern reports across sessions and the digests that compare periods

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pattern_reports",
        sa.Column("report_id", sa.String(32), primary_key=True),
        sa.Column("team_id", sa.String(128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("sessions_reported", sa.Integer(), nullable=False),
        sa.Column("patterns", sa.Integer(), nullable=False),
        # The whole report, inputs and gate record included (PatternReport as JSON).
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_pattern_reports_team_created", "pattern_reports", ["team_id", "created_at"])
    op.create_table(
        "digests",
        sa.Column("digest_id", sa.String(32), primary_key=True),
        sa.Column("team_id", sa.String(128), nullable=False),
        sa.Column("schedule_id", sa.String(256), nullable=False),
        sa.Column("report_id", sa.String(32), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("quiet", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_digests_team_schedule_period", "digests", ["team_id", "schedule_id", "period_end"]
    )


def downgrade() -> None:
    op.drop_table("digests")
    op.drop_table("pattern_reports")
