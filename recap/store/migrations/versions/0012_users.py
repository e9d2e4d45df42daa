"""users: the people who sign in to recap's pages, and their signed-in sessions

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("team_id", sa.String(128), nullable=False),
        # Trimmed and lower-case, so one address is one person per team.
        sa.Column("email", sa.String(254), nullable=False),
        # argon2-cffi's encoded argon2id hash; the password itself is never stored.
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("can_write", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("team_id", "email"),
    )
    op.create_index("ix_users_team_id", "users", ["team_id"])
    op.create_index("ix_users_email", "users", ["email"])
    op.create_table(
        "ui_sessions",
        # The SHA-256 of the cookie's session token, never the token.
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=True),
        sa.Column("key_id", sa.String(12), nullable=True),
        sa.Column("scopes", sa.String(256), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ui_sessions_user_id", "ui_sessions", ["user_id"])
    op.create_index("ix_ui_sessions_key_id", "ui_sessions", ["key_id"])


def downgrade() -> None:
    op.drop_table("ui_sessions")
    op.drop_table("users")
