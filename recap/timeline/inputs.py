"""Typing and toggling: keystrokes into a field collapse into one input event per focus,
checkboxes and radios become `checked` / `unchecked`, and every value is redacted (a field
that was ever a password stays masked; phones are read with the page's locale hints)."""

from __future__ import annotations

from typing import Any, Final

from recap.timeline.locale import phone_regions
from recap.timeline.mirror import FieldInfo
from recap.timeline.models import EventKind, Flag
from recap.timeline.page_text import clip
from recap.timeline.pass_state import DOUBLE_CLICK_MS, KeystrokeBurst, PassState, WindowState
from recap.timeline.redact import MASK, redact_input_value

VALUE_MAX_CHARS: Final = 200
_CHECKABLE: Final = frozenset({"checkbox", "radio"})


def on_input(state: PassState, ts: int, win: WindowState, data: dict[str, Any]) -> None:
    field_id = data.get("id")
    if type(field_id) is not int:
        state.skipped["malformed_input"] += 1
        return
    text = data.get("text")
    text = text if isinstance(text, str) else ""
    burst = win.bursts.get(field_id)
    if burst is not None:
        # The common case, a keystroke into the field being typed in: no lookups.
        if text != burst.baseline:
            burst.edited = True
        burst.value = text
        burst.last_ts = ts
        return
    info = win.mirror.field(field_id)
    if info is not None and info.input_type in _CHECKABLE:
        _on_toggle(state, ts, win, data, field_id, info)
        return
    if win.focused is not None and win.focused != field_id:
        # Scripts set values of fields the user is not in; that is a new baseline,
        # not something the user typed.
        win.baselines[field_id] = text
        return
    baseline = win.baselines.get(field_id)
    if baseline is None and info is not None:
        initial = info.attrs.get("value")
        baseline = initial if isinstance(initial, str) else None
    win.bursts[field_id] = KeystrokeBurst(
        field_id=field_id,
        target=state.target_label(win, field_id),
        info=info,
        baseline=baseline,
        value=text,
        first_ts=ts,
        last_ts=ts,
        edited=text != baseline,
    )


def _on_toggle(
    state: PassState,
    ts: int,
    win: WindowState,
    data: dict[str, Any],
    field_id: int,
    info: FieldInfo,
) -> None:
    checked = data.get("isChecked") is True
    if info.input_type == "radio" and not checked:
        return  # rrweb also reports the radios a click unchecked
    for click, _, _ in win.recent_clicks:
        # The toggle says more than the click that caused it; keep one event.
        if click.node_id == field_id and ts - click.ts <= DOUBLE_CLICK_MS:
            click.dropped = True
    state.changed(ts, win)
    state.emit(
        ts,
        win,
        EventKind.INPUT,
        target=state.target_label(win, field_id),
        value="checked" if checked else "unchecked",
        node_id=field_id,
        form_id=state.form_key(win, field_id),
        field_name=_field_name(info),
    )


def on_focus(state: PassState, win: WindowState, node_id: Any) -> None:
    # A field without a blur event still ends its burst when focus moves on.
    flush_bursts(state, win)
    win.focused = node_id if type(node_id) is int else None


def on_blur(state: PassState, win: WindowState, node_id: Any) -> None:
    if type(node_id) is int:
        flush_bursts(state, win, node_id)
    if win.focused == node_id:
        win.focused = None


def flush_bursts(state: PassState, win: WindowState, only: int | None = None) -> None:
    """End the window's keystroke bursts (or only the one in field `only`): each field
    that was edited becomes one input event, and its value the field's new baseline."""
    for field_id in [only] if only is not None else list(win.bursts):
        burst = win.bursts.pop(field_id, None) if field_id is not None else None
        if burst is None:
            continue
        win.baselines[field_id] = burst.value
        if not burst.edited:
            continue
        info = burst.info
        if win.mirror.was_password(field_id) or (info is not None and info.was_password):
            # Asked now, not when typing began: "show password" may have been toggled since.
            value = MASK
        else:
            value = redact_input_value(
                burst.value,
                info.attrs if info is not None else None,
                info.label if info is not None else None,
                phone_regions(win.url, win.mirror.lang),
            )
        draft = state.emit(
            burst.last_ts,
            win,
            EventKind.INPUT,
            target=burst.target,
            value=clip(value, VALUE_MAX_CHARS),
            node_id=field_id,
            duration_ms=burst.last_ts - burst.first_ts or None,
            form_id=state.form_key(win, field_id),
            field_name=_field_name(info),
        )
        if value == MASK:
            draft.flag(Flag.MASKED)


def _field_name(info: FieldInfo | None) -> str | None:
    if info is None:
        return None
    name = info.attrs.get("name")
    return name if isinstance(name, str) and name else None
