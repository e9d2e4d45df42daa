"""How recap reads PostHog's HTTP answers, the same for the sync source and the async
client: a status becomes a typed error that tells the user what to check, a redirect is
followed only on the configured host, the key never appears in a message, and a compressed
body stops expanding at the recording's bound."""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Iterable, Iterator
from typing import Any, Final

import httpx
import orjson

from recap.recording.decode import GZIP_OR_ZLIB_WBITS, BoundedInflater, DecodedTooLarge
from recap.recording.models import RecordingError, RecordingNotFound
from recap.sources.posthog.config import PostHogConfig
from recap.sources.posthog.errors import (
    PostHogAuthError,
    PostHogBadRequest,
    PostHogBadResponse,
    PostHogRateLimited,
    PostHogRedirectRefused,
    PostHogUnavailable,
)

MAX_SAME_HOST_REDIRECTS: Final = 3
# Enough of an error answer to quote PostHog's `detail`; the rest is never read.
ERROR_BODY_BYTES: Final = 16 * 1024
_MAX_RETRY_AFTER_SECONDS: Final = 3600.0
_DETAIL_CHARS: Final = 200


def retry_after_seconds(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """`Retry-After` in seconds or as an HTTP-date, bounded; None when absent or unreadable."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        delay = float(raw.strip())
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        delay = when - (time.time() if now is None else now)
    if not math.isfinite(delay):
        return None
    return min(max(0.0, delay), _MAX_RETRY_AFTER_SECONDS)


def _scrub(text: str, config: PostHogConfig) -> str:
    secret = config.api_key.get_secret_value()
    return text.replace(secret, "**********") if secret else text


def _detail(body: bytes, config: PostHogConfig) -> str:
    """PostHog's own explanation (`detail`, or `error`/`message`), short and key-free."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    text = None
    if isinstance(doc, dict):
        for name in ("detail", "message", "error"):
            if isinstance(doc.get(name), str):
                text = doc[name]
                break
    if not text:
        return ""
    text = " ".join(text.split())
    if len(text) > _DETAIL_CHARS:
        text = text[: _DETAIL_CHARS - 1] + "…"
    return f": {_scrub(text, config)!r}"


def status_error(
    status: int,
    headers: httpx.Headers,
    body: bytes,
    config: PostHogConfig,
    *,
    what: str,
    missing: str,
    scope: str,
) -> RecordingError:
    """The error for a non-2xx answer to `what`; `missing` names what a 404 did not find."""
    said = f"PostHog answered {status}{_detail(body, config)}"
    if status == 401:
        return PostHogAuthError(
            f"PostHog at {config.host} rejected the API key while {what} ({said}); check"
            f" RECAP_POSTHOG_API_KEY: it must be a personal API key with the {scope} scope"
        )
    if status == 403:
        return PostHogAuthError(
            f"PostHog at {config.host} refused {what} ({said}); the personal API key in"
            f" RECAP_POSTHOG_API_KEY needs the {scope} scope and access to project"
            f" {config.project_id} (RECAP_POSTHOG_PROJECT_ID)"
        )
    if status in (404, 410):
        return RecordingNotFound(
            f"{missing} not found in PostHog project {config.project_id} at {config.host}"
            f" ({said}); check the id, RECAP_POSTHOG_PROJECT_ID and RECAP_POSTHOG_HOST"
        )
    delay = retry_after_seconds(headers)
    if status == 429:
        return PostHogRateLimited(
            f"PostHog rate-limited {what} ({said}); retry after"
            f" {delay if delay is not None else 'a backoff'} s",
            retry_after_seconds=delay,
        )
    if status >= 500 or status in (408, 409, 425):
        return PostHogUnavailable(
            f"PostHog at {config.host} failed while {what} ({said})", retry_after_seconds=delay
        )
    if 300 <= status < 400:
        return PostHogRedirectRefused(
            f"PostHog at {config.host} answered {status} without a usable Location while {what}"
        )
    return PostHogBadRequest(f"PostHog did not accept {what} ({said})")


def same_origin_target(
    request_url: httpx.URL, headers: httpx.Headers, config: PostHogConfig
) -> httpx.URL:
    """Where a redirect points, if it stays on the host PostHog was configured at."""
    location = headers.get("location", "")
    try:
        target = request_url.join(location)
    except httpx.InvalidURL:
        target = None
    origin = (request_url.scheme, request_url.host, request_url.port)
    if target is None or (target.scheme, target.host, target.port) != origin:
        where = target.host if target is not None and target.host else "an unreadable location"
        raise PostHogRedirectRefused(
            f"PostHog at {config.host} redirected to {target.scheme + '://' if target else ''}"
            f"{where}; recap does not follow redirects to another host or scheme (the API key"
            " would go with it). Set RECAP_POSTHOG_HOST to the URL PostHog answers on"
        )
    return target


def too_many_redirects(config: PostHogConfig) -> PostHogRedirectRefused:
    """The error once `MAX_SAME_HOST_REDIRECTS` same-host redirects led nowhere."""
    return PostHogRedirectRefused(f"PostHog at {config.host} redirected too many times")


def unreachable_error(config: PostHogConfig, what: str, exc: Exception) -> PostHogUnavailable:
    """The error for a request that got no answer at all (DNS, refused, timeout)."""
    return PostHogUnavailable(
        f"cannot reach PostHog at {config.host} while {what} ({type(exc).__name__}:"
        f" {_scrub(str(exc), config)[:_DETAIL_CHARS]}); check RECAP_POSTHOG_HOST and the network"
    )


def parse_json(body: bytes, response: httpx.Response, config: PostHogConfig, what: str) -> Any:
    """A 2xx answer's JSON, or a retryable error naming the content type that came instead."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        kind = response.headers.get("content-type", "no content type")
        raise PostHogUnavailable(
            f"PostHog at {config.host} answered {what} with something that is not JSON"
            f" ({kind[:60]}); check RECAP_POSTHOG_HOST points at PostHog itself"
        ) from None


# Bodies are decoded here, not by httpx: httpx inflates each network chunk whole, so a few KB
# of gzip could become gigabytes before anything counts them. These encodings are the ones
# recap asks for (`Accept-Encoding` in `PostHogConfig.headers`).
ACCEPTED_ENCODINGS: Final = "gzip, deflate"
_UNBOUNDED_JSON_BYTES: Final = 256 * 1024 * 1024


class BodyDecoder:
    """Turns a response's raw bytes into its content, in pieces of at most 1 MiB, and stops
    with `DecodedTooLarge` once the content passes `limit`."""

    def __init__(self, headers: httpx.Headers, limit: int | None) -> None:
        encoding = headers.get("content-encoding", "").strip().lower()
        if encoding in ("", "identity"):
            self._inflater = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            self._inflater = BoundedInflater(
                limit,
                wbits=GZIP_OR_ZLIB_WBITS,
                what="PostHog's answer",
                bound="RECAP_TIMELINE__MAX_DECODED_BYTES",
            )
        else:
            raise PostHogBadResponse(
                f"PostHog answered in the {encoding!r} encoding, which recap did not ask for"
            )
        self.limit = limit
        self.produced = 0

    def feed(self, raw: bytes) -> Iterator[bytes]:
        if self._inflater is not None:
            yield from self._inflater.feed(raw)
            return
        self.produced += len(raw)
        if self.limit is not None and self.produced > self.limit:
            raise DecodedTooLarge(
                f"PostHog's answer decodes to more than {self.limit // (1024 * 1024)} MiB"
                " (RECAP_TIMELINE__MAX_DECODED_BYTES)"
            )
        if raw:
            yield raw


def decoded_chunks(response: httpx.Response, limit: int | None) -> Iterator[bytes]:
    """A streamed response's content, bounded by `limit`."""
    decoder = BodyDecoder(response.headers, limit)
    for raw in response.iter_raw():
        yield from decoder.feed(raw)


def read_json_body(response: httpx.Response, limit: int | None, what: str) -> bytes:
    """A streamed JSON answer whole, or `PostHogBadResponse` once it passes `limit`."""
    return _joined(decoded_chunks(response, limit or _UNBOUNDED_JSON_BYTES), what)


async def aread_json_body(response: httpx.Response, limit: int | None, what: str) -> bytes:
    decoder = BodyDecoder(response.headers, limit or _UNBOUNDED_JSON_BYTES)
    pieces: list[bytes] = []
    try:
        async for raw in response.aiter_raw():
            pieces.extend(decoder.feed(raw))
    except DecodedTooLarge as error:
        raise PostHogBadResponse(f"{_answer_while(what)} is too large: {error}") from None
    return b"".join(pieces)


def error_body_start(raw: Iterable[bytes], headers: httpx.Headers) -> bytes:
    """The first bytes of an error answer's content, for its message."""
    decoder = BodyDecoder(headers, None)
    body = b""
    for chunk in raw:
        for piece in decoder.feed(chunk):
            body += piece
            if len(body) >= ERROR_BODY_BYTES:
                return body[:ERROR_BODY_BYTES]
    return body


def _joined(pieces: Iterable[bytes], what: str) -> bytes:
    try:
        return b"".join(pieces)
    except DecodedTooLarge as error:
        raise PostHogBadResponse(f"{_answer_while(what)} is too large: {error}") from None


def _answer_while(what: str) -> str:
    return f"PostHog's answer while {what}"
