"""summary configs: each team's product context and custom tags for its summary prompts

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "summary_configs",
        sa.Column("team_id", sa.String(128), primary_key=True),
        # '' when the team set none: the deployment's RECAP_PRODUCT_CONTEXT applies.
        sa.Column("product_context", sa.Text(), nullable=False, server_default=""),
        # A JSON list of short strings.
        sa.Column("custom_tags", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("summary_configs")
