"""One person's journey across sessions (issue 20): the sessions in order with their
outcomes and counts from code, and what the model says about them, gated.

The stages, each a plain function over plain data: `journey_sessions` / `journey_counts`
(code's facts), `session_blocks` and `journey_windows` (what the model reads, in windows
that fit), `sessions_prompt` / `combine_prompt`, `gate_journey` (citations checked against
the stored timelines), `render_journey_markdown`. `build_journey` runs them in order.

May import `recap.reports`, `recap.llm`, `recap.timeline`, `core`; never the store (the
services combine the two) nor Temporal.
"""

from __future__ import annotations

from recap.journeys.gate import gate_journey
from recap.journeys.models import (
    DroppedJourneyClaim,
    Journey,
    JourneyCitation,
    JourneyCounts,
    JourneyFindings,
    JourneyRun,
    JourneySession,
    JourneyStatement,
    Overcome,
    SignalCounts,
    StuckPoint,
)
from recap.journeys.prompting import (
    Ask,
    JourneyAnswer,
    answer_schema,
    combine_prompt,
    load_journey_prompt,
    sessions_prompt,
)
from recap.journeys.render import render_journey_markdown
from recap.journeys.sessions import (
    JourneyInput,
    journey_counts,
    journey_sessions,
    ordered,
    session_blocks,
)
from recap.journeys.windows import ChatAsk, build_journey, journey_windows

__all__ = [
    "Ask",
    "ChatAsk",
    "DroppedJourneyClaim",
    "Journey",
    "JourneyAnswer",
    "JourneyCitation",
    "JourneyCounts",
    "JourneyFindings",
    "JourneyInput",
    "JourneyRun",
    "JourneySession",
    "JourneyStatement",
    "Overcome",
    "SignalCounts",
    "StuckPoint",
    "answer_schema",
    "build_journey",
    "combine_prompt",
    "gate_journey",
    "journey_counts",
    "journey_sessions",
    "journey_windows",
    "load_journey_prompt",
    "ordered",
    "render_journey_markdown",
    "session_blocks",
    "sessions_prompt",
]
