"""PII redaction for everything the timeline carries: input values, page text and URLs.

The timeline is sent to a model and stored, so secrets are masked by field semantics
(password, card, token, …) and free text loses emails, card numbers and phone numbers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

MASK: Final = "***"
EMAIL_MARK: Final = "<email>"
CARD_MARK: Final = "<card>"
PHONE_MARK: Final = "<phone>"

_EMAIL = re.compile(r"[\w.!#$%&'*+=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# 13-19 digits, optionally grouped by single spaces or dashes, as card numbers are written.
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
# Grouped numbers (or a +country prefix); the digit count check below keeps dates and
# short ids out.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,5}){1,4}(?![\w])"
    r"|(?<![\w+])\+\d{8,15}(?!\w)"
)
_PHONE_MIN_DIGITS: Final = 9
_PHONE_MAX_DIGITS: Final = 15

_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

# Whole words (after splitting names like `cc-number`, `userPassword`, `card_cvc`).
_SENSITIVE_FIELD_WORDS: Final = frozenset(
    {
        "password", "passwd", "pwd", "pass", "passcode", "secret", "token", "otp", "cc",
        "card", "creditcard", "ccnumber", "cardnumber", "cvv", "cvc", "csc", "ssn", "iban",
        "pin",
    }
)  # fmt: skip
# Substrings that are sensitive wherever they appear (`newpassword`, `apitoken`).
_SENSITIVE_FIELD_PARTS: Final = (
    "password", "passwd", "secret", "token", "creditcard", "cardnumber", "cvv", "cvc",
    "iban",
)  # fmt: skip
_SENSITIVE_AUTOCOMPLETE: Final = frozenset({"current-password", "new-password", "one-time-code"})

_SENSITIVE_QUERY_WORDS: Final = frozenset(
    {
        "password", "pass", "passwd", "pwd", "token", "key", "secret", "auth", "code", "email",
        "card", "creditcard", "cc", "ssn", "session", "sid", "otp", "signature", "sig",
        "apikey", "jwt",
    }
)  # fmt: skip
_SENSITIVE_QUERY_PARTS: Final = (
    "password", "passwd", "token", "secret", "session", "creditcard", "apikey", "auth",
    "email",
)  # fmt: skip

# Characters that would let a URL break the one-line render format.
_URL_UNSAFE = re.compile(r'[\s"`\x00-\x1f\x7f]')


def _words(name: str) -> list[str]:
    return [w for w in _WORD_SPLIT.split(_CAMEL.sub("-", name).lower()) if w]


def _compact(name: str) -> str:
    return _WORD_SPLIT.sub("", name.lower())


def is_sensitive_name(name: str | None) -> bool:
    """Whether a field name, id, label or autocomplete token suggests a secret."""
    if not name:
        return False
    if any(word in _SENSITIVE_FIELD_WORDS for word in _words(name)):
        return True
    compact = _compact(name)
    return any(part in compact for part in _SENSITIVE_FIELD_PARTS)


def is_sensitive_field(attributes: Mapping[str, Any], label: str | None = None) -> bool:
    """Whether an input element (by its rrweb attributes and label text) holds a secret."""
    field_type = str(attributes.get("type") or "").lower()
    if field_type == "password":
        return True
    autocomplete = str(attributes.get("autocomplete") or "").lower()
    if autocomplete in _SENSITIVE_AUTOCOMPLETE or autocomplete.startswith("cc-"):
        return True
    for key in ("name", "id", "autocomplete", "aria-label", "data-testid"):
        value = attributes.get(key)
        if isinstance(value, str) and is_sensitive_name(value):
            return True
    return is_sensitive_name(label)


def is_rrweb_masked(value: str) -> bool:
    """rrweb's maskInputOptions replace every character with `*`."""
    return bool(value) and value.strip("*") == ""


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    if _PHONE_MIN_DIGITS <= digits <= _PHONE_MAX_DIGITS:
        return PHONE_MARK
    return text


def redact_text(text: str) -> str:
    """Replace emails, card-like numbers and phone-like numbers in free text."""
    if not text:
        return text
    if "@" in text:
        text = _EMAIL.sub(EMAIL_MARK, text)
    if sum(ch.isdigit() for ch in text) < _PHONE_MIN_DIGITS:
        return text
    text = _CARD.sub(CARD_MARK, text)
    return _PHONE.sub(_phone, text)


def redact_input_value(
    value: str, attributes: Mapping[str, Any] | None = None, label: str | None = None
) -> str:
    """The value an input may show in the timeline: masked for secrets, else redacted text."""
    if is_rrweb_masked(value):
        return MASK
    if attributes is not None and is_sensitive_field(attributes, label):
        return MASK
    if attributes is None and is_sensitive_name(label):
        return MASK
    return redact_text(value)


def is_sensitive_query_key(key: str) -> bool:
    if any(word in _SENSITIVE_QUERY_WORDS for word in _words(key)):
        return True
    compact = _compact(key)
    return any(part in compact for part in _SENSITIVE_QUERY_PARTS)


def _redact_query(query: str) -> str:
    parts = []
    for pair in query.split("&"):
        key, sep, value = pair.partition("=")
        if not sep:
            parts.append(redact_text(pair))
            continue
        if is_sensitive_query_key(unquote_plus(key)):
            value = MASK
        else:
            plain = unquote_plus(value)
            redacted = redact_text(plain)
            if redacted != plain:
                value = quote(redacted, safe="<>")
        parts.append(f"{key}={value}")
    return "&".join(parts)


def _redact_fragment(fragment: str) -> str:
    # SPA routes (`#/reset?token=…`) and OAuth implicit grants (`#access_token=…`) keep
    # query-like data in the fragment.
    if "?" in fragment:
        route, _, query = fragment.partition("?")
        return f"{redact_text(route)}?{_redact_query(query)}"
    if "=" in fragment:
        return _redact_query(fragment)
    return redact_text(fragment)


def redact_url(url: str) -> str:
    """Mask sensitive query values, redact the rest, drop userinfo passwords.

    The result never contains whitespace or quotes, so it can be printed unquoted.
    """
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return _URL_UNSAFE.sub(lambda m: quote(m.group(0)), redact_text(url))
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{redact_text(user)}:{MASK}@{host}" if has_password else f"{user}@{host}"
    path = parts.path
    if "%40" in path.lower():
        # An email in a path segment usually arrives percent-encoded.
        path = re.sub("%40", "@", path, flags=re.IGNORECASE)
    path = redact_text(path)
    query = _redact_query(parts.query) if parts.query else ""
    fragment = _redact_fragment(parts.fragment) if parts.fragment else ""
    rebuilt = urlunsplit((parts.scheme, netloc, path, query, fragment))
    return _URL_UNSAFE.sub(lambda m: quote(m.group(0)), rebuilt)
