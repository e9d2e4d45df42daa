"""Redaction that holds (issue 16, finding 4), as a property: whatever a card number is
embedded in (a typed value, page text, a button's label, a console message, a page URL's
path or query, a failed request) and however it is written (spaces, dots, dashes, doubled
spaces, no separators), no Luhn-valid run of 13-19 digits survives in any line of the
rendered timeline, nor in the timeline's JSON.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, quote_plus, unquote

from hypothesis import example, given, settings
from hypothesis import strategies as st

from recap.timeline import render_timeline
from recap.timeline.models import as_json
from tests.security.test_redaction import Session, _element, _page, _text

SEPARATORS = [" ", ".", "-", "  ", ""]
PLACES = [
    "input",
    "page_text",
    "label",
    "console",
    "url_path",
    "url_query",
    "url_fragment",
    "request",
]
WORDS = st.sampled_from(
    ["Payment", "failed", "for", "card", "order", "#A12", "ok,", "—", "(see", "docs)",
     "total:", "$19.99", "Visa", "ending", "x", "Zahlung", "abgelehnt", "né", "2", "of", "3"]
)  # fmt: skip
# Digit groups joined by at most two separator characters, as a reader would join them.
_DIGIT_RUN = re.compile(r"\d+(?:[ .\-]{1,2}\d+)*")
_JOINERS = re.compile(r"(?<=\d)[ .\-]{1,2}(?=\d)")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, ch in enumerate(reversed(digits)):
        value = int(ch)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """A Luhn-valid number of 13-19 digits with a real issuer prefix."""
    length = draw(st.integers(13, 19))
    prefix = draw(st.sampled_from(["4", "51", "55", "2221", "34", "37", "6011", "35", "62"]))
    body = draw(st.text("0123456789", min_size=length - len(prefix) - 1, max_size=length))
    partial = (prefix + body)[: length - 1]
    check = next(d for d in "0123456789" if luhn_valid(partial + d))
    return partial + check


def written(digits: str, separator: str) -> str:
    """A card number as printed: 4-6-5 (Amex), 4-6-4 (Diners) or fours."""
    if not separator:
        return digits
    if len(digits) in (14, 15):
        sizes = [4, 6, len(digits) - 10]
    else:
        sizes = [4] * (len(digits) // 4) + ([len(digits) % 4] if len(digits) % 4 else [])
    groups, start = [], 0
    for size in sizes:
        groups.append(digits[start : start + size])
        start += size
    return separator.join(groups)


def surviving_cards(line: str) -> list[str]:
    """Luhn-valid 13-19 digit runs in one line (URLs percent-decoded first)."""
    decoded = unquote(line).replace("+", " ")
    runs = (_JOINERS.sub("", run) for run in _DIGIT_RUN.findall(decoded))
    return [run for run in runs if 13 <= len(run) <= 19 and luhn_valid(run)]


def recording(place: str, text: str, card: str) -> Session:
    page = _page(
        "en",
        _element(10, "input", {"type": "text", "name": "note"}),
        _element(14, "button", {}, _text(15, text if place == "label" else "Pay now")),
        _element(16, "div", {}),
    )
    session = Session("https://shop.example/checkout", page)
    if place == "input":
        session.type_into(10, text)
    elif place in ("page_text", "label"):
        session.click(14).show_text(16, 17, text)
    elif place == "console":
        session.console_error(text)
    elif place == "url_path":
        session.navigate(f"https://shop.example/pay/{quote(card)}/confirm")
    elif place == "url_query":
        session.navigate(f"https://shop.example/pay?ref={quote_plus(card)}&step=2")
    elif place == "url_fragment":
        session.navigate(f"https://shop.example/app#/pay/{quote(card)}")
    elif place == "request":
        request = {
            "name": f"https://api.shop.example/cards/{quote(card)}/charge",
            "method": "POST",
            "responseStatus": 402,
        }
        session.add(6, {"plugin": "rrweb/network@1", "payload": {"requests": [request]}})
    return session


# The line's length limit, reached by the words before the card, cuts the marker itself.
_CUT_MARKER = re.compile(r"<(?:c(?:a(?:r(?:d)?)?)?)?…")


@settings(max_examples=300, deadline=None)
@example(
    digits="4000000000006",
    separator=" ",
    place="page_text",
    before=["Payment", "Payment", "abgelehnt", "abgelehnt"],
    after=[],
)
@given(
    digits=card_numbers(),
    separator=st.sampled_from(SEPARATORS),
    place=st.sampled_from(PLACES),
    before=st.lists(WORDS, max_size=4),
    after=st.lists(WORDS, max_size=4),
)
def test_no_card_number_survives_in_any_timeline_line(
    digits: str, separator: str, place: str, before: list[str], after: list[str]
) -> None:
    card = written(digits, separator)
    text = " ".join([*before, card, *after])
    timeline = recording(place, text, card).timeline()
    rendered = render_timeline(timeline)
    for line in rendered.splitlines():
        assert surviving_cards(line) == [], line
        assert digits not in _JOINERS.sub("", unquote(line).replace("+", " ")), line
    assert digits not in _JOINERS.sub(
        "", unquote(json.dumps(as_json(timeline), ensure_ascii=False))
    ), place
    # The card was on the timeline (as a marker), not dropped with its event; a long text
    # may end inside the marker, cut by the line's length limit after redaction.
    assert "<card>" in rendered or _CUT_MARKER.search(rendered), rendered
