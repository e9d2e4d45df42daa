"""What the page did after an action: DOM mutations are applied to the window's mirror and
fed to the open `EffectWatch`es, and a closed watch describes the action's effect.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Final

from recap.recording import rrweb as rr
from recap.recording.decode import MUTATION_FIELDS, DecodeError, expand_data
from recap.timeline.page_text import clip, quoted
from recap.timeline.pass_state import EffectWatch, PassState, WindowState
from recap.timeline.redact import redact_text

EFFECT_TEXT_CHARS: Final = 40
ERROR_SHOWN_MAX_TEXTS: Final = 3

_ERROR_WORDS = re.compile(
    r"\b(error|errors|failed|failure|invalid|incorrect|unable|could ?n[o']t|can[n']?o?t|"
    r"denied|expired|declined|went wrong|try again|not found|unavailable|timed out|"
    r"problem|rejected|forbidden)\b",
    re.IGNORECASE,
)


def on_mutation(state: PassState, ts: int, win: WindowState, data: dict[str, Any]) -> None:
    if any(isinstance(data.get(name), str) for name in MUTATION_FIELDS):
        try:
            data = expand_data(rr.INCREMENTAL_SNAPSHOT, data)
        except DecodeError:
            state.skipped["bad_compression"] += 1
            return
    watching = bool(win.watches)
    summary = win.mirror.apply_mutation(data, want_text=watching)
    if summary.changed or summary.attributes:
        state.changed(ts, win)
    for watch in win.watches:
        watch.feed(ts, summary)


def close_watches(win: WindowState, now: int | None) -> None:
    """Describe the actions whose watch is over by `now` (all of them when None)."""
    if not win.watches:
        return
    still_open = []
    for watch in win.watches:
        if now is not None and watch.deadline >= now:
            still_open.append(watch)
        elif not watch.draft.dropped:
            describe_effect(watch)
    win.watches = still_open


def describe_effect(watch: EffectWatch) -> None:
    """Describe, on the draft, what the DOM and the URL did after the action."""
    draft = watch.draft
    if watch.first_change is not None:
        draft.react_ms = max(0, watch.first_change - draft.last_ts)
    # Frameworks often re-render a whole list to change one row: texts that were removed
    # and added back cancel out, so the description names what is actually new.
    appeared = Counter(watch.added_texts)
    appeared.subtract(watch.removed_texts)
    new_texts = [t for t in dict.fromkeys(watch.added_texts) if appeared[t] > 0]
    if watch.changed_text:
        new_texts.append(watch.changed_text)
    # An error message is a short addition; a re-rendered list that happens to hold the
    # word "failure" is not one.
    error = next((t for t in new_texts if _ERROR_WORDS.search(t)), None)
    if error is not None and len(new_texts) <= ERROR_SHOWN_MAX_TEXTS:
        draft.error_text = error
    else:
        error = None
    if watch.navigated_to is not None:
        draft.dom_effect = f"navigated to {watch.navigated_to}"
        return
    if watch.reloaded:
        draft.dom_effect = "reloaded the page"
        return
    if not (watch.added or watch.removed or watch.texts):
        if watch.attributes:
            draft.dom_effect = "restyled"
        return
    new_text = error or next(iter(new_texts), None)
    gone_text = next((t for t in watch.removed_texts if appeared[t] < 0), None)
    if new_text is not None:
        draft.dom_effect = f"+{_effect_text(new_text)}"
    elif watch.changed_text is not None:
        draft.dom_effect = f"text {_effect_text(watch.changed_text)}"
    elif gone_text is not None:
        draft.dom_effect = f"-{_effect_text(gone_text)}"
    else:
        draft.dom_effect = "re-rendered"


def _effect_text(text: str) -> str:
    return quoted(clip(redact_text(text), EFFECT_TEXT_CHARS))
