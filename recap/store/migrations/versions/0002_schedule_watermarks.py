"""schedule watermarks and handoffs for scheduled summarization

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule_watermarks",
        sa.Column("schedule_id", sa.String(256), primary_key=True),
        sa.Column("team_id", sa.String(128), nullable=False, index=True),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_batch_workflow_id", sa.String(512), nullable=True),
        sa.Column("sessions_handed", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "schedule_handoffs",
        sa.Column("schedule_id", sa.String(256), primary_key=True),
        sa.Column("session_id", sa.String(256), primary_key=True),
        sa.Column("team_id", sa.String(128), nullable=False),
        sa.Column("batch_workflow_id", sa.String(512), nullable=False),
        sa.Column("handed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("schedule_handoffs")
    op.drop_table("schedule_watermarks")
