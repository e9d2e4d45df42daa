"""PII redaction for everything the timeline carries: input values, page text, console text, URLs.

The timeline is sent to a model and stored, so secrets are masked by field semantics
(password in any language, card, one-time code, token, …, and any field that ever was a
password); free text loses emails, card, phone (libphonenumber, with the recording's
regions), IBAN and social security numbers, IPv4 and IPv6 addresses, one-time codes and
credentials (JWTs, bearer tokens, API keys, session ids, long random strings); URLs lose
credentials in their user part, sensitive query and path parameter values and token-like
path segments, and long query strings are shortened.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from typing import Any, Final
from urllib.parse import quote, unquote, unquote_plus, urlsplit, urlunsplit

from recap.timeline.cards import CARD_MIN_DIGITS, redact_cards
from recap.timeline.fields import compact as _compact
from recap.timeline.fields import (
    is_phone_field,
    is_rrweb_masked,
    is_sensitive_field,
    is_sensitive_name,
)
from recap.timeline.fields import words as _words
from recap.timeline.locale import FALLBACK_REGIONS
from recap.timeline.phones import MIN_DIGITS as PHONE_MIN_DIGITS
from recap.timeline.phones import redact_phones

MASK: Final = "***"
EMAIL_MARK: Final = "<email>"
PHONE_MARK: Final = "<phone>"
TOKEN_MARK: Final = "<token>"
IBAN_MARK: Final = "<iban>"
SSN_MARK: Final = "<ssn>"
IP_MARK: Final = "<ip>"
ELLIPSIS: Final = "…"

# URL shortening: the model needs the route and what a parameter is about, not the data.
QUERY_MAX_PARAMS: Final = 3
QUERY_VALUE_MAX_CHARS: Final = 32
# A whole path segment or query value this long that looks random is a credential
# (reset links, magic links, OAuth state); inside prose only longer runs are.
URL_TOKEN_MIN_CHARS: Final = 20
TEXT_TOKEN_MIN_CHARS: Final = 32
# Left unescaped in rewritten query values: markers, and the delimiters a nested redirect
# URL keeps readable (`&`, `#` and `+` would change how the outer query parses).
_QUERY_SAFE: Final = "<>*/:@?="

_EMAIL = re.compile(r"[\w.!#$%&'*+=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_WITHOUT_DIGITS: Final = str.maketrans("", "", "0123456789")
_IBAN_MIN_DIGITS: Final = 9
_SSN = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
# Two to eight colon-separated hex groups (one `::` run allowed, maybe an IPv4 tail and a
# zone); `ipaddress` decides, and at least three groups keep `a::b` and `::1` readable.
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?"
    r"(?:%[\w.]+)?(?![\w:])"
)
_IPV6_MIN_GROUPS: Final = 3
# One-time codes said in prose: `Your code is 482913`, `verification code: 123 456`,
# `OTP 4821`. A bare `code:`, `error code 404` or `your zip code is 94107` is not one.
_ONE_TIME_CODE = re.compile(
    r"(?i)\b((?:(?:your|the|a)\s+"
    r"(?:(?!(?:zip|postal|post|area|country|promo|discount|coupon|voucher|gift|error|status"
    r"|source|product|dial|tracking)\b)[\w-]+\s+)?code(?:\s+is)?"
    r"|(?:verification|security|login|log-in|sign-in|signin|confirmation|one-time|access|auth"
    r"|authentication|2fa|mfa|sms|otp)\s+code(?:\s+is)?"
    r"|pin(?:\s+code)?(?:\s+is)?|passcode(?:\s+is)?|otp(?:\s+is)?|one-time\s+password(?:\s+is)?)"
    r"\s*[:=#-]?\s*)(\d{3,4}[ -]\d{3,4}|\d{4,8}|(?-i:(?=[A-Z]*\d)[A-Z0-9]{6,8}))\b"
)
# Country code, check digits, then 11-30 letters or digits, optionally in groups of four;
# the mod-97 check below tells IBANs from other codes.
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_IBAN_MIN_CHARS: Final = 15
_IBAN_MAX_CHARS: Final = 34

_TOKEN_CHARS: Final = r"A-Za-z0-9_\-"
# Header, payload and (possibly empty) signature, each base64url; `eyJ` is `{"`.
_JWT = re.compile(
    rf"(?<![{_TOKEN_CHARS}])eyJ[{_TOKEN_CHARS}]{{5,}}\.[{_TOKEN_CHARS}]{{5,}}\.[{_TOKEN_CHARS}]*"
)
# Credentials whose prefix says what they are: OpenAI/Anthropic, Stripe, PostHog, GitHub,
# Slack, AWS access key ids, Google API keys, GitLab, webhook signing secrets.
_PREFIXED_KEY = re.compile(
    rf"(?<![{_TOKEN_CHARS}])(?:"
    r"sk-[A-Za-z0-9_-]{16,}"
    r"|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"
    r"|ph[xc]_[A-Za-z0-9]{16,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r"|glpat-[A-Za-z0-9_-]{20,}"
    r"|whsec_[A-Za-z0-9+/=]{16,}"
    rf")(?![{_TOKEN_CHARS}])"
)
# `Authorization` header values as they appear in logged requests.
_AUTH_SCHEME = re.compile(
    r"(?<![\w-])(Bearer|BEARER|bearer|Basic|BASIC|basic)([ \t]+)([A-Za-z0-9._~+/-]{3,}=*)"
)
# A run of base64url characters (standard base64 `+` and padding included) long enough to
# be a generated secret; `_looks_random` decides.
_LONG_RUN = re.compile(
    rf"(?<![{_TOKEN_CHARS}+])[{_TOKEN_CHARS}+]{{{TEXT_TOKEN_MIN_CHARS},}}={{0,2}}(?![{_TOKEN_CHARS}+=])"
)
_WHOLE_TOKEN = re.compile(rf"[{_TOKEN_CHARS}+]+={{0,2}}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Content hashes in bundle file names (`main.3f2a…9c.js`) identify a build, not a person.
_ASSET_SUFFIX = re.compile(
    r"(?:\.[A-Za-z0-9_-]{1,16})*\.(?:m?js|cjs|jsx|tsx?|css|map|html?|json|wasm|png|jpe?g|gif|svg"
    r"|webp|avif|ico|woff2?|ttf|otf|eot|mp4|webm|mp3|pdf)\b"
)
# Pieces a name is made of: words (`Submit`, `order`, `HTTP`) and numbers.
_PIECE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_VOWELS: Final = frozenset("aeiouAEIOU")
_CONSONANTS = re.compile(r"[bcdfghjklmnpqrstvwxz]{5,}")
_HEX = re.compile(r"[0-9a-f]+|[0-9A-F]+")
# `name: value` / `"name": "value"` / `name=value` in logged objects, headers and forms.
_KEY_VALUE = re.compile(
    r"(?<![\w.-])([A-Za-z][\w.-]*)([\"']?[ \t]*[:=][ \t]*[\"']?)"
    r"((?:(?:Bearer|Basic|Token)[ \t]+)?[^\s\"',;&<>()\[\]{}]+)"
)
# URLs inside free text (console messages, stack frames, page text) get URL redaction.
_URL_IN_TEXT = re.compile(r"\b(?:https?|wss?)://[^\s\"'`<>()\[\]{}]+", re.IGNORECASE)
_URL_TRAILING_PUNCTUATION: Final = ".,;:!?"

_PHONE_VALUE = re.compile(r"[+(]?[\d \t\u00a0().\-/]+")

_SENSITIVE_QUERY_WORDS: Final = frozenset(
    {
        "password", "pass", "passwd", "pwd", "pw", "token", "key", "secret", "auth", "code",
        "email", "card", "creditcard", "cc", "ssn", "session", "sid", "otp", "totp", "pin",
        "passcode", "signature", "sig", "apikey", "jwt", "phone", "tel", "mobile", "msisdn",
    }
)  # fmt: skip
_SENSITIVE_QUERY_PARTS: Final = (
    "password", "passwd", "passcode", "token", "secret", "session", "sessid", "creditcard",
    "apikey", "auth", "email",
)  # fmt: skip
# Passwords that say a URL's user part is the credential (GitHub's
# `https://<token>:x-oauth-basic@github.com/…`).
_OAUTH_URL_PASSWORDS: Final = frozenset({"x-oauth-basic", "x-oauth-token"})
# Left unescaped when a path segment is rewritten.
_SEGMENT_SAFE: Final = "<>*@:!$&'()+,=~"

# Keys in free text (`password: …`, `"api_key": "…"`, `Authorization: …`). Narrower than
# query keys: `key: Enter`, `code: 404` and `session: started` are ordinary log output.
_SENSITIVE_TEXT_WORDS: Final = frozenset(
    {
        "password", "passwd", "pwd", "pw", "passcode", "passphrase", "secret", "token", "jwt",
        "otp", "totp", "pin", "pincode", "cvv", "cvc", "ssn", "authorization", "cookie",
        "apikey", "credentials",
    }
)  # fmt: skip
# `session: started` is log output, `session=3f9a8b7c6d5e4f3a` a credential: these keys
# mask values that look like ids.
_SESSION_TEXT_WORDS: Final = frozenset(
    {"session", "sessionid", "sid", "sess", "sessid", "jsessionid", "phpsessid", "aspsessionid"}
)
_SESSION_ID = re.compile(r"(?=[^\d]*\d)[A-Za-z0-9_.%-]{8,}")
_SENSITIVE_TEXT_ENDINGS: Final = ("password", "passwd", "token", "secret", "apikey", "cookie")
_SENSITIVE_TEXT_PAIRS: Final = frozenset(
    {("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key")}
)

# Characters that would let a URL break the one-line render format.
_URL_UNSAFE = re.compile(r'[\s"`\x00-\x1f\x7f]')


def _is_sensitive_text_key(key: str) -> bool:
    words = _words(key)
    if any(word in _SENSITIVE_TEXT_WORDS for word in words):
        return True
    if any(pair in _SENSITIVE_TEXT_PAIRS for pair in pairwise(words)):
        return True
    return _compact(key).endswith(_SENSITIVE_TEXT_ENDINGS)


def _looks_random(run: str) -> bool:
    """Whether a run of letters and digits is mixed the way generated secrets are.

    Names and slugs are made of words (`handleSubmitV2`, `summer-sale-2025`): long pieces
    with vowels. Hex, base32/36/62/64 strings break into short pieces with few vowels and
    unpronounceable consonant clusters. A heuristic: about 1 in 300 random base64url
    strings of 32 characters reads like words, and 3 in 100 lowercase base36 ones.
    """
    letters = [ch for ch in run if ch.isalpha()]
    if not letters:
        return False
    pieces = _PIECE.findall(run)
    mean_piece = sum(map(len, pieces)) / len(pieces)
    vowels = sum(ch in _VOWELS for ch in letters) / len(letters)
    if not any(ch.isdigit() for ch in run):
        # Only case changes mark letters-only secrets; camelCase words are longer.
        return mean_piece < 2.5 and vowels < 0.25
    if _HEX.fullmatch(run.replace("-", "").replace("_", "")):
        return True
    if mean_piece < 3.0 or vowels < 0.2 or (mean_piece < 3.5 and vowels < 0.25):
        return True
    clusters = [len(c) for piece in pieces for c in _CONSONANTS.findall(piece.lower())]
    return len(clusters) >= 2 or any(length >= 6 for length in clusters)


def _is_random_run(run: str) -> bool:
    """A run of token characters that is a secret, ignoring any uuids it contains."""
    if _UUID.search(run) is None:
        return _looks_random(run)
    return any(
        len(piece) >= TEXT_TOKEN_MIN_CHARS and _looks_random(piece) for piece in _UUID.split(run)
    )


def is_token_like(value: str, min_chars: int = URL_TOKEN_MIN_CHARS) -> bool:
    """Whether the whole of `value` is a credential: a JWT, a known API key or a random string.

    UUIDs are identifiers, not secrets, and stay readable.
    """
    if _JWT.fullmatch(value) or _PREFIXED_KEY.fullmatch(value):
        return True
    if len(value) < min_chars or _UUID.fullmatch(value) or not _WHOLE_TOKEN.fullmatch(value):
        return False
    return _is_random_run(value)


def _long_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if _ASSET_SUFFIX.match(match.string, match.end()) or not _is_random_run(run):
        return run
    return TOKEN_MARK


def _auth_scheme(match: re.Match[str]) -> str:
    scheme, space, credential = match.groups()
    if scheme == "Bearer" or scheme == "BEARER":
        return f"{scheme}{space}{TOKEN_MARK}"
    # `basic plan`, `bearer of bad news`: only credential-looking words are secrets.
    if len(credential) >= 8 and any(ch.isdigit() or ch in "._~+/=-" for ch in credential):
        return f"{scheme}{space}{TOKEN_MARK}"
    return match.group(0)


def _key_value(match: re.Match[str]) -> str:
    key, separator, value = match.groups()
    if value in (MASK, TOKEN_MARK):
        return match.group(0)
    if _is_sensitive_text_key(key):
        return f"{key}{separator}{MASK}"
    if _SESSION_ID.fullmatch(value) and any(w in _SESSION_TEXT_WORDS for w in _words(key)):
        return f"{key}{separator}{MASK}"
    return match.group(0)


def _one_time_code(match: re.Match[str]) -> str:
    return f"{match.group(1)}{MASK}"


def _ipv6(match: re.Match[str]) -> str:
    text = match.group(0)
    address = text.partition("%")[0]
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return text
    groups = sum(2 if "." in group else 1 for group in address.split(":") if group)
    return IP_MARK if groups >= _IPV6_MIN_GROUPS else text


def _iban(match: re.Match[str]) -> str:
    text = match.group(0)
    compact = text.replace(" ", "").upper()
    if not _IBAN_MIN_CHARS <= len(compact) <= _IBAN_MAX_CHARS:
        return text
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return IBAN_MARK if int(number) % 97 == 1 else text


def _ipv4(match: re.Match[str]) -> str:
    text = match.group(0)
    return IP_MARK if all(int(part) <= 255 for part in text.split(".")) else text


def _count_digits(text: str) -> int:
    if text.isascii():
        return len(text) - len(text.translate(_WITHOUT_DIGITS))
    return sum(ch.isdigit() for ch in text)


def _redact_plain(
    text: str,
    *,
    any_card: bool = False,
    regions: Sequence[str] = FALLBACK_REGIONS,
    phone_field: bool = False,
    in_url: bool = False,
) -> str:
    """Free-text redaction without URL handling; the order matters (most specific first).

    `regions` are where national phone numbers are read from (the first is the primary);
    inside URLs a bare run of digits is an id, never a phone.
    """
    if "eyJ" in text:
        text = _JWT.sub(TOKEN_MARK, text)
    if ":" in text or "=" in text:
        text = _KEY_VALUE.sub(_key_value, text)
    text = _AUTH_SCHEME.sub(_auth_scheme, text)
    text = _PREFIXED_KEY.sub(TOKEN_MARK, text)
    if "@" in text:
        text = _EMAIL.sub(EMAIL_MARK, text)
    if len(text) >= TEXT_TOKEN_MIN_CHARS:
        text = _LONG_RUN.sub(_long_run, text)
    if text.count(":") >= 2:
        text = _IPV6.sub(_ipv6, text)
    digits = _count_digits(text)
    if not digits:
        return text
    text = _ONE_TIME_CODE.sub(_one_time_code, text)
    if digits < 4:
        return text
    if "." in text:
        text = _IPV4.sub(_ipv4, text)
    if digits < PHONE_MIN_DIGITS:
        return text
    if digits >= _IBAN_MIN_DIGITS:
        text = _IBAN.sub(_iban, text)
        text = _SSN.sub(SSN_MARK, text)
    if digits >= CARD_MIN_DIGITS:
        text = redact_cards(text, any_card=any_card)
    return redact_phones(
        text, PHONE_MARK, regions, in_phone_field=phone_field, bare_numbers=not in_url
    )


def _redact_with_urls(text: str, redact: Callable[[str], str]) -> str:
    if "://" not in text:
        return redact(text)
    out: list[str] = []
    position = 0
    for match in _URL_IN_TEXT.finditer(text):
        url = match.group(0).rstrip(_URL_TRAILING_PUNCTUATION)
        out.append(redact(text[position : match.start()]))
        out.append(redact_url(url))
        position = match.start() + len(url)
    out.append(redact(text[position:]))
    return "".join(out)


def redact_text(text: str, regions: Sequence[str] = FALLBACK_REGIONS) -> str:
    """Replace PII and credentials in free text: page text, labels, console messages.

    Emails, card numbers (Luhn-checked), phone numbers (libphonenumber, national forms read
    in `regions`, see `recap.timeline.locale.phone_regions`), IBANs (checksum-checked), US
    social security numbers, IPv4 and IPv6 addresses, one-time codes (`Your code is 482913`),
    JWTs, `Bearer`/`Basic` credentials, values of `password:`/`token=`/`Authorization:`-like
    keys and id-like `session=` values, API keys with known prefixes and long random strings
    become markers. UUIDs, words, file paths, prices, dates, versions and stack frames stay
    readable; URLs inside the text get `redact_url`.
    """
    if not text:
        return text
    if regions is FALLBACK_REGIONS:
        return _redact_with_urls(text, _redact_plain)
    return _redact_with_urls(text, lambda part: _redact_plain(part, regions=regions))


def redact_console(text: str, regions: Sequence[str] = FALLBACK_REGIONS) -> str:
    """Console messages and stack traces: the rules of `redact_text`, frames kept readable."""
    return redact_text(text, regions)


def redact_input_value(
    value: str,
    attributes: Mapping[str, Any] | None = None,
    label: str | None = None,
    regions: Sequence[str] = FALLBACK_REGIONS,
) -> str:
    """The value an input may show in the timeline: masked for secrets, else redacted text.

    In a phone field (`type=tel`, `name="mobile"`, …) a value made of phone digits is a
    phone number however it is written.
    """
    if is_rrweb_masked(value):
        return MASK
    if attributes is not None and is_sensitive_field(attributes, label):
        return MASK
    if attributes is None and is_sensitive_name(label):
        return MASK
    if is_token_like(value.strip()):
        return TOKEN_MARK
    phone_field = is_phone_field(attributes, label)
    redacted = _redact_with_urls(
        value,
        lambda text: _redact_plain(text, any_card=True, regions=regions, phone_field=phone_field),
    )
    stripped = redacted.strip()
    if (
        phone_field
        and _PHONE_VALUE.fullmatch(stripped)
        and _count_digits(stripped) >= PHONE_MIN_DIGITS
    ):
        return PHONE_MARK
    return redacted


def is_sensitive_query_key(key: str) -> bool:
    if any(word in _SENSITIVE_QUERY_WORDS for word in _words(key)):
        return True
    compact = _compact(key)
    return any(part in compact for part in _SENSITIVE_QUERY_PARTS)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _redact_query_value(raw: str, depth: int) -> str:
    plain = unquote_plus(raw)
    if is_token_like(plain):
        return TOKEN_MARK
    if depth < 2 and re.match(r"(?i)https?://", plain):
        # A redirect target is a URL of its own, with its own secrets.
        redacted = _redact_url(plain, depth + 1)
    else:
        redacted = _redact_plain(plain, in_url=True)
    if redacted == plain and len(plain) <= QUERY_VALUE_MAX_CHARS:
        return raw
    clipped = _clip(redacted, QUERY_VALUE_MAX_CHARS)
    if clipped.endswith(ELLIPSIS):
        return quote(clipped[:-1], safe=_QUERY_SAFE) + ELLIPSIS
    return quote(clipped, safe=_QUERY_SAFE)


def _redact_query(query: str, depth: int = 0) -> str:
    pairs = [pair for pair in query.split("&") if pair]
    parts = []
    for pair in pairs[:QUERY_MAX_PARAMS]:
        key, sep, value = pair.partition("=")
        if not sep:
            parts.append(_redact_query_value(pair, depth))
        elif is_sensitive_query_key(unquote_plus(key)):
            parts.append(f"{_clip(key, QUERY_VALUE_MAX_CHARS)}={MASK}")
        else:
            parts.append(f"{_clip(key, QUERY_VALUE_MAX_CHARS)}={_redact_query_value(value, depth)}")
    if len(pairs) > QUERY_MAX_PARAMS:
        parts.append(ELLIPSIS)
    return "&".join(parts)


def _redact_fragment(fragment: str, depth: int) -> str:
    # SPA routes (`#/reset?token=…`) and OAuth implicit grants (`#access_token=…`) keep
    # query-like data in the fragment.
    if "?" in fragment:
        route, _, query = fragment.partition("?")
        return f"{_redact_path(route)}?{_redact_query(query, depth)}"
    if "=" in fragment:
        return _redact_query(fragment, depth)
    return _redact_path(fragment)


def _redact_segment(segment: str) -> str:
    if not segment:
        return segment
    # Path parameters (`/cart;jsessionid=…`) are keyed like a query.
    head, semicolon, parameters = segment.partition(";")
    if not semicolon:
        return _redact_segment_text(segment)
    return ";".join(
        [_redact_segment_text(head), *map(_redact_path_parameter, parameters.split(";"))]
    )


def _redact_path_parameter(parameter: str) -> str:
    key, equals, value = parameter.partition("=")
    if not equals:
        return _redact_segment_text(parameter)
    if is_sensitive_query_key(unquote(key)):
        return f"{key}={MASK}"
    return f"{key}={_redact_segment_text(value)}"


def _redact_segment_text(segment: str) -> str:
    if not segment:
        return segment
    # An email in a path segment usually arrives percent-encoded; so do spaced numbers.
    segment = re.sub("%40", "@", segment, flags=re.IGNORECASE)
    plain = unquote(segment)
    if is_token_like(plain):
        return TOKEN_MARK
    redacted = _redact_plain(plain, in_url=True)
    if redacted == plain:
        return segment
    return quote(redacted, safe=_SEGMENT_SAFE)


def _redact_userinfo(userinfo: str) -> str:
    """`user:password@` of a URL: the password masked, a user part that is a token too."""
    user, has_password, password = userinfo.partition(":")
    plain = unquote(user)
    if (
        password.lower() in _OAUTH_URL_PASSWORDS
        or is_token_like(plain, min_chars=12)
        or _PREFIXED_KEY.fullmatch(plain)
    ):
        user = TOKEN_MARK
    else:
        redacted = _redact_plain(plain, in_url=True)
        user = user if redacted == plain else quote(redacted, safe=_SEGMENT_SAFE)
    return f"{user}:{MASK}" if has_password else user


def _redact_path(path: str) -> str:
    return "/".join(_redact_segment(segment) for segment in path.split("/"))


def _redact_url(url: str, depth: int) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return _URL_UNSAFE.sub(lambda m: quote(m.group(0)), _redact_plain(url, in_url=True))
    if parts.scheme.lower() == "data":
        # Inline content (images, documents) says nothing about the session.
        media_type = parts.path.partition(",")[0].partition(";")[0]
        return f"data:{_clip(media_type, QUERY_VALUE_MAX_CHARS)},{ELLIPSIS}"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{_redact_userinfo(userinfo)}@{host}"
    path = _redact_path(parts.path)
    query = _redact_query(parts.query, depth) if parts.query else ""
    fragment = _redact_fragment(parts.fragment, depth) if parts.fragment else ""
    rebuilt = urlunsplit((parts.scheme, netloc, path, query, fragment))
    return _URL_UNSAFE.sub(lambda m: quote(m.group(0)), rebuilt)


def redact_url(url: str) -> str:
    """Mask sensitive query values, redact the rest, drop userinfo passwords, shorten.

    Token-like path segments and query values (even under innocent keys) become `<token>`;
    at most `QUERY_MAX_PARAMS` parameters are kept (then `&…`), each value clipped to
    `QUERY_VALUE_MAX_CHARS`. The result never contains whitespace or quotes, so it can be
    printed unquoted.
    """
    if not url:
        return url
    return _redact_url(url, 0)
