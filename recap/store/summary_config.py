"""Each team's summary configuration, PostHog's `session_summaries/config/`: a product
context (what the product is, for the model) and recap's custom tags. The summary prompt
uses them in place of the deployment's RECAP_PRODUCT_CONTEXT when the team set them.

The table shares `recap.store.tables.Base` and is created by migration 0009.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String, Text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from recap.store.repository import SummaryStore
from recap.store.tables import Base

# PostHog's limit on the product context.
PRODUCT_CONTEXT_MAX = 10_000
TAGS_MAX = 50
TAG_MAX = 64
# The product context reaches the prompt inside recap's own fenced block: the tags of
# PostHog's block are taken out, as PostHog does, so a value cannot close or open one.
_CONTEXT_TAG = re.compile(r"<\s*/?\s*product_context\s*>", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SummaryConfigRow(Base):
    __tablename__ = "summary_configs"

    team_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    product_context: Mapped[str] = mapped_column(Text, default="", server_default="")
    custom_tags: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SummaryConfigError(ValueError):
    """A value the configuration cannot hold; `attr` names the field, as PostHog's errors do."""

    def __init__(self, attr: str, message: str) -> None:
        super().__init__(message)
        self.attr = attr


@dataclass(frozen=True)
class SummaryConfig:
    """A team's configuration; a team that set nothing has the empty one."""

    team_id: str
    product_context: str = ""
    custom_tags: tuple[str, ...] = ()
    updated_at: datetime | None = None

    def prompt_context(self, deployment_context: str | None) -> str | None:
        """The product context the summary prompt shows: the team's when it set one, else
        the deployment's, followed by the team's tags when it has any."""
        context = self.product_context or (deployment_context or "").strip()
        if self.custom_tags:
            tags = f"Tags this team uses: {', '.join(self.custom_tags)}"
            context = f"{context}\n\n{tags}" if context else tags
        return context or None


def clean_product_context(value: str) -> str:
    """The product context as stored: at most PRODUCT_CONTEXT_MAX characters (counted after
    trimming, as DRF does), without `<product_context>` tags, trimmed."""
    trimmed = value.strip()
    if len(trimmed) > PRODUCT_CONTEXT_MAX:
        raise SummaryConfigError(
            "product_context",
            f"Ensure this field has no more than {PRODUCT_CONTEXT_MAX} characters.",
        )
    return _CONTEXT_TAG.sub("", trimmed).strip()


def clean_tags(values: Sequence[str]) -> tuple[str, ...]:
    """The tags as stored: trimmed, each 1 to TAG_MAX characters on one line, the first
    spelling of each kept (tags differing in case only are one), at most TAGS_MAX."""
    kept: dict[str, str] = {}
    for value in values:
        tag = value.strip()
        if not tag or len(tag) > TAG_MAX:
            raise SummaryConfigError(
                "custom_tags", f"Each tag must have 1 to {TAG_MAX} characters (spaces trimmed)."
            )
        if _CONTROL.search(tag):
            raise SummaryConfigError(
                "custom_tags", "A tag must be one line of text, without control characters."
            )
        kept.setdefault(tag.casefold(), tag)
    if len(kept) > TAGS_MAX:
        raise SummaryConfigError("custom_tags", f"Ensure there are no more than {TAGS_MAX} tags.")
    return tuple(kept.values())


def _config(row: SummaryConfigRow) -> SummaryConfig:
    return SummaryConfig(
        team_id=row.team_id,
        product_context=row.product_context,
        custom_tags=tuple(row.custom_tags or ()),
        updated_at=row.updated_at,
    )


class SummaryConfigStore:
    """Reads and updates teams' summary configurations in recap's store."""

    def __init__(self, store: SummaryStore) -> None:
        self._store = store

    def _insert(self) -> Any:
        dialect = postgresql if self._store.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(SummaryConfigRow)

    def get(self, team_id: str) -> SummaryConfig:
        with self._store._session() as session:
            row = session.get(SummaryConfigRow, team_id)
            return _config(row) if row is not None else SummaryConfig(team_id=team_id)

    def update(
        self,
        team_id: str,
        *,
        product_context: str | None = None,
        custom_tags: Sequence[str] | None = None,
    ) -> SummaryConfig:
        """Sets the fields given (None: unchanged), cleaned; `SummaryConfigError` names the
        first field that cannot be stored. One upsert that writes only the given fields,
        so two partial updates racing each keep their own field."""
        changes: dict[str, Any] = {"updated_at": datetime.now(UTC)}
        if product_context is not None:
            changes["product_context"] = clean_product_context(product_context)
        if custom_tags is not None:
            changes["custom_tags"] = list(clean_tags(custom_tags))
        values = {"team_id": team_id, "product_context": "", "custom_tags": [], **changes}
        statement = (
            self._insert()
            .values(**values)
            .on_conflict_do_update(index_elements=["team_id"], set_=changes)
        )
        with self._store._session() as session, session.begin():
            session.execute(statement)
        return self.get(team_id)
