"""teams: each team's own recording source, its secret encrypted at rest

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("team_id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(256), nullable=True),
        # 'posthog' or 'files'; NULL until `recap teams set-source`.
        sa.Column("source_kind", sa.String(16), nullable=True),
        sa.Column("posthog_host", sa.String(512), nullable=True),
        sa.Column("posthog_project_id", sa.String(64), nullable=True),
        # The personal API key, Fernet-encrypted under RECAP_SECRET_KEY.
        sa.Column("posthog_key_encrypted", sa.Text(), nullable=True),
        sa.Column("directory", sa.Text(), nullable=True),
        sa.Column("person_properties", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("teams")
