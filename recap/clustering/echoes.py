"""The browser's console echo of a failed request, folded into the request's occurrence.

Browsers log a failed request to the console themselves: Chrome writes
`POST https://shop.example.com/api/orders 500 (Internal Server Error)` for a fetch or XHR and
`Failed to load resource: the server responded with a status of 500 (Internal Server Error)`
for other resources; Safari writes the latter with `()` when HTTP/2 gave no reason phrase;
Firefox writes `Loading failed for the <script> with source “https://…”.`; requests that got
no response read `GET https://… net::ERR_CONNECTION_REFUSED` or `Failed to load resource:
net::ERR_…` in Chrome and `Failed to load resource: Could not connect to the server.` in
Safari. Such a line is the same incident as the network error, not a second problem: it is
kept on the request's occurrence as evidence (`echoes`) and never clustered on its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from recap.clustering.fingerprint import path_template
from recap.clustering.models import ErrorKind, ErrorOccurrence
from recap.timeline.models import TimelineEvent

# The console echo is written when the request fails, so it lands within milliseconds of
# the request's end; the two come from different posthog-js buffers (the console plugin
# stamps Date.now(), the network plugin converts performance timings, which drift from the
# wall clock by up to a few hundred ms) and so sometimes arrive in the other order. 2 s
# either side of the request's span covers that skew with margin, and is still shorter
# than the time a person takes to retry, so a retry's echo is nearer its own request.
ECHO_WINDOW_MS: Final = 2_000

_METHOD: Final = r"(?P<method>GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)"
_URL: Final = r"(?P<url>(?:https?|wss?)://\S+)"
_REASON: Final = r"(?: \([^()]*\))?"
_SAFARI_NO_RESPONSE: Final = (
    r"Could not connect to the server\.|The network connection was lost\."
    r"|The Internet connection appears to be offline\.|The request timed out\."
    r"|A server with the specified hostname could not be found\."
)
# (pattern, the status the echo implies when it names none: 0 is "no response", None is
# "any failure")
_ECHOES: Final[tuple[tuple[re.Pattern[str], int | None], ...]] = (
    # Chrome, fetch and XHR: `POST https://… 500 (Internal Server Error)`
    (re.compile(rf"{_METHOD} {_URL} (?P<status>[1-5]\d\d){_REASON}"), None),
    # Chrome, no response: `GET https://… net::ERR_CONNECTION_REFUSED`
    (re.compile(rf"{_METHOD} {_URL} net::ERR_[A-Z0-9_]+"), 0),
    # Chrome and Safari, any resource: `Failed to load resource: the server responded …`
    (
        re.compile(
            r"Failed to load resource: the server responded with a status of "
            rf"(?P<status>[1-5]\d\d){_REASON}"
        ),
        None,
    ),
    (re.compile(rf"Failed to load resource: (?:net::ERR_[A-Z0-9_]+|{_SAFARI_NO_RESPONSE})"), 0),
    # Firefox, a script or stylesheet: `Loading failed for the <script> with source “…”.`
    (re.compile(r"Loading failed for the <\w+> with source [“\"](?P<url>[^”\"]+)[”\"]\.?"), None),
)


@dataclass(frozen=True)
class EchoClaim:
    """What a console echo says about the request it echoes; None where it says nothing."""

    method: str | None
    url: str | None
    status: int | None


def parse_echo(message: str) -> EchoClaim | None:
    """The request `message` echoes, or None when it is not a browser's echo of one."""
    text = message.strip()
    for pattern, implied in _ECHOES:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        found = match.groupdict()
        status = found.get("status")
        return EchoClaim(
            method=found.get("method"),
            url=found.get("url"),
            status=int(status) if status else implied,
        )
    return None


def _url_matches(url: str, request_path: str) -> bool:
    """The timeline writes a same-origin request as its path (`/api/orders/7`) and another
    origin's as `host/path`, both without the query and clipped to 80 characters."""
    parts = urlsplit(url)
    path = parts.path or "/"
    for candidate in (path, f"{parts.netloc}{path}"):
        if candidate == request_path:
            return True
        if request_path.endswith("…") and candidate.startswith(request_path[:-1]):
            return True
    # redaction may have marked an id differently in the message and in the URL
    return path_template(request_path) in {path_template(path), path_template(parts.netloc + path)}


def echoes_request(claim: EchoClaim, request: ErrorOccurrence, request_path: str) -> bool:
    """The echo names this request: its method, URL and status, as far as it names them."""
    if claim.method is not None and claim.method != request.method:
        return False
    if claim.status is not None and claim.status != request.status:
        return False
    return claim.url is None or _url_matches(claim.url, request_path)


def _distance(at: int, request: TimelineEvent) -> int:
    """ms from `at` to the request's span (start to failure); 0 inside it."""
    end = request.t_ms + (request.duration_ms or 0)
    if request.t_ms <= at <= end:
        return 0
    return min(abs(at - request.t_ms), abs(at - end))


def fold_echoes(found: Sequence[tuple[ErrorOccurrence, TimelineEvent]]) -> list[ErrorOccurrence]:
    """`found`'s occurrences without the console echoes of its failed requests, each echo's
    message added to the `echoes` of the request it echoes.

    An echo goes to a failed request of the same window within `ECHO_WINDOW_MS` that it
    names; of several, the nearest in time. Closest pairs are settled first, and a request
    takes no more echoes than the times it failed (`count`), so two failures of the same
    request each keep their own echo."""
    requests = [
        (index, occurrence, event)
        for index, (occurrence, event) in enumerate(found)
        if occurrence.kind is ErrorKind.NETWORK
    ]
    pairs: list[tuple[int, int, int, int]] = []
    for index, (occurrence, event) in enumerate(found):
        if occurrence.kind is not ErrorKind.CONSOLE:
            continue
        claim = parse_echo(occurrence.message)
        if claim is None:
            continue
        for request_index, request, request_event in requests:
            if request_event.window != event.window:
                continue
            distance = _distance(event.t_ms, request_event)
            if distance > ECHO_WINDOW_MS:
                continue
            if not echoes_request(claim, request, _request_path(request_event)):
                continue
            end = request_event.t_ms + (request_event.duration_ms or 0)
            pairs.append((distance, abs(event.t_ms - end), index, request_index))
    room = {index: occurrence.count for index, occurrence, _ in requests}
    folded: dict[int, int] = {}
    for _, _, index, request_index in sorted(pairs):
        echo = found[index][0]
        if index in folded or room[request_index] < echo.count:
            continue
        room[request_index] -= echo.count
        folded[index] = request_index
    for index in sorted(folded):  # in timeline order
        found[folded[index]][0].echoes.append(found[index][0].message)
    return [occurrence for index, (occurrence, _) in enumerate(found) if index not in folded]


def split_request(target: str | None) -> tuple[str, str]:
    """A network error's target, `POST /api/orders`, as (method, path)."""
    method, _, path = (target or "").partition(" ")
    if not path:
        return "GET", method or "/"
    return method, path


def _request_path(event: TimelineEvent) -> str:
    return split_request(event.target)[1]
