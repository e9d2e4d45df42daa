"""Posting one message and reading the answer as a typed outcome: delivered (2xx);
retryable (5xx, 429 with its Retry-After, a timeout, a connection that failed); rejected
(any other 4xx, or a redirect: the receiver will not take this message as it is).

Messages name the destination and the answer, never its URL: a Slack webhook's URL is its
credential."""

from __future__ import annotations

import email.utils
import math
import time
from dataclasses import dataclass, field
from typing import Literal

import httpx

SendStatus = Literal["delivered", "retryable", "rejected"]
# A receiver asking for longer than this is retried at the retry policy's pace instead.
MAX_RETRY_AFTER_SECONDS = 600.0
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True)
class OutgoingMessage:
    # How messages name the destination: its kind and name, never its URL.
    destination: str
    url: str = field(repr=False)
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class SendOutcome:
    status: SendStatus
    http_status: int | None = None
    error: str | None = None
    retry_after_seconds: float | None = None


def retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """`Retry-After` in seconds or as an HTTP-date; None when absent or unreadable."""
    if value is None:
        return None
    try:
        delay = float(value.strip())
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        delay = when - (time.time() if now is None else now)
    if not math.isfinite(delay):
        return None
    return min(max(0.0, delay), MAX_RETRY_AFTER_SECONDS)


def _answer_text(response: httpx.Response) -> str:
    text = " ".join(response.text[:200].split())
    return f": {text}" if text else ""


def outcome_of(response: httpx.Response, destination: str) -> SendOutcome:
    code = response.status_code
    if 200 <= code < 300:
        return SendOutcome("delivered", code)
    if code == 429:
        delay = retry_after(response.headers.get("retry-after"))
        return SendOutcome(
            "retryable",
            code,
            f"{destination} answered 429 (too many requests); retrying"
            + (f" after {delay:g} s" if delay is not None else ""),
            delay,
        )
    if code >= 500:
        return SendOutcome("retryable", code, f"{destination} answered {code}; retrying")
    if 300 <= code < 400:
        return SendOutcome(
            "rejected",
            code,
            f"{destination} answered {code} (a redirect); recap does not follow redirects:"
            " store the final URL",
        )
    return SendOutcome(
        "rejected",
        code,
        f"{destination} answered {code}{_answer_text(response)}; not retried: check its URL"
        " and what it accepts, then `recap destinations test`",
    )


def send(message: OutgoingMessage, client: httpx.Client) -> SendOutcome:
    """One POST; never raises for what the network or the receiver did."""
    try:
        response = client.post(
            message.url,
            content=message.body,
            headers={"Content-Type": "application/json", **message.headers},
        )
    except httpx.TimeoutException:
        return SendOutcome("retryable", None, f"{message.destination} did not answer in time")
    except httpx.TransportError as error:
        # The error's text can carry the URL; its type says enough.
        return SendOutcome(
            "retryable",
            None,
            f"{message.destination} could not be reached ({type(error).__name__})",
        )
    return outcome_of(response, message.destination)


def new_client(timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.Client:
    """The client deliveries are posted with: no redirects, bounded timeouts."""
    return httpx.Client(timeout=timeout, follow_redirects=False)
