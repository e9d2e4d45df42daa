"""The timeline compiler's thresholds. `Settings` (`recap.core.config`) carries one, as
`RECAP_TIMELINE__…`; `recap.core.timeline_settings` reads it without the settings loader."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TimelineConfig(BaseModel):
    """Thresholds of the compiler. Settings carries one (`RECAP_TIMELINE__…`)."""

    model_config = ConfigDict(frozen=True)

    min_session_ms: int = Field(
        default=1_000, ge=0, description="shorter recordings are not worth a summary"
    )
    rage_clicks: int = Field(default=3, ge=2, description="clicks that make a rage click")
    rage_window_ms: int = Field(default=1_000, ge=1)
    rage_radius_px: int = Field(default=30, ge=0)
    dead_click_ms: int = Field(
        default=2_500, ge=1, description="no mutation, navigation or request this long: dead"
    )
    slow_click_ms: int = Field(default=1_000, ge=1, description="reaction slower than this: slow")
    effect_window_ms: int = Field(
        default=2_500, ge=1, description="how long after an action its effects are collected"
    )
    slow_request_ms: int = Field(default=3_000, ge=1)
    idle_gap_ms: int = Field(default=30_000, ge=1_000)
    thrash_window_ms: int = Field(default=30_000, ge=1)
    max_decoded_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1, description="recordings decoding to more are invalid"
    )
