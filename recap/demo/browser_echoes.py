"""The browser's own console echo of failed requests, added to a generated recording.

Chrome logs `POST https://shop.example.com/api/orders 500 (Internal Server Error)` for a
failed fetch, Chrome and Safari `Failed to load resource: the server responded with a
status of 500 (…)`; a recording that captured those lines holds each failure twice, once
from the network plugin and once from the console plugin. The demo scenarios do not log
them; this adds them, so clustering can be measured on recordings that do.
"""

from __future__ import annotations

import copy
import json
from bisect import bisect_right
from http import HTTPStatus
from typing import Any, Final, Literal

from recap.recording import rrweb as rr

Json = dict[str, Any]
EchoStyle = Literal["chrome", "chrome_resource", "safari_resource"]

ECHO_STYLES: Final[tuple[EchoStyle, ...]] = ("chrome", "chrome_resource", "safari_resource")


def echo_line(style: EchoStyle, method: str, url: str, status: int) -> str:
    """The console line `style`'s browser writes for a request that answered `status`."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    if style == "chrome":
        return f"{method} {url} {status} ({reason})"
    if style == "chrome_resource":
        return f"Failed to load resource: the server responded with a status of {status} ({reason})"
    # Safari over HTTP/2 has no reason phrase to show
    return f"Failed to load resource: the server responded with a status of {status} ()"


def with_browser_echoes(document: Json, *, style: EchoStyle = "chrome", after_ms: int = 1) -> Json:
    """A copy of PostHog export `document` in which every request that answered 4xx or 5xx
    is echoed by a console error `after_ms` after it failed (negative: before it)."""
    echoed = copy.deepcopy(document)
    snapshots: list[Json] = echoed["data"]["snapshots"]
    echoes: list[Json] = []
    for event in snapshots:
        data = event.get("data")
        if event.get("type") != rr.PLUGIN or not isinstance(data, dict):
            continue
        if data.get("plugin") != "rrweb/network@1":
            continue
        for request in data.get("payload", {}).get("requests", []):
            status = request.get("responseStatus")
            if not isinstance(status, int) or status < 400:
                continue
            failed_at = int(request["timestamp"] + request.get("duration", 0))
            line = echo_line(style, request.get("method", "GET"), request["name"], status)
            payload = {"level": "error", "trace": [], "payload": [json.dumps(line)]}
            echoes.append(
                {
                    "type": rr.PLUGIN,
                    "timestamp": failed_at + after_ms,
                    "windowId": event.get("windowId"),
                    "data": {"plugin": "rrweb/console@1", "payload": payload},
                }
            )
    for echo in echoes:
        at = bisect_right([e["timestamp"] for e in snapshots], echo["timestamp"])
        snapshots.insert(at, echo)
    return echoed
