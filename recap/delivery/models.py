"""What a delivery is about: the kinds of destination and item, how a quiet digest is
sent, and a destination opened for sending (its secrets in the clear, in memory only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DestinationKind = Literal["slack", "webhook"]
ItemKind = Literal["report", "digest"]
# A digest with no new or rising pattern: "line" sends one line, "silent" sends nothing.
QuietMode = Literal["line", "silent"]
DESTINATION_KINDS: tuple[DestinationKind, ...] = ("slack", "webhook")
QUIET_MODES: tuple[QuietMode, ...] = ("line", "silent")


@dataclass(frozen=True)
class DestinationTarget:
    """A destination ready to send to. Its URL and signing secret are never logged,
    printed or put in a payload; `repr` leaves them out."""

    destination_id: str
    team_id: str
    kind: DestinationKind
    name: str
    quiet: QuietMode
    url: str = field(repr=False)
    signing_secret: str | None = field(default=None, repr=False)


def check_url(url: str, kind: DestinationKind) -> str:
    """The URL stripped, or ValueError. The message never repeats the URL: a Slack
    webhook's URL is its credential."""
    from urllib.parse import urlsplit

    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        what = "a Slack incoming webhook URL" if kind == "slack" else "a webhook URL"
        raise ValueError(f"{what} must be an http(s) URL such as https://example.com/hook")
    if any(ch.isspace() for ch in url):
        raise ValueError("the URL contains spaces; copy it again")
    return url
