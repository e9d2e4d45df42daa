"""Loads the versioned prompt templates from `prompts/` and fills them from a timeline.

The prompt version is a hash of the template files, so any wording change gives a new
version, and every stored summary says which wording produced it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from string import Template
from typing import Any

from recap.timeline.models import EventKind, Timeline
from recap.timeline.render import format_duration

PROMPT_NAME = "summarize_session"
_TEMPLATE_FILES = ("system.md", "user.md", "focus.md", "example_output.json")


@dataclass(frozen=True)
class PromptTemplates:
    name: str
    system: str
    user: Template
    focus: Template
    example_output: dict[str, Any]
    version: str


@cache
def load_prompt(name: str = PROMPT_NAME) -> PromptTemplates:
    root = files("prompts").joinpath(name)
    texts = {filename: root.joinpath(filename).read_text("utf-8") for filename in _TEMPLATE_FILES}
    digest = hashlib.sha256()
    for filename in _TEMPLATE_FILES:
        digest.update(filename.encode())
        digest.update(b"\0")
        digest.update(texts[filename].encode())
    return PromptTemplates(
        name=name,
        system=texts["system.md"],
        user=Template(texts["user.md"]),
        focus=Template(texts["focus.md"]),
        example_output=json.loads(texts["example_output.json"]),
        version=f"{name}@{digest.hexdigest()[:12]}",
    )


def _neutralize(text: str) -> str:
    # Untrusted text must not be able to close its own <untrusted> block.
    return text.replace("</untrusted>", "</ untrusted>").replace("<untrusted>", "< untrusted>")


def build_messages(
    timeline: Timeline, rendered: str, *, focus_area: str | None, prompt: PromptTemplates
) -> list[dict[str, str]]:
    counts = {kind: 0 for kind in EventKind}
    for event in timeline.events:
        counts[event.kind] += 1
    focus_block = (
        prompt.focus.substitute(focus_area=_neutralize(focus_area.strip())) if focus_area else ""
    )
    user = prompt.user.substitute(
        session_id=timeline.session.session_id,
        start_url=timeline.session.start_url or "unknown",
        duration=format_duration(timeline.session.duration_ms),
        event_count=len(timeline.events),
        clicks=counts[EventKind.CLICK],
        inputs=counts[EventKind.INPUT],
        navigations=counts[EventKind.NAVIGATION],
        console_errors=counts[EventKind.CONSOLE_ERROR],
        focus_block=focus_block,
        timeline=_neutralize(rendered),
    )
    return [{"role": "system", "content": prompt.system}, {"role": "user", "content": user}]
