"""Errors out of one compiled timeline: console errors, exceptions, failed requests and
error text shown on the page, each with the user action that came before it."""

from __future__ import annotations

import json
import re
from typing import Final

from recap.clustering.echoes import fold_echoes, split_request
from recap.clustering.fingerprint import (
    fingerprint_key,
    fingerprint_of,
    normalize_message,
    path_template,
)
from recap.clustering.models import ErrorKind, ErrorOccurrence
from recap.timeline.models import ACTION_KINDS, EventKind, Flag, Timeline, TimelineEvent

# The effect of an action names new text as a JSON string literal after `+`.
_SHOWN_TEXT: Final = re.compile(r'\+("(?:[^"\\]|\\.)*")')
_KINDS: Final = {
    EventKind.CONSOLE_ERROR: ErrorKind.CONSOLE,
    EventKind.EXCEPTION: ErrorKind.EXCEPTION,
    EventKind.NETWORK_ERROR: ErrorKind.NETWORK,
}


def describe_action(event: TimelineEvent) -> str:
    """`click button[pay] "Pay now"`, as the timeline renders the action."""
    return f"{event.kind.value} {event.target}" if event.target else event.kind.value


def shown_text(effect: str | None) -> str | None:
    """The quoted text an action's effect says appeared (`+"Payment failed."; …`)."""
    if not effect:
        return None
    match = _SHOWN_TEXT.search(effect)
    if match is None:
        return None
    try:
        text = json.loads(match.group(1))
    except ValueError:
        return match.group(1).strip('"')
    return text if isinstance(text, str) else None


def _status(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def extract_errors(timeline: Timeline, *, failed_outcome: bool | None) -> list[ErrorOccurrence]:
    """Every error of `timeline` as an occurrence, fingerprinted, in timeline order; a
    browser's console echo of a failed request is kept on the request's occurrence
    (`echoes`), not as an error of its own."""
    session_id = timeline.session.session_id
    start = timeline.session.start_timestamp_ms
    found: list[tuple[ErrorOccurrence, TimelineEvent]] = []
    last_action: str | None = None
    for event in sorted(timeline.events, key=lambda e: e.t_ms):
        if event.kind in ACTION_KINDS:
            last_action = describe_action(event)
            if Flag.ERROR_SHOWN in event.flags:
                text = shown_text(event.effect)
                if text:
                    found.append(
                        (
                            _occurrence(
                                session_id,
                                ErrorKind.SHOWN,
                                event,
                                start,
                                message=text,
                                preceding_action=last_action,
                                failed_outcome=failed_outcome,
                            ),
                            event,
                        )
                    )
            continue
        kind = _KINDS.get(event.kind)
        if kind is None:
            continue
        if kind is ErrorKind.NETWORK:
            if Flag.SLOW in event.flags:
                continue  # slow but answered: friction, not an error
            method, path = split_request(event.target)
            status = _status(event.value)
            found.append(
                (
                    _occurrence(
                        session_id,
                        kind,
                        event,
                        start,
                        message=f"{method} {path} {event.value if event.value else '?'}",
                        method=method,
                        template=path_template(path),
                        status=status,
                        preceding_action=last_action,
                        failed_outcome=failed_outcome,
                    ),
                    event,
                )
            )
            continue
        found.append(
            (
                _occurrence(
                    session_id,
                    kind,
                    event,
                    start,
                    message=event.value or "",
                    top_frame=event.target,
                    preceding_action=last_action,
                    failed_outcome=failed_outcome,
                ),
                event,
            )
        )
    return fold_echoes(found)


def _occurrence(
    session_id: str,
    kind: ErrorKind,
    event: TimelineEvent,
    start: int | None,
    *,
    message: str,
    preceding_action: str | None,
    failed_outcome: bool | None,
    top_frame: str | None = None,
    method: str | None = None,
    template: str | None = None,
    status: int | None = None,
) -> ErrorOccurrence:
    if kind is ErrorKind.NETWORK:
        normalized = f"{method} {template} {status if status is not None else '?'}"
    else:
        normalized = normalize_message(message)
    occurrence = ErrorOccurrence(
        session_id=session_id,
        kind=kind,
        ref=event.ref,
        t_ms=event.t_ms,
        timestamp_ms=start + event.t_ms if start is not None else None,
        message=message,
        normalized=normalized,
        top_frame=top_frame,
        method=method,
        path_template=template,
        status=status,
        fingerprint="",
        preceding_action=preceding_action,
        failed_outcome=failed_outcome,
        count=max(1, event.count),
    )
    occurrence.fingerprint = fingerprint_of(fingerprint_key(occurrence))
    return occurrence
