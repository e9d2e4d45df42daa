"""Redaction that holds (issue 16, finding 4): phones in national and international forms,
cards with dots or doubled spaces, credentials in a URL's user part, password fields a site
left unmasked (short names, rrweb's marker, "show password", autocomplete tokens, labels in
other languages), security codes, one-time codes in prose, `pin`/`passcode` query keys,
`;jsessionid=` path parameters, IPv6 addresses and `session=<hex>` all leaked into the
timeline. The corpus pins each case where it appears, next to ordinary text that must stay
readable; the end-to-end tests compile small rrweb recordings and read the rendered
timeline the model sees.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from recap.recording.rrweb import FULL_SNAPSHOT, INCREMENTAL_SNAPSHOT, MUTATION
from recap.sources import RawEvent
from recap.timeline import EventKind, Timeline, compile_events, render_timeline
from recap.timeline.models import as_json
from recap.timeline.redact import (
    redact_console,
    redact_input_value,
    redact_text,
    redact_url,
)

GITHUB_TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
PASSWORD = "hunter2-Correct-Horse"


@dataclass(frozen=True)
class Case:
    """One corpus entry: what is redacted, where it appears, and what must come out."""

    where: str  # text | console | input | tel | url | field
    given: str
    expected: str
    attributes: dict[str, Any] = field(default_factory=dict)
    label: str | None = None


def _field(attributes: dict[str, Any], label: str | None = None, value: str = PASSWORD) -> Case:
    """A value typed into a field whose semantics make it a secret: it must be masked."""
    return Case("field", value, "***", attributes, label)


def _text_field(value: str, expected: str) -> Case:
    return Case("input", value, expected, {"type": "text", "name": "note"})


CORPUS: list[Case] = [
    # -- phones: without separators, international and national forms ----------------------
    Case("text", "Call 5551234567 today", "Call <phone> today"),
    Case("tel", "5551234567", "<phone>"),
    Case("tel", "555 1234", "<phone>"),
    Case("tel", "+44 (0)20 7946 0018", "<phone>"),
    Case("text", "+44 7700 900123", "<phone>"),
    Case("text", "Ring +33 6 12 34 56 78 après 18h", "Ring <phone> après 18h"),
    Case("text", "Büro: +49 30 1234567", "Büro: <phone>"),
    Case("text", "Mobile 07700 900123", "Mobile <phone>"),
    Case("text", "07700 900123", "<phone>"),
    Case("console", "sms sent to +447700900123", "sms sent to <phone>"),
    Case("text", "Dial 0044 7700 900123 from abroad", "Dial <phone> from abroad"),
    Case("text", "(555) 123-4567", "<phone>"),
    Case("text", "Appelez le 06 12 34 56 78", "Appelez le <phone>"),
    Case("text", "06.12.34.56.78", "<phone>"),
    Case("text", "Tel. 030 1234567", "Tel. <phone>"),
    Case("text", "London office 020 7946 0018", "London office <phone>"),
    Case("text", "Toll free 1-800-555-1234", "Toll free <phone>"),
    _text_field("+44 7700 900123", "<phone>"),
    _text_field("07700900123", "<phone>"),
    Case("input", "07700 900123", "<phone>", {"type": "text", "name": "mobile"}),
    Case("url", "https://shop.example/call/+15551234567", "https://shop.example/call/<phone>"),
    Case(
        "url",
        "https://shop.example/contact?phone=5551234567&step=2",
        "https://shop.example/contact?phone=***&step=2",
    ),
    # -- cards with dots or doubled spaces -------------------------------------------------
    Case("text", "paid with 4111.1111.1111.1111", "paid with <card>"),
    Case("text", "4111  1111  1111  1111", "<card>"),
    Case("text", "Qty 2 4111 1111 1111 1111 charged", "Qty 2 <card> charged"),
    Case("text", "Amex 3782 822463 10005", "Amex <card>"),
    Case("console", "charge failed for 5500-0000-0000-0004", "charge failed for <card>"),
    Case("console", "card=4111.1111.1111.1111 declined", "card=<card> declined"),
    _text_field("4111.1111.1111.1111", "<card>"),
    _text_field("4111  1111  1111  1111", "<card>"),
    Case("tel", "4111 1111 1111 1111", "<card>"),
    Case(
        "url",
        "https://pay.example/card/4111%201111%201111%201111",
        "https://pay.example/card/<card>",
    ),
    Case(
        "url",
        "https://pay.example/confirm?ref=4111.1111.1111.1111",
        "https://pay.example/confirm?ref=<card>",
    ),
    # -- credentials in a URL's user part --------------------------------------------------
    Case(
        "url",
        f"https://{GITHUB_TOKEN}@github.com/acme/app.git",
        "https://<token>@github.com/acme/app.git",
    ),
    Case(
        "url",
        "https://tok_9f8a7b6c5d4e3f2a1b0c:x-oauth-basic@github.com/acme/app",
        "https://<token>:***@github.com/acme/app",
    ),
    Case(
        "console",
        f"git clone https://{GITHUB_TOKEN}@github.com/acme/app.git failed",
        "git clone https://<token>@github.com/acme/app.git failed",
    ),
    Case(
        "url",
        "https://x-access-token:ghs_16C7e42F292c6912E7710c838347Ae178B4a@github.com/acme/app",
        "https://x-access-token:***@github.com/acme/app",
    ),
    # -- password fields the site left unmasked --------------------------------------------
    _field({"type": "text", "name": "pw"}),
    _field({"type": "text", "name": "pass1"}),
    _field({"type": "text", "name": "login", "data-rr-is-password": "true"}),
    _field({"type": "text", "autocomplete": "current-password"}),
    _field({"type": "text", "autocomplete": "new-password"}),
    _field({"type": "text", "autocomplete": "one-time-code"}, value="482913"),
    _field({"type": "text", "autocomplete": "section-login current-password"}),
    _field({"type": "text", "autocomplete": "section-2fa one-time-code"}, value="482913"),
    _field({"type": "text", "name": "f1"}, "Passwort"),
    _field({"type": "text", "name": "f2"}, "Mot de passe"),
    _field({"type": "text", "name": "f3"}, "Contraseña"),
    _field({"type": "text", "name": "f4"}, "Senha"),
    _field({"type": "text", "name": "f5"}, "Wachtwoord"),
    _field({"type": "text", "name": "f6"}, "Hasło"),
    _field({"type": "text", "name": "f7"}, "パスワード"),
    _field({"type": "text", "name": "f8"}, "密码"),
    _field({"type": "text", "name": "f9"}, "пароль"),
    _field({"type": "text", "name": "f10"}, "Kennwort vergessen?"),
    # -- security codes --------------------------------------------------------------------
    _field({"type": "text", "name": "security_code"}, value="123"),
    _field({"type": "tel", "name": "cvv2"}, value="123"),
    _field({"type": "text", "id": "cardCode"}, value="4321"),
    _field({"type": "text", "name": "verificationCode"}, value="482913"),
    # -- one-time codes and short secrets in prose -----------------------------------------
    Case("text", "Your code is 482913", "Your code is ***"),
    Case("text", "PIN: 1234", "PIN: ***"),
    Case("console", "login pw=hunter2 rejected", "login pw=*** rejected"),
    Case("console", "verification code: 482 913", "verification code: ***"),
    Case("text", "Your login code is A7K9Q2", "Your login code is ***"),
    Case("console", "OTP 4821 expires in 5 minutes", "OTP *** expires in 5 minutes"),
    # -- query keys and path parameters ----------------------------------------------------
    Case("url", "https://bank.example/verify?pin=1234", "https://bank.example/verify?pin=***"),
    Case(
        "url",
        "https://bank.example/verify?passcode=839201&step=2",
        "https://bank.example/verify?passcode=***&step=2",
    ),
    Case("url", "https://bank.example/verify?otp=482913", "https://bank.example/verify?otp=***"),
    Case(
        "url",
        "https://shop.example/cart;jsessionid=1A2B3C4D5E6F7A8B9C0D",
        "https://shop.example/cart;jsessionid=***",
    ),
    Case(
        "url",
        "https://shop.example/cart;jsessionid=1A2B3C4D5E6F7A8B9C0D?step=2",
        "https://shop.example/cart;jsessionid=***?step=2",
    ),
    Case(
        "console",
        "redirect to /checkout;jsessionid=0A1B2C3D4E5F",
        "redirect to /checkout;jsessionid=***",
    ),
    # -- IPv6 addresses --------------------------------------------------------------------
    Case("text", "login from 2001:db8:85a3::8a2e:370:7334", "login from <ip>"),
    Case("console", "peer [fe80::1ff:fe23:4567:890a%eth0] closed", "peer [<ip>] closed"),
    Case("text", "client 2001:0db8:0000:0000:0000:ff00:0042:8329 blocked", "client <ip> blocked"),
    Case("console", "::ffff:192.0.2.128 connected", "<ip> connected"),
    # -- session ids -----------------------------------------------------------------------
    Case("console", "session=3f9a8b7c6d5e4f3a2b1c expired", "session=*** expired"),
    Case("console", "sid=9f8e7d6c5b4a; Path=/", "sid=***; Path=/"),
    Case("console", '{"sessionId": "a1b2c3d4e5f6a7b8"}', '{"sessionId": "***"}'),
    # -- ordinary numbers and words stay readable ------------------------------------------
    Case("text", "Order 12345 confirmed", "Order 12345 confirmed"),
    Case("text", "Order #2345678901 shipped", "Order #2345678901 shipped"),
    Case("text", "PO 4500012345 approved", "PO 4500012345 approved"),
    Case("text", "Total: $1,234,567.89", "Total: $1,234,567.89"),
    Case("text", "1 234 567,89 € TTC", "1 234 567,89 € TTC"),
    Case("text", "Population: 8 336 817", "Population: 8 336 817"),
    Case("text", "Umsatz 12.345.678 EUR", "Umsatz 12.345.678 EUR"),
    Case("text", "Copyright 2024", "Copyright 2024"),
    Case("console", "ts=1763800000000 took 1763800000123", "ts=1763800000000 took 1763800000123"),
    Case("console", "uploaded at 1763800000", "uploaded at 1763800000"),
    Case("text", "2025-05-02 12:30:11", "2025-05-02 12:30:11"),
    Case("text", "Delivery on 02.05.2025 at 10:30", "Delivery on 02.05.2025 at 10:30"),
    Case("text", "Chrome 120.0.6099.109 on macOS 14.5", "Chrome 120.0.6099.109 on macOS 14.5"),
    Case("console", "Windows 10.0.19045.3803", "Windows 10.0.19045.3803"),
    Case("text", "ISBN 978-3-16-148410-0", "ISBN 978-3-16-148410-0"),
    Case("text", "San Francisco, CA 94107-1234", "San Francisco, CA 94107-1234"),
    Case("text", "id 12345678", "id 12345678"),
    Case("text", "1920x1080 display", "1920x1080 display"),
    Case("console", "Loaded 1234567 bytes in 532ms", "Loaded 1234567 bytes in 532ms"),
    Case("text", "lat 37.7749295, lng -122.4194155", "lat 37.7749295, lng -122.4194155"),
    Case("text", "Pages 1 2 3 4 5 6 7 8 9 10 11 12 13", "Pages 1 2 3 4 5 6 7 8 9 10 11 12 13"),
    Case("console", "error code 404 from upstream", "error code 404 from upstream"),
    Case("text", "zip code is 94107", "zip code is 94107"),
    Case("text", "Your zip code is 94107", "Your zip code is 94107"),
    Case(
        "text", "Use the promo code SUMMER24 at checkout", "Use the promo code SUMMER24 at checkout"
    ),
    Case("console", "session: started", "session: started"),
    Case(
        "console", "std::vector<int> and a::b at 12:30:45", "std::vector<int> and a::b at 12:30:45"
    ),
    Case("text", "PIN 3 notes to the board", "PIN 3 notes to the board"),
    Case("url", "https://shop.example/orders/2345678901", "https://shop.example/orders/2345678901"),
    Case("url", "https://shop.example/p?page=12345678", "https://shop.example/p?page=12345678"),
    Case("url", "https://git@github.com/acme/app.git", "https://git@github.com/acme/app.git"),
    _text_field("Order 1234567", "Order 1234567"),
    Case("input", "Berlin", "Berlin", {"type": "text", "name": "passport_city"}),
    Case("input", "Ótimo produto", "Ótimo produto", {"type": "text", "name": "r"}, "Resenha"),
    Case("input", "helloworld", "helloworld", {"type": "text", "name": "username"}, "Username"),
]


def _redact(case: Case) -> str:
    if case.where in ("text", "label"):
        return redact_text(case.given)
    if case.where == "console":
        return redact_console(case.given)
    if case.where == "url":
        return redact_url(case.given)
    if case.where == "tel":
        return redact_input_value(case.given, {"type": "tel", "name": "contact"})
    return redact_input_value(case.given, case.attributes, case.label)


def test_the_corpus_is_large_and_covers_every_place() -> None:
    assert len(CORPUS) >= 80
    assert {case.where for case in CORPUS} == {"text", "console", "input", "tel", "url", "field"}
    assert sum(case.given == case.expected for case in CORPUS) >= 25  # the honest side


@pytest.mark.parametrize(
    "case", CORPUS, ids=[f"{c.where}:{c.label or c.given}"[:60] for c in CORPUS]
)
def test_redaction_corpus(case: Case) -> None:
    redacted = _redact(case)
    assert redacted == case.expected
    # Redacting what was redacted changes nothing (markers are never re-read as data).
    if case.where in ("text", "console", "url"):
        assert _redact(Case(case.where, redacted, redacted)) == redacted


# -- locale hints: the recording says where its users are ---------------------------------


@pytest.mark.parametrize(
    ("url", "lang", "primary"),
    [
        ("https://tienda.example.es/carrito", None, "ES"),
        ("https://shop.example.co.uk/basket", None, "GB"),
        ("https://app.example.io/", "de-AT", "AT"),
        ("https://app.example.com/", "ja", "JP"),
        ("https://app.example.com/", "pt-BR", "BR"),
        ("https://shop.example.de/", "en", "DE"),
        (None, None, "US"),
    ],
)
def test_locale_hints_choose_the_primary_region(
    url: str | None, lang: str | None, primary: str
) -> None:
    from recap.timeline.locale import FALLBACK_REGIONS, phone_regions

    regions = phone_regions(url, lang)
    assert regions[0] == primary
    assert set(FALLBACK_REGIONS) <= set(regions)  # hints come first, fallbacks still apply


def test_a_bare_number_is_a_phone_only_where_numbers_are_written_that_way() -> None:
    from recap.timeline.locale import phone_regions

    # Spanish mobiles are written as nine bare digits; in the US that is not a phone.
    assert redact_text("Llámanos al 612345678", phone_regions(lang="es-ES")) == (
        "Llámanos al <phone>"
    )
    assert redact_text("ref 612345678", phone_regions("https://shop.example.com/")) == (
        "ref 612345678"
    )
    # A ten-digit id on a German site is not a US phone number.
    german = phone_regions("https://shop.example.de/")
    assert redact_text("Artikel 2345678901", german) == "Artikel 2345678901"
    assert redact_text("Rufen Sie 030 1234567 an", german) == "Rufen Sie <phone> an"


# -- end to end: small rrweb recordings through the compiler ------------------------------


def _element(node_id: int, tag: str, attributes: dict[str, Any], *children: Any) -> Any:
    return {
        "type": 2,
        "id": node_id,
        "tagName": tag,
        "attributes": attributes,
        "childNodes": list(children),
    }


def _text(node_id: int, text: str) -> dict[str, Any]:
    return {"type": 3, "id": node_id, "textContent": text}


def _page(lang: str | None, *body: Any) -> dict[str, Any]:
    html_attributes = {"lang": lang} if lang else {}
    return {
        "node": {
            "type": 0,
            "id": 1,
            "childNodes": [
                _element(2, "html", html_attributes, _element(3, "body", {}, *body)),
            ],
        },
        "initialOffset": {"top": 0, "left": 0},
    }


class Session:
    """A recording built event by event, with a clock."""

    def __init__(self, href: str, page: dict[str, Any]) -> None:
        self.now = 1_700_000_000_000
        self.events: list[RawEvent] = []
        self.add(4, {"href": href, "width": 1280, "height": 800})
        self.add(FULL_SNAPSHOT, copy.deepcopy(page))

    def add(self, event_type: int, data: dict[str, Any], delta_ms: int = 200) -> Session:
        self.now += delta_ms
        self.events.append(RawEvent(type=event_type, timestamp=self.now, data=data))
        return self

    def type_into(self, node_id: int, *values: str) -> Session:
        self.add(INCREMENTAL_SNAPSHOT, {"source": 2, "type": 5, "id": node_id})
        for value in values:
            self.add(INCREMENTAL_SNAPSHOT, {"source": 5, "id": node_id, "text": value})
        return self.add(INCREMENTAL_SNAPSHOT, {"source": 2, "type": 6, "id": node_id})

    def set_attributes(self, node_id: int, attributes: dict[str, Any]) -> Session:
        mutation = {"id": node_id, "attributes": attributes}
        return self.add(
            INCREMENTAL_SNAPSHOT,
            {"source": MUTATION, "adds": [], "removes": [], "texts": [], "attributes": [mutation]},
        )

    def click(self, node_id: int) -> Session:
        return self.add(INCREMENTAL_SNAPSHOT, {"source": 2, "type": 2, "id": node_id})

    def show_text(self, parent_id: int, node_id: int, text: str) -> Session:
        add = {"parentId": parent_id, "nextId": None, "node": _text(node_id, text)}
        return self.add(
            INCREMENTAL_SNAPSHOT,
            {"source": MUTATION, "adds": [add], "removes": [], "texts": [], "attributes": []},
            delta_ms=100,
        )

    def console_error(self, *arguments: str) -> Session:
        payload = {"level": "error", "payload": [f'"{a}"' for a in arguments], "trace": []}
        return self.add(6, {"plugin": "rrweb/console@1", "payload": payload})

    def navigate(self, href: str) -> Session:
        return self.add(4, {"href": href, "width": 1280, "height": 800}, delta_ms=5000)

    def timeline(self) -> Timeline:
        return compile_events(self.events, "redaction")


def _everything(timeline: Timeline) -> str:
    """What leaves the compiler: the rendered lines and the JSON of every event."""
    return render_timeline(timeline) + "\n" + json.dumps(as_json(timeline), ensure_ascii=False)


def _inputs(timeline: Timeline) -> list[tuple[str | None, str | None]]:
    return [(e.target, e.value) for e in timeline.events if e.kind is EventKind.INPUT]


LOGIN_PAGE = _page(
    "en",
    _element(
        20,
        "form",
        {},
        _element(21, "label", {"for": "login-extra"}, _text(22, "Memorable word")),
        _element(10, "input", {"type": "password", "id": "login-extra", "name": "field3"}),
        _element(11, "input", {"type": "text", "name": "login", "data-rr-is-password": "true"}),
        _element(12, "input", {"type": "text", "name": "c", "autocomplete": "one-time-code"}),
        _element(13, "input", {"type": "text", "name": "n", "autocomplete": "new-password"}),
        _element(14, "button", {"type": "button"}, _text(15, "Show")),
    ),
)


def test_show_password_toggle_keeps_the_field_masked() -> None:
    session = Session("https://app.example.com/login", LOGIN_PAGE)
    session.type_into(10, "h", "hu", "hun")
    # The site's "show password" button turns the field into a text field...
    session.click(14).set_attributes(10, {"type": "text"})
    session.type_into(10, "hunter2", PASSWORD)
    # ... and a later snapshot of the same document shows it as one.
    checkout = copy.deepcopy(LOGIN_PAGE)
    checkout["node"]["childNodes"][0]["childNodes"][0]["childNodes"][0]["childNodes"][1][
        "attributes"
    ]["type"] = "text"
    session.add(FULL_SNAPSHOT, checkout)
    session.type_into(10, PASSWORD + "!")
    timeline = session.timeline()
    shown = _everything(timeline)
    assert "hunter2" not in shown
    assert "Correct-Horse" not in shown
    inputs = _inputs(timeline)
    # Labelled `input:password` before the toggle and `input` after it, masked throughout.
    assert [target for target, _ in inputs] == [
        'input:password "Memorable word"',
        'input "Memorable word"',
        'input "Memorable word"',
    ]
    assert [value for _, value in inputs] == ["***", "***", "***"]
    masked = [e for e in timeline.events if e.kind is EventKind.INPUT]
    assert all("masked" in e.flags for e in masked)


def test_rrweb_password_marker_and_autocomplete_tokens_mask_fields() -> None:
    session = Session("https://app.example.com/login", LOGIN_PAGE)
    session.type_into(11, PASSWORD)
    session.type_into(12, "482913")
    session.type_into(13, PASSWORD + "-new")
    timeline = session.timeline()
    shown = _everything(timeline)
    assert "Correct-Horse" not in shown
    assert "482913" not in shown
    assert [value for _, value in _inputs(timeline)] == ["***", "***", "***"]


def test_password_labels_in_other_languages_mask_fields() -> None:
    labels = ["Passwort", "Mot de passe", "Contraseña", "Senha", "Hasło", "パスワード", "пароль"]
    body = []
    for index, label in enumerate(labels):
        field_id = 100 + 10 * index
        body += [
            _element(field_id + 1, "label", {"for": f"f{index}"}, _text(field_id + 2, label)),
            _element(field_id, "input", {"type": "text", "id": f"f{index}", "name": f"f{index}"}),
        ]
    session = Session("https://app.example.com/", _page(None, *body))
    for index in range(len(labels)):
        session.type_into(100 + 10 * index, f"{PASSWORD}{index}")
    timeline = session.timeline()
    assert "Correct-Horse" not in _everything(timeline)
    assert [value for _, value in _inputs(timeline)] == ["***"] * len(labels)


def test_phones_cards_and_secrets_leave_no_trace_in_the_timeline() -> None:
    page = _page(
        "es-ES",
        _element(10, "input", {"type": "tel", "name": "contact"}),
        _element(11, "input", {"type": "text", "name": "note"}),
        _element(12, "input", {"type": "text", "name": "movil"}),
        _element(14, "button", {}, _text(15, "Llámanos al 612345678")),
        _element(16, "div", {}),
    )
    session = Session("https://tienda.example.es/pedido", page)
    session.type_into(10, "5551234567")
    session.type_into(11, "card 4111.1111.1111.1111, call +44 7700 900123")
    # A bare nine-digit number is a phone on a Spanish page (the URL and `lang` say so).
    session.type_into(12, "612 345 679")
    session.type_into(11, "612345678")
    session.click(14).show_text(16, 17, "Tarjeta 4111  1111  1111  1111 rechazada")
    session.console_error(
        "login failed for 2001:db8:85a3::8a2e:370:7334 session=3f9a8b7c6d5e4f3a2b1c",
        "Your code is 482913, PIN: 1234",
    )
    session.navigate("https://tienda.example.es/pago;jsessionid=1A2B3C4D5E6F7A8B9C0D?pin=1234")
    session.navigate(f"https://{GITHUB_TOKEN}@github.com/acme/app")
    timeline = session.timeline()
    shown = _everything(timeline)
    for leaked in (
        "5551234567",
        "4111",
        "7700",
        "612",
        "2001:db8",
        "3f9a8b7c",
        "482913",
        "1234",
        "1A2B3C4D",
        GITHUB_TOKEN,
    ):
        assert leaked not in shown, leaked
    assert _inputs(timeline) == [
        ('input:tel "contact"', "<phone>"),
        ('input "note"', "card <card>, call <phone>"),
        ('input "movil"', "<phone>"),
        ('input "note"', "<phone>"),
    ]
    text = render_timeline(timeline)
    assert 'click button "Llámanos al <phone>"' in text
    assert '+"Tarjeta <card> rechazada"' in text
    assert "<ip> session=***" in text
    assert "Your code is ***, PIN: ***" in text
    assert "/pago;jsessionid=***?pin=***" in text
    assert "https://<token>@github.com/acme/app" in text
