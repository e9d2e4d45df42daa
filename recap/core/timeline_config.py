"""The timeline compiler's thresholds. `Settings` (`recap.core.config`) carries one, as
`RECAP_TIMELINE__…`; `recap.core.timeline_settings` reads it without the settings loader.

A stdlib dataclass, so that `recap timeline` runs without loading pydantic (about 40% of
a 1 MB run's time and memory); pydantic checks each `AtLeast` bound where the settings
read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any


class AtLeast:
    """A lower bound that pydantic enforces when it validates the field (from the settings)."""

    __slots__ = ("minimum",)

    def __init__(self, minimum: int) -> None:
        self.minimum = minimum

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        # Called only by pydantic, so loading nothing here.
        return {**handler(source), "ge": self.minimum}


@dataclass(frozen=True, slots=True)
class TimelineConfig:
    """Thresholds of the compiler. Settings carries one (`RECAP_TIMELINE__…`)."""

    # shorter recordings are not worth a summary
    min_session_ms: Annotated[int, AtLeast(0)] = 1_000
    # clicks that make a rage click
    rage_clicks: Annotated[int, AtLeast(2)] = 3
    rage_window_ms: Annotated[int, AtLeast(1)] = 1_000
    rage_radius_px: Annotated[int, AtLeast(0)] = 30
    # no mutation, navigation or request this long: dead
    dead_click_ms: Annotated[int, AtLeast(1)] = 2_500
    # reaction slower than this: slow
    slow_click_ms: Annotated[int, AtLeast(1)] = 1_000
    # how long after an action its effects are collected
    effect_window_ms: Annotated[int, AtLeast(1)] = 2_500
    slow_request_ms: Annotated[int, AtLeast(1)] = 3_000
    idle_gap_ms: Annotated[int, AtLeast(1_000)] = 30_000
    thrash_window_ms: Annotated[int, AtLeast(1)] = 30_000
    # recordings decoding to more are invalid
    max_decoded_bytes: Annotated[int, AtLeast(1)] = 512 * 1024 * 1024
