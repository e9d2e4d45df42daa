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

from recap.llm.fence import Fence, neutralize
from recap.timeline.models import ERROR_KINDS, SIGNAL_FLAGS, EventKind, Flag, Timeline
from recap.timeline.render import format_duration

PROMPT_NAME = "summarize_session"
_TEMPLATE_FILES = ("system.md", "user.md", "focus.md", "context.md", "example_output.json")
SIGNAL_REFS_MAX = 12


@dataclass(frozen=True)
class PromptTemplates:
    name: str
    system: str
    user: Template
    focus: Template
    context: Template
    example_output: dict[str, Any]
    version: str


def read_templates(name: str, filenames: tuple[str, ...]) -> tuple[dict[str, str], str]:
    """The files of one folder under `prompts/`, and its version: `name@` and the first 12
    hex of a sha256 over the file names and texts, so any wording change is a new version."""
    root = files("prompts").joinpath(name)
    texts = {filename: root.joinpath(filename).read_text("utf-8") for filename in filenames}
    digest = hashlib.sha256()
    for filename in filenames:
        digest.update(filename.encode())
        digest.update(b"\0")
        digest.update(texts[filename].encode())
    return texts, f"{name}@{digest.hexdigest()[:12]}"


@cache
def load_prompt(name: str = PROMPT_NAME) -> PromptTemplates:
    texts, version = read_templates(name, _TEMPLATE_FILES)
    return PromptTemplates(
        name=name,
        system=texts["system.md"],
        user=Template(texts["user.md"]),
        focus=Template(texts["focus.md"]),
        context=Template(texts["context.md"]),
        example_output=json.loads(texts["example_output.json"]),
        version=version,
    )


def _signals(timeline: Timeline) -> str:
    """Where code found friction and errors, by ref: `rage e12, e40; errors e36`."""
    found: dict[str, list[str]] = {}
    for event in timeline.events:
        names = [flag for flag in event.flags if flag in SIGNAL_FLAGS]
        if event.kind in ERROR_KINDS and Flag.SLOW not in event.flags:
            names.append("errors")
        if event.kind is EventKind.GAP:
            names.append("unseen")
        for name in names:
            found.setdefault(name, []).append(event.ref)
    if not found:
        return "none"
    parts = []
    for name, refs in found.items():
        shown = ", ".join(refs[:SIGNAL_REFS_MAX])
        more = f" and {len(refs) - SIGNAL_REFS_MAX} more" if len(refs) > SIGNAL_REFS_MAX else ""
        parts.append(f"{name} {shown}{more}")
    return "; ".join(parts)


def build_messages(
    timeline: Timeline,
    rendered: str,
    *,
    focus_area: str | None,
    prompt: PromptTemplates,
    product_context: str | None = None,
    fence: Fence | None = None,
) -> list[dict[str, str]]:
    """The system and user messages: metadata and signals from code, and the start URL and
    timeline, the focus area and the product context in untrusted blocks behind one random
    fence per request."""
    session, stats = timeline.session, timeline.stats
    fence = fence or Fence.new()
    focus_block = (
        prompt.focus.substitute(focus_area=neutralize(focus_area.strip()), fence=fence.tag)
        if focus_area
        else ""
    )
    context_block = (
        prompt.context.substitute(
            product_context=neutralize(product_context.strip()), fence=fence.tag
        )
        if product_context and product_context.strip()
        else ""
    )
    counts = {
        "clicks": stats.clicks,
        "inputs": stats.inputs,
        "page views": stats.navigations,
        "console errors": stats.console_errors,
        "exceptions": stats.exceptions,
        "failed requests": stats.network_errors,
    }
    user = prompt.user.substitute(
        session_id=session.session_id,
        start_url=neutralize(session.start_url or "unknown"),
        duration=format_duration(session.duration_ms),
        active_seconds=session.active_ms // 1000,
        counts=", ".join(f"{value} {name}" for name, value in counts.items()),
        signals=_signals(timeline),
        context_block=context_block,
        focus_block=focus_block,
        timeline=neutralize(rendered),
        fence=fence.tag,
    )
    return [{"role": "system", "content": prompt.system}, {"role": "user", "content": user}]
