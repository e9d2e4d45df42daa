"""The timeline stage: compile a recording into citable facts, render, count and budget them.

`compile` is the entry point. `event_pass` reads the rrweb events in time order and hands
each to what handles it (`clicks`, `inputs`, `viewing`, `navigation`, `gaps`,
`page_errors`, `effects`), which write drafts into the `pass_state`; `settle` takes them
from there as soon as nothing can change them and flags them (`signals`), and `stats`
counts them. `mirror` (with `elements` and `page_text`) replays each window's DOM to name
what was clicked; `redact` masks what must not leave the recording; `render`, `tokens`
and `budget` make the text the model reads. `compile_lines` keeps a long recording's
events in a `line_store` on disk, and `compile_budgeted` budgets them from there, so
memory stays flat however long the recording.

May import `recap.recording` and `recap.core`; never `recap.llm` or anything above, and
never pydantic (its artifacts are dataclasses, so that `recap timeline` stays small).
"""

from __future__ import annotations

import hashlib
import json

from recap.timeline.budget import budget_timeline
from recap.timeline.compile import (
    CompiledLines,
    compile_budgeted,
    compile_events,
    compile_lines,
    compile_timeline,
)
from recap.timeline.models import (
    EventKind,
    SessionInfo,
    Timeline,
    TimelineEvent,
    TimelineStats,
    as_json,
)
from recap.timeline.render import render_event, render_lines, render_timeline
from recap.timeline.tokens import count_tokens


def timeline_hash(timeline: Timeline) -> str:
    """sha256 (hex) of the canonical JSON of the session and events; stats are excluded."""
    canonical = {
        "session": as_json(timeline.session),
        "events": [as_json(event) for event in timeline.events],
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


__all__ = [
    "CompiledLines",
    "EventKind",
    "SessionInfo",
    "Timeline",
    "TimelineEvent",
    "TimelineStats",
    "as_json",
    "budget_timeline",
    "compile_budgeted",
    "compile_events",
    "compile_lines",
    "compile_timeline",
    "count_tokens",
    "render_event",
    "render_lines",
    "render_timeline",
    "timeline_hash",
]
