"""Redaction: secrets by field semantics, PII and credentials in free text, URLs, labels."""

from __future__ import annotations

import base64
import json
import random
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recap.timeline.mirror import DomMirror
from recap.timeline.redact import (
    MASK,
    QUERY_MAX_PARAMS,
    QUERY_VALUE_MAX_CHARS,
    is_sensitive_field,
    is_sensitive_query_key,
    is_token_like,
    redact_console,
    redact_input_value,
    redact_text,
    redact_url,
)

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
HEX_SECRET = "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a"
UUID = "0188f3e2-9c1a-7b3d-8e4f-123456789abc"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe+promo@example.co.uk today", "write to <email> today"),
        ("card 4111 1111 1111 1111 declined", "card <card> declined"),
        ("card 4111-1111-1111-1111", "card <card>"),
        ("pan 4111111111111111", "pan <card>"),
        ("call +1 (415) 555-2671 now", "call <phone> now"),
        ("call 555-123-4567", "call <phone>"),
        ("intl +447911123456", "intl <phone>"),
        ("order 12345 of 2025-05-02 at 12:30", "order 12345 of 2025-05-02 at 12:30"),
        ("version 1.2.3, 42 items", "version 1.2.3, 42 items"),
        ("", ""),
    ],
)
def test_redact_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "attributes",
    [
        {"type": "password", "name": "x"},
        {"type": "text", "name": "creditcard"},
        {"type": "text", "name": "cc-number"},
        {"type": "text", "autocomplete": "cc-number"},
        {"type": "text", "autocomplete": "one-time-code"},
        {"type": "text", "id": "userPassword"},
        {"type": "text", "name": "api_token"},
        {"type": "text", "name": "otp"},
        {"type": "tel", "name": "card_cvc"},
        {"type": "text", "name": "ssn"},
        {"type": "text", "name": "iban"},
        {"type": "text", "name": "client_secret"},
        {"type": "text", "name": "pwd"},
    ],
)
def test_sensitive_fields(attributes: dict[str, Any]) -> None:
    assert is_sensitive_field(attributes)


@pytest.mark.parametrize(
    ("attributes", "label"),
    [
        ({"type": "text", "name": "username"}, "Username"),
        ({"type": "text", "name": "account"}, "Account name"),
        ({"type": "text", "name": "description"}, "Describe your accident"),
        ({"type": "email", "name": "email"}, "Email"),
        ({"type": "search", "name": "q"}, None),
    ],
)
def test_ordinary_fields(attributes: dict[str, Any], label: str | None) -> None:
    assert not is_sensitive_field(attributes, label)


def test_labels_make_fields_sensitive() -> None:
    assert is_sensitive_field({"type": "text", "name": "f3"}, "Credit card number")
    assert is_sensitive_field({"type": "text"}, "One-time password")
    assert is_sensitive_field({"type": "text"}, "CVV")


def test_redact_input_value() -> None:
    assert redact_input_value("hunter2", {"type": "password"}) == MASK
    assert redact_input_value("12314", {"type": "text", "name": "creditcard"}) == MASK
    assert redact_input_value("********", {"type": "text"}) == MASK  # rrweb-masked stays masked
    assert redact_input_value("*", None) == MASK
    assert redact_input_value("helloworld", {"type": "text", "name": "username"}) == "helloworld"
    assert redact_input_value("me@corp.io", {"type": "email"}) == "<email>"
    assert redact_input_value("x", None, "Password") == MASK
    assert redact_input_value("", {"type": "text"}) == ""


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "http://localhost:8000/demo/2?username=helloworld&password=mynameis",
            "http://localhost:8000/demo/2?username=helloworld&password=***",
        ),
        (
            "http://localhost:8000/demo/3?creditcard=12314143",
            "http://localhost:8000/demo/3?creditcard=***",
        ),
        ("https://a.io/cb?code=abc&state=xyz", "https://a.io/cb?code=***&state=xyz"),
        ("https://a.io/?access_token=t0k&x=1", "https://a.io/?access_token=***&x=1"),
        ("https://a.io/?sessionId=s1&apiKey=k", "https://a.io/?sessionId=***&apiKey=***"),
        ("https://a.io/?cc=4111&email=a%40b.co", "https://a.io/?cc=***&email=***"),
        ("https://a.io/?ref=a%40b.co", "https://a.io/?ref=<email>"),
        ("https://a.io/#/reset?token=abc", "https://a.io/#/reset?token=***"),
        (
            "https://a.io/#access_token=abc&type=bearer",
            "https://a.io/#access_token=***&type=bearer",
        ),
        ("https://bob:pw@a.io/x", "https://bob:***@a.io/x"),
        ("https://a.io/users/jane%40x.com/edit", "https://a.io/users/<email>/edit"),
        ("https://a.io/?q=hi there", "https://a.io/?q=hi%20there"),
        ("https://a.io/?flag", "https://a.io/?flag"),
        ("www.google.com", "www.google.com"),
        ("about:blank", "about:blank"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_query_keys() -> None:
    for key in ("password", "pass", "pwd", "token", "key", "secret", "auth", "code", "email"):
        assert is_sensitive_query_key(key), key
    for key in ("card", "creditcard", "cc", "ssn", "session", "auth_token", "X-Api-Key"):
        assert is_sensitive_query_key(key), key
    for key in ("page", "q", "ref", "utm_source", "username", "monkey", "sort"):
        assert not is_sensitive_query_key(key), key


def _page(*body: dict[str, Any]) -> dict[str, Any]:
    return {
        "node": {
            "type": 0,
            "id": 1,
            "childNodes": [
                {
                    "type": 2,
                    "id": 2,
                    "tagName": "html",
                    "attributes": {},
                    "childNodes": [
                        {
                            "type": 2,
                            "id": 3,
                            "tagName": "body",
                            "attributes": {},
                            "childNodes": list(body),
                        }
                    ],
                }
            ],
        }
    }


def test_labels_do_not_leak_emails_or_card_numbers() -> None:
    mirror = DomMirror()
    mirror.load_snapshot(
        _page(
            {
                "type": 2,
                "id": 10,
                "tagName": "button",
                "attributes": {},
                "childNodes": [{"type": 3, "id": 11, "textContent": "Email jane@corp.io"}],
            },
            {
                "type": 2,
                "id": 12,
                "tagName": "a",
                "attributes": {"aria-label": "Card 4000 0000 0000 0002"},
                "childNodes": [],
            },
        )
    )
    assert mirror.label(11) == 'button "Email <email>"'
    assert mirror.label(12) == 'link "Card <card>"'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"token {JWT} expired", "token <token> expired"),
        (f"jwt={JWT}", "jwt=<token>"),
        ("Authorization: Bearer abc.def-123", "Authorization: ***"),
        ('{"headers": {"Authorization": "Bearer abc"}}', '{"headers": {"Authorization": "***"}}'),
        ("sent Bearer xyz upstream", "sent Bearer <token> upstream"),
        ("Basic dXNlcjpwYXNzd29yZA==", "Basic <token>"),
        ("key sk-proj-abcdefghijklmnopqrstuvwxyz123456 leaked", "key <token> leaked"),
        (
            "sk-abcdefghijklmnop1234 sk_live_51HxYzAbCdEfGh pk_test_abcdefghij12",
            "<token> <token> <token>",
        ),
        ("posthog phc_abcdefghijklmnop1234 phx_ABCDEFGHIJKLMNOPqrst", "posthog <token> <token>"),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "<token>"),
        ("slack xoxb-1234567890-abcdefghij, xoxp-1234-5678-abcdefghijk", "slack <token>, <token>"),
        ("aws AKIAIOSFODNN7EXAMPLE", "aws <token>"),
        ("google AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "google <token>"),
        (f"hash {HEX_SECRET} end", "hash <token> end"),
        ("k=Gjs7dK2mPq9xLzR4tVb8NcW1yHf3AeU6Jo5 x", "k=<token> x"),
        ("IBAN DE89 3704 0044 0532 0130 00 ok", "IBAN <iban> ok"),
        ("to GB82WEST12345698765432.", "to <iban>."),
        ("ssn 123-45-6789", "ssn <ssn>"),
        ("from 192.168.100.200 via 10.0.0.1", "from <ip> via <ip>"),
        ('{"password": "hunter2", "user": "bob"}', '{"password": "***", "user": "bob"}'),
        ("login password=hunter2&remember=1", "login password=***&remember=1"),
        ("csrfToken: a1b2c3 api_key='k'", "csrfToken: *** api_key='***'"),
        ("Cookie: sid=abc; theme=dark", "Cookie: ***; theme=dark"),
        ("client_secret=abc123", "client_secret=***"),
    ],
)
def test_credentials_and_identifiers_in_text(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The bearer of bad news",  # lowercase bearer with an ordinary word
        "Basic plan, billed monthly",
        "sk-learn and sk-SK locale",  # prefixes without a credential behind them
        f"session {UUID} started",  # uuids are ids, not secrets
        "at foo (https://app.example.com/static/js/main.3f2a1b.js:1:2345)",
        "at handleSubmit (https://cdn.example.com/js/main.3f2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c.chunk.js:12:345)",
        "TypeError: Cannot read properties of undefined (reading 'map')\n"
        "    at ProductList (webpack-internal:///./src/components/ProductList.tsx:42:17)\n"
        "    at renderWithHooks (https://cdn.example.com/react-dom.development.js:14985:18)",
        "handleSubmitCheckoutFormV2WithRetry failed",
        "utm_campaign_black_friday_2024_email_v2 and create_session_summaries_individually",
        "how-to-bake-bread-in-2024-for-beginners",
        "MuiButtonBase-root-MuiIconButton-root2 clicked",
        "/home/jane/projects/recap/src/timeline/compile_timeline_v2.py",
        "Chrome 120.0.6099.109 on macOS 14.5",
        "version 1.2.3.4.5",
        "order DE12 3456 7890 1234 5678 90",  # IBAN shape, wrong checksum
        "ts=1763800000000 took 1763800000123",  # millisecond timestamps fail the Luhn check
        '{"max_tokens": 500, "key": "Enter", "code": 404, "tokens": 12}',
        "Token expired, please sign in again",
        "*****",  # text rrweb masked stays masked
        "Total: $1,234.56 (3 items)",
        "Step 2 of 3: shipping address",
    ],
)
def test_ordinary_text_stays_readable(text: str) -> None:
    assert redact_text(text) == text


def test_console_text_keeps_frames_and_redacts_secrets() -> None:
    message = (
        "Error: 401 for https://api.example.com/v1/me?access_token=abc&page=2\n"
        f"    at fetchUser (https://app.example.com/static/js/main.3f2a1b.js:1:2345) {JWT}"
    )
    assert redact_console(message) == (
        "Error: 401 for https://api.example.com/v1/me?access_token=***&page=2\n"
        "    at fetchUser (https://app.example.com/static/js/main.3f2a1b.js:1:2345) <token>"
    )


def test_urls_inside_text_get_url_redaction() -> None:
    text = (
        "GET https://a.io/u?email=a%40b.co&a=1&b=2&c=3 failed, see https://a.io/reset/"
        + HEX_SECRET
        + "."
    )
    assert redact_text(text) == (
        "GET https://a.io/u?email=***&a=1&b=2&… failed, see https://a.io/reset/<token>."
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"https://a.io/cb?state={JWT}&x=1", "https://a.io/cb?state=<token>&x=1"),
        (f"https://a.io/reset/{HEX_SECRET}", "https://a.io/reset/<token>"),
        ("https://a.io/reset/3f9a8b7c6d5e4f3a2b1c/confirm", "https://a.io/reset/<token>/confirm"),
        (f"https://a.io/users/{UUID}/edit", f"https://a.io/users/{UUID}/edit"),
        ("https://a.io/u/jane@x.com/", "https://a.io/u/<email>/"),
        ("https://a.io/p?a=1&b=2&c=3&d=4&e=5", "https://a.io/p?a=1&b=2&c=3&…"),
        ("https://a.io/p?a=1&b=2&c=3", "https://a.io/p?a=1&b=2&c=3"),
        ("https://a.io/p?q=" + "x" * 50, "https://a.io/p?q=" + "x" * 31 + "…"),
        (
            "https://a.io/?gclid=Cj0KCQiA4L67BhDUARIsADWrl7Ff2f-Xv9nV6p",
            "https://a.io/?gclid=<token>",
        ),
        (
            "https://a.io/login?next=https%3A%2F%2Fb.io%2Fcb%3Ftoken%3Dabc",
            "https://a.io/login?next=https://b.io/cb?token=***",
        ),
        ("https://a.io/#/magic/" + HEX_SECRET, "https://a.io/#/magic/<token>"),
        (
            "https://a.io/#id_token=abc&state=xyz&a=1&b=2",
            "https://a.io/#id_token=***&state=xyz&a=1&…",
        ),
        ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAFoAAABaCAYAAAA4q", "data:image/png,…"),
        ("https://a.io/blog/how-to-bake-bread-in-2024-for-beginners", None),
        ("https://a.io/static/js/main.3f2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c.js", None),
        ("https://a.io/orders/1763800000000?page=2", None),
        ("https://a.io/magic?t=abcdef&sort=price-asc", None),
        ("https://a.io/products/sku-12345-blue?utm_source=newsletter", None),
    ],
)
def test_redact_url_tokens_and_shortening(url: str, expected: str | None) -> None:
    assert redact_url(url) == (url if expected is None else expected)


def test_redact_input_value_catches_tokens_and_any_card_shape() -> None:
    attributes = {"type": "text", "name": "note"}
    assert redact_input_value(JWT, attributes) == "<token>"
    assert redact_input_value("sk-proj-abcdefghijklmnopqrstuvwxyz123456", attributes) == "<token>"
    # A typed card number is masked even when mistyped (Luhn fails) or half typed.
    assert redact_input_value("4111 1111 1111 1112", attributes) == "<card>"
    assert redact_input_value("4111 1111 1111 1", attributes) == "<card>"
    assert redact_input_value("DE89 3704 0044 0532 0130 00", attributes) == "<iban>"
    assert redact_input_value("123-45-6789", attributes) == "<ssn>"
    assert redact_input_value("**********", attributes) == MASK
    assert redact_input_value(UUID, attributes) == UUID
    assert redact_input_value("new shoes size 42", attributes) == "new shoes size 42"


@pytest.mark.parametrize(
    "secret",
    [
        JWT,
        HEX_SECRET,
        "sk_live_51HxYzAbCdEfGhIjKl",
        "AKIAIOSFODNN7EXAMPLE",
        "phc_abcdefghijklmnop1234",
    ],
)
def test_is_token_like(secret: str) -> None:
    assert is_token_like(secret)


@pytest.mark.parametrize(
    "value",
    [UUID, "how-to-bake-bread-in-2024", "checkout", "1763800000000", "summer_sale_2024_email_v2"],
)
def test_is_not_token_like(value: str) -> None:
    assert not is_token_like(value)


# Properties over generated input: secrets never survive, output stays one line, and
# redacting twice changes nothing.

_WORDS = st.sampled_from(
    ["the", "Checkout", "failed", "at", "step", "2", "of", "3", "order", "#42", "—", "ok,",
     "(see", "docs)", "price:", "$19.99", "handleSubmit", "main.js:1:2345", "user", "clicked"]
)  # fmt: skip


def _secret(kind: str, seed: int) -> str:
    raw = random.Random(seed).randbytes(32)
    if kind == "jwt":
        header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256"}).encode()).rstrip(b"=")
        body = base64.urlsafe_b64encode(json.dumps({"sub": seed}).encode()).rstrip(b"=")
        signature = base64.urlsafe_b64encode(raw).rstrip(b"=")
        return b".".join((header, body, signature)).decode()
    if kind == "hex":
        return raw.hex()
    if kind == "stripe":
        return "sk_live_" + base64.b32encode(raw).decode().rstrip("=")[:24]
    if kind == "posthog":
        return "phx_" + raw.hex()[:40]
    if kind == "email":
        return f"user{seed}@example{seed % 7}.com"
    return "AKIA" + base64.b32encode(raw).decode()[:16]


@settings(max_examples=150, deadline=None)
@given(
    before=st.lists(_WORDS, max_size=6),
    after=st.lists(_WORDS, max_size=6),
    kind=st.sampled_from(["jwt", "hex", "stripe", "posthog", "email", "aws"]),
    seed=st.integers(0, 2**32),
    glue=st.sampled_from([" ", ": ", " = ", "(", '"', "\n"]),
)
def test_secrets_never_survive_in_text(
    before: list[str], after: list[str], kind: str, seed: int, glue: str
) -> None:
    secret = _secret(kind, seed)
    text = " ".join(before) + glue + secret + (")" if glue == "(" else " ") + " ".join(after)
    redacted = redact_text(text)
    assert secret not in redacted
    assert redact_text(redacted) == redacted


@settings(max_examples=150, deadline=None)
@given(
    path=st.lists(st.text("abcXYZ019-_.%@~", min_size=1, max_size=12), max_size=4),
    params=st.lists(
        st.tuples(st.text("abckeyt_", min_size=1, max_size=8), st.text(min_size=0, max_size=60)),
        max_size=6,
    ),
    secret_kind=st.sampled_from(["jwt", "hex", "posthog", "none"]),
    seed=st.integers(0, 2**32),
)
def test_redacted_urls_are_short_single_tokens(
    path: list[str], params: list[tuple[str, str]], secret_kind: str, seed: int
) -> None:
    query = urlencode(params)
    secret = _secret(secret_kind, seed) if secret_kind != "none" else None
    segments = [*path, secret] if secret else path
    url = "https://app.example.com/" + "/".join(segments) + (f"?{query}" if query else "")
    redacted = redact_url(url)
    assert not any(ch.isspace() or ch in '"`' for ch in redacted)
    if secret is not None:
        assert secret not in redacted
    redacted_query = urlsplit(redacted).query
    if redacted_query:
        pairs = redacted_query.split("&")
        assert len(pairs) <= QUERY_MAX_PARAMS + 1
        for pair in pairs:
            value = pair.partition("=")[2]
            if "%" not in value:
                assert len(value) <= QUERY_VALUE_MAX_CHARS
    assert redact_url(redacted) == redacted


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_redaction_never_crashes_and_is_stable(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once
    url = redact_url(text)
    assert not any(ch.isspace() for ch in url)
    assert redact_input_value(text, {"type": "text"}) is not None
