"""Redaction: secrets by field semantics, PII in free text, sensitive URL parameters, labels."""

from __future__ import annotations

from typing import Any

import pytest

from recap.timeline.mirror import DomMirror
from recap.timeline.redact import (
    MASK,
    is_sensitive_field,
    is_sensitive_query_key,
    redact_input_value,
    redact_text,
    redact_url,
)


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
