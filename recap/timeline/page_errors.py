"""What the page reported going wrong: console errors, exceptions, and network requests.

Every request is kept for the signal pass (an action's effect, an erroring action); only
failed and slow ones become timeline events. Messages and URLs are redacted and clipped.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import Any, Final

from recap.timeline.drafts import Request
from recap.timeline.models import EventKind, Flag
from recap.timeline.navigation import relative_url
from recap.timeline.page_text import clip, collapse
from recap.timeline.pass_state import PassState, WindowState
from recap.timeline.redact import redact_text, redact_url

ERROR_MAX_CHARS: Final = 200
_ERROR_LEVELS: Final = frozenset({"error", "assert"})
# Requests that analytics and monitoring make on their own: never an effect of a click.
_TELEMETRY = re.compile(
    r"/(e|s|i/v0/e|decide|flags|batch|engage|capture|track|collect|rum|beacon)/?(\?|$)"
    r"|sentry|google-analytics|googletagmanager|segment\.(io|com)|hotjar|intercom"
    r"|posthog\.com|/ingest/",
    re.IGNORECASE,
)
# posthog-js's legacy performance payloads key PerformanceEntry fields by index.
_LEGACY_NETWORK_KEYS: Final = {
    "2": "name",
    "21": "responseStatus",
    "39": "duration",
    "40": "timestamp",
}


def on_console(state: PassState, ts: int, win: WindowState, payload: dict[str, Any]) -> None:
    level = payload.get("level")
    if not isinstance(level, str) or level not in _ERROR_LEVELS:
        return
    items = payload.get("payload")
    parts = items if isinstance(items, list) else [items]
    texts = []
    for item in parts[:3]:
        value = item
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)  # the plugin JSON-encodes every argument
        texts.append(value if isinstance(value, str) else json.dumps(value))
    message = " ".join(t.strip() for t in texts if t.strip()) or "null"
    trace = payload.get("trace")
    frame = (
        next((f for f in trace if isinstance(f, str)), None) if isinstance(trace, list) else None
    )
    state.emit(
        ts,
        win,
        EventKind.CONSOLE_ERROR,
        value=_error_text(message),
        target=clip(redact_text(collapse(frame)), 80) if frame else None,
        flags=["assert"] if level == "assert" else [],
    )


def on_exception(state: PassState, ts: int, win: WindowState, payload: dict[str, Any]) -> None:
    message = payload.get("$exception_message") or payload.get("message")
    if not isinstance(message, str):
        values = payload.get("$exception_list")
        first = values[0] if isinstance(values, list) and values else None
        message = first.get("value") if isinstance(first, dict) else None
    state.emit(
        ts,
        win,
        EventKind.EXCEPTION,
        value=_error_text(message) if message is not None else "unknown exception",
    )


def on_network(state: PassState, ts: int, win: WindowState, request: dict[str, Any]) -> None:
    status = request.get("responseStatus", request.get("status"))
    status = status if type(status) is int else None
    method = request.get("method")
    method = method.upper() if isinstance(method, str) and method.isalpha() else "GET"
    url = request.get("name", request.get("url"))
    if not isinstance(url, str) or not url:
        state.skipped["malformed_request"] += 1
        return
    if _TELEMETRY.search(url):
        return
    started = request.get("timestamp")
    start = int(started) if isinstance(started, int | float) and started > 1e11 else ts
    duration = request.get("duration")
    if not isinstance(duration, int | float):
        begin, end = request.get("startTime"), request.get("endTime")
        both = isinstance(begin, int | float) and isinstance(end, int | float)
        duration = end - begin if both else None  # type: ignore[operator]
    took = int(duration) if isinstance(duration, int | float) and duration >= 0 else None
    path = _short_path(redact_url(url), win.url)
    record = Request(
        ts=start, window=win.label, method=method, path=path, status=status, duration_ms=took
    )
    state.requests.append(record)
    if record.failed:
        state.emit(
            start,
            win,
            EventKind.NETWORK_ERROR,
            target=f"{method} {path}",
            value=str(status),
            duration_ms=took,
            flags=[Flag.FAILED] if status == 0 else [],
        )
    elif took is not None and took > state.config.slow_request_ms:
        state.emit(
            start,
            win,
            EventKind.NETWORK_ERROR,
            target=f"{method} {path}",
            value=str(status) if status else None,
            duration_ms=took,
            flags=[Flag.SLOW],
        )


def requests_of(payload: Any) -> Iterator[dict[str, Any]]:
    """rrweb/network@1 batches `requests`; the legacy posthog plugin sent one entry, with
    named or index keys."""
    if isinstance(payload, dict):
        requests = payload.get("requests")
        if isinstance(requests, list):
            yield from (r for r in requests if isinstance(r, dict))
        elif "name" in payload or "url" in payload:
            yield payload
        elif isinstance(payload.get("2"), str):
            yield {name: payload.get(key) for key, name in _LEGACY_NETWORK_KEYS.items()}
    elif isinstance(payload, list):
        yield from (r for r in payload if isinstance(r, dict))


def _short_path(url: str, base: str | None) -> str:
    """A request as `/api/orders` (same origin) or `host/path`, without the query."""
    relative = relative_url(url, base)
    cut = relative.split("?", 1)[0].split("#", 1)[0]
    if cut.startswith(("http://", "https://")):
        cut = cut.split("://", 1)[1]
    return clip(cut or "/", 80)


def _error_text(value: Any) -> str:
    if value is None:
        return "null"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return clip(redact_text(collapse(text)), ERROR_MAX_CHARS)
