"""initial: compiled timelines and session summaries

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timelines",
        sa.Column("timeline_hash", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.String(128), nullable=False, index=True),
        sa.Column("session_id", sa.String(256), nullable=False, index=True),
        sa.Column("tokens", sa.Integer, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("timeline", sa.JSON, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "session_summaries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("team_id", sa.String(128), nullable=False, index=True),
        sa.Column("session_id", sa.String(256), nullable=False, index=True),
        sa.Column("focus_key", sa.String(512), nullable=False),
        sa.Column("focus_area", sa.Text, nullable=True),
        sa.Column("has_summary", sa.Boolean, nullable=False),
        sa.Column("summary_outcome", sa.JSON, nullable=True),
        sa.Column("summary", sa.JSON, nullable=True),
        sa.Column("title", sa.Text, nullable=True),
        sa.Column("model", sa.String(256), nullable=True),
        sa.Column("prompt_version", sa.String(128), nullable=True),
        sa.Column("timeline_hash", sa.String(64), nullable=True),
        sa.Column("prompt_tokens", sa.Integer, nullable=True),
        sa.Column("completion_tokens", sa.Integer, nullable=True),
        sa.Column("latency_ms", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("team_id", "session_id", "focus_key"),
    )


def downgrade() -> None:
    op.drop_table("session_summaries")
    op.drop_table("timelines")
