"""Fingerprints: the same error with different ids, values and URLs gets the same key.

Messages lose what varies between occurrences (numbers, ids, emails, quoted values,
query strings); URL paths become templates (`/api/orders/:id`); stack frames lose line
numbers and bundle hashes.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final, Protocol
from urllib.parse import urlsplit

from recap.clustering.models import ErrorKind

MESSAGE_MAX: Final = 300

_URL: Final = re.compile(r"\b(?:https?|wss?)://[^\s'\"`<>()]+", re.IGNORECASE)
_EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_UUID: Final = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE
)
_QUOTED: Final = re.compile(r"'[^'\n]{0,200}'|\"[^\"\n]{0,200}\"|`[^`\n]{0,200}`")
_QUERY: Final = re.compile(r"\?[\w%.~+-]+=[^\s'\"`]*")
_HEX: Final = re.compile(r"\b0x[0-9a-f]+\b|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b", re.I)
# Long tokens mixing letters and digits (`ord_8f3k2j9x`, `tok-ab12cd34`) are ids.
_MIXED_ID: Final = re.compile(r"\b(?=(?:[\w-]*\d){2})(?=[\w-]*[a-z])[\w-]{8,}\b", re.IGNORECASE)
# A number may carry a unit (`1500ms`, `12px`); digits inside a word (`v2`, `h1`) stay.
_NUMBER: Final = re.compile(r"(?<![<\w])[-+]?\d+(?:[.,]\d+)*(?!\d)")
_SPACES: Final = re.compile(r"\s+")

_UUID_SEGMENT: Final = re.compile(
    r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"
)
_HEXISH_SEGMENT: Final = re.compile(r"^(?=.*\d)[0-9a-f]{8,}$")
_NUMERIC_SEGMENT: Final = re.compile(r"^\d+$")

# `main.3f9a2b1c.js`, `chunk-4f3a2b91.mjs`, `index-BxY3k9_a.js`: build hashes in bundle names.
_BUNDLE_HASH: Final = re.compile(
    r"[.-](?=[\w]*\d)[A-Za-z0-9_]{6,}(?=\.(?:m?js|cjs|jsx|tsx?|css)\b)"
)
_LINE_COL: Final = re.compile(r"(\.\w+)(?::\d+){1,2}\b")
_BARE_LINE_COL: Final = re.compile(r"(?::\d+){1,2}(?=\)?$)")


class Fingerprintable(Protocol):
    @property
    def kind(self) -> ErrorKind: ...
    @property
    def normalized(self) -> str: ...
    @property
    def top_frame(self) -> str | None: ...
    @property
    def method(self) -> str | None: ...
    @property
    def path_template(self) -> str | None: ...
    @property
    def status(self) -> int | None: ...


def _segment_is_id(segment: str) -> bool:
    lowered = segment.lower()
    if not lowered:
        return False
    if lowered.startswith("<") and lowered.endswith(">"):
        return True  # recap's redaction markers: <token>, <email>, …
    if _NUMERIC_SEGMENT.match(lowered) or _UUID_SEGMENT.match(lowered):
        return True
    if _HEXISH_SEGMENT.match(lowered):
        return True
    digits = sum(c.isdigit() for c in lowered)
    # Long mixed segments are ids; `v2`, `oauth2callback`, `utf-8` are not.
    return (digits >= 2 and len(lowered) >= 8 and digits < len(lowered)) or len(lowered) >= 32


def path_template(url_or_path: str) -> str:
    """`https://x.com/api/orders/123?x=1` -> `/api/orders/:id`."""
    text = url_or_path.strip()
    if "://" in text:
        text = urlsplit(text).path
    text = text.split("#", 1)[0].split("?", 1)[0]
    segments = [s for s in text.split("/") if s]
    return "/" + "/".join(":id" if _segment_is_id(s) else s for s in segments)


def _url_template(match: re.Match[str]) -> str:
    parts = urlsplit(match.group(0))
    return f"{parts.scheme}://{parts.netloc}{path_template(parts.path or '/')}"


def normalize_message(text: str) -> str:
    """A message with what varies between occurrences replaced by placeholders."""
    text = _SPACES.sub(" ", text).strip()
    text = _URL.sub(_url_template, text)
    text = _QUERY.sub("?<query>", text)
    text = _EMAIL.sub("<email>", text)
    text = _UUID.sub("<uuid>", text)
    text = _QUOTED.sub("<str>", text)
    text = _HEX.sub("<hex>", text)
    text = _MIXED_ID.sub("<id>", text)
    text = _NUMBER.sub("<n>", text)
    return text[:MESSAGE_MAX]


def normalize_frame(frame: str) -> str:
    """A stack frame without line/column numbers, host, query or bundle hash."""
    text = _SPACES.sub(" ", frame).strip()
    text = _URL.sub(lambda m: urlsplit(m.group(0)).path, text)
    text = _BUNDLE_HASH.sub("", text)
    text = _LINE_COL.sub(r"\1", text)
    return _BARE_LINE_COL.sub("", text)


def status_class(status: int | None) -> str:
    """`5xx`, `4xx`, … ; `failed` for a request that never got a response."""
    if status is None:
        return "unknown"
    if status == 0:
        return "failed"
    return f"{status // 100}xx"


def fingerprint_key(o: Fingerprintable) -> str:
    """What makes two errors the same: normalized message and top frame, or for a failed
    request its method, path template and status."""
    if o.kind is ErrorKind.NETWORK:
        return f"network {o.method or 'GET'} {o.path_template or '/'} {o.status}"
    frame = normalize_frame(o.top_frame) if o.top_frame else ""
    return f"{o.kind.value} {o.normalized} | {frame}".rstrip(" |")


def fingerprint_of(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()[:16]
