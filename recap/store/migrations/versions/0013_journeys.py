"""journeys: one person's journey across sessions (issue 20), stored whole as JSON

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journeys",
        sa.Column("journey_id", sa.String(32), primary_key=True),
        sa.Column("team_id", sa.String(128), nullable=False),
        # A distinct id may be an email or any string PostHog was sent: bounded, not short.
        sa.Column("distinct_id", sa.String(400), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        # The whole stored journey (its selection, run and the Journey) as JSON.
        sa.Column("journey", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_journeys_team_distinct_created", "journeys", ["team_id", "distinct_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("journeys")
