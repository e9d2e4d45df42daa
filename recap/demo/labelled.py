"""Short shop sessions labelled with what a good summary must say, for grading summaries.

Each session has an expected outcome (did the visitor do what they came for) and the
problems a summary should cite, each named by its kind and by how to find its event in
the compiled timeline: "the network_error for POST /api/payments 500", "the input flagged
abandoned". Sessions are deterministic for a seed and kept short, so a small local model
reads each in seconds.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from recap.demo.generator import DEFAULT_START_MS, SimulatedBrowser, SimulatedTab, tag, uuid7
from recap.demo.recordings import GeneratedSession, RecordingFormat, person_for
from recap.demo.shop import (
    BUSY,
    CATALOG,
    COLLECTIONS,
    NOT_BUSY,
    PRODUCTS_BY_SLUG,
    SHOP,
    Product,
    added_to_cart_toast,
    cart_body,
    checkout_body,
    collection_body,
    confirmation_body,
    contact_body,
    home_body,
    log_reviews_widget_error,
    product_body,
)
from recap.llm.schema import IssueKind, SessionSummary
from recap.timeline.models import EventKind, Timeline, TimelineEvent
from recap.timeline.render import render_event

ProblemKind = Literal["error", "rage_click", "dead_click", "abandonment", "confusion"]

# The issue kinds a summary may file a problem under and still be right about it.
ISSUE_KINDS: Final[dict[ProblemKind, frozenset[IssueKind]]] = {
    "error": frozenset({IssueKind.ERROR}),
    "rage_click": frozenset({IssueKind.RAGE_CLICK, IssueKind.DEAD_CLICK, IssueKind.CONFUSION}),
    "dead_click": frozenset({IssueKind.DEAD_CLICK, IssueKind.RAGE_CLICK, IssueKind.CONFUSION}),
    "abandonment": frozenset({IssueKind.ABANDONMENT}),
    "confusion": frozenset({IssueKind.CONFUSION}),
}


@dataclass(frozen=True)
class EventMatch:
    """How to find one event in a compiled timeline: its kind, a flag it carries, and a
    piece of text its rendered line contains (the line the model sees)."""

    kind: EventKind
    flag: str | None = None
    text: str | None = None

    def matches(self, event: TimelineEvent) -> bool:
        if event.kind is not self.kind:
            return False
        if self.flag is not None and self.flag not in event.flags:
            return False
        return self.text is None or self.text in render_event(event, show_window=False)


@dataclass(frozen=True)
class ProblemLabel:
    """One problem a summary must cite: its kind and the events that stand for it.

    `events` are alternatives: citing any event that matches one of them cites the
    problem (the failed request, or the click whose effect line shows it failing).
    """

    kind: ProblemKind
    description: str
    events: tuple[EventMatch, ...]

    def refs_in(self, timeline: Timeline) -> list[str]:
        """Refs of the timeline events that stand for this problem."""
        return [
            event.ref
            for event in timeline.events
            if any(match.matches(event) for match in self.events)
        ]


@dataclass(frozen=True)
class LabelledSession:
    """A generated session with the outcome and problems a good summary reports."""

    name: str
    description: str
    expected_success: bool
    problems: tuple[ProblemLabel, ...]
    session: GeneratedSession

    @property
    def session_id(self) -> str:
        return self.session.session_id

    def write(self, directory: Path, fmt: RecordingFormat = "blob_v2") -> Path:
        """`{directory}/{session_id}.jsonl` (or `.json`), as the generator's writer makes it."""
        return self.session.write_as(directory, fmt)


@dataclass(frozen=True)
class ProblemScore:
    label: ProblemLabel
    expected_refs: list[str]
    """Timeline events that stand for the problem."""
    cited_refs: list[str]
    """Those the summary cites anywhere (issues, key actions, segment bounds)."""
    issue_refs: list[str]
    """Those the summary files as an issue of a fitting kind."""

    @property
    def found(self) -> bool:
        return bool(self.cited_refs)

    @property
    def found_as_issue(self) -> bool:
        return bool(self.issue_refs)


@dataclass(frozen=True)
class SessionScore:
    outcome_correct: bool
    problems: list[ProblemScore]

    @property
    def recall(self) -> float | None:
        """Share of labelled problems the summary cites; None when there are none."""
        if not self.problems:
            return None
        return sum(problem.found for problem in self.problems) / len(self.problems)


def summary_refs(summary: SessionSummary) -> set[str]:
    """Every ref a stored summary cites: issues, key actions, segment starts and ends."""
    refs = {issue.event.ref for issue in summary.issues}
    refs |= {action.event.ref for action in summary.key_actions}
    for segment in summary.segments:
        refs |= {segment.start.ref, segment.end.ref}
    return refs


def score_summary(
    labelled: LabelledSession, timeline: Timeline, summary: SessionSummary
) -> SessionScore:
    """Grade one stored summary against the session's labels."""
    cited = summary_refs(summary)
    problems = []
    for label in labelled.problems:
        expected = label.refs_in(timeline)
        fitting = ISSUE_KINDS[label.kind]
        as_issue = {issue.event.ref for issue in summary.issues if issue.kind in fitting}
        problems.append(
            ProblemScore(
                label=label,
                expected_refs=expected,
                cited_refs=[ref for ref in expected if ref in cited],
                issue_refs=[ref for ref in expected if ref in as_issue],
            )
        )
    correct = summary.summary_outcome.success == labelled.expected_success
    return SessionScore(outcome_correct=correct, problems=problems)


# --- the journeys ---------------------------------------------------------------------------


def _to_product(shop: SimulatedTab, product: Product) -> None:
    shop.open_page(f"{SHOP}/", title="Northwind Outfitters", body=home_body(0, CATALOG[:8]))
    shop.pause(1_500, 2_500)
    shop.click(f"card_{product.slug}")
    shop.navigate(
        f"{SHOP}/products/{product.slug}", title=product.name, body=product_body(0, product)
    )
    shop.pause(1_500, 2_500)


def _add_to_cart(shop: SimulatedTab) -> None:
    shop.click("size")
    shop.choose("size", "10")
    shop.pause(600, 1_200)
    shop.click("add_to_cart")
    shop.fetch("/api/cart", method="POST", status=200, low_ms=180, high_ms=420)
    shop.mutate(
        texts=[shop.dom.text_change("cart_count", "1")],
        adds=shop.dom.add(added_to_cart_toast(), parent="toasts"),
    )
    shop.pause(1_200, 2_000)


def _to_checkout(shop: SimulatedTab, product: Product) -> None:
    shop.click("cart_link")
    shop.navigate(f"{SHOP}/cart", title="Your cart", body=cart_body(1, product))
    shop.pause(1_200, 2_000)
    shop.click("checkout")
    shop.navigate(f"{SHOP}/checkout", title="Checkout", body=checkout_body(1, product.price))
    shop.pause(1_000, 1_800)
    shop.click("email")
    shop.type_text("email", "sam.lee@example.com", shown="<email>")
    shop.pause(300, 700)
    shop.click("full_name")
    shop.type_text("full_name", "Sam Lee")
    shop.pause(300, 700)
    shop.pick("shipping_standard", group="shipping")
    shop.pause(600, 1_200)


def _pay(shop: SimulatedTab, status: int) -> None:
    shop.click("pay_now")
    shop.pause(5, 20)
    shop.mutate(attributes=[shop.dom.attribute_change("pay_now", BUSY)])
    shop.fetch("/api/payments", method="POST", status=status, low_ms=350, high_ms=700)


def _confirm(shop: SimulatedTab, order: str) -> None:
    shop.navigate(f"{SHOP}/orders/confirmed", title="Thank you", body=confirmation_body(0, order))
    shop.pause(2_000, 3_500)
    shop.nudge_mouse()


def play_purchase(shop: SimulatedTab) -> None:
    product = PRODUCTS_BY_SLUG["canvas-tote"]
    _to_product(shop, product)
    _add_to_cart(shop)
    _to_checkout(shop, product)
    _pay(shop, 201)
    _confirm(shop, "NW-21007")


def play_failed_checkout(shop: SimulatedTab) -> None:
    product = PRODUCTS_BY_SLUG["trail-runner-2"]
    _to_product(shop, product)
    _add_to_cart(shop)
    _to_checkout(shop, product)
    _pay(shop, 500)
    shop.pause(2, 10)
    shop.console_error(
        "Error: payment service unavailable (500)",
        ["at submitPayment (https://shop.example.com/assets/checkout.js:57:15)"],
    )
    shop.pause(10, 40)
    banner = tag(
        "div",
        {"class": "banner banner-error", "role": "alert"},
        "Something went wrong on our side. Your order was not placed.",
    )
    shop.mutate(
        attributes=[shop.dom.attribute_change("pay_now", NOT_BUSY)],
        adds=shop.dom.add(banner, parent="alerts"),
    )
    shop.pause(4_000, 6_000)
    shop.nudge_mouse()
    shop.pause(1_500, 2_500)


def play_abandoned_form(shop: SimulatedTab) -> None:
    shop.open_page(f"{SHOP}/", title="Northwind Outfitters", body=home_body(0, CATALOG[4:12]))
    shop.pause(1_500, 2_500)
    shop.click("nav_contact")
    shop.navigate(f"{SHOP}/contact", title="Contact us", body=contact_body(0))
    shop.pause(1_500, 2_500)
    fields = (
        ("contact_name", "Alex Kim"),
        ("company", "Kim Climbing Co"),
        ("message", "Can I order 40 jackets with our logo on them?"),
    )
    for key, text in fields:
        shop.click(key)
        shop.type_text(key, text)
        shop.pause(500, 1_200)
    shop.pause(3_000, 5_000)
    shop.click("nav_sale")
    shop.navigate(f"{SHOP}/collections/sale", title="Sale", body=collection_body(0, "sale"))
    shop.pause(1_500, 2_500)
    shop.scroll_to(300)
    shop.pause(2_000, 3_000)


def play_confusion_loop(shop: SimulatedTab) -> None:
    product = PRODUCTS_BY_SLUG["ridge-hiker"]
    _to_product(shop, product)
    shop.click("size")
    shop.choose("size", "9")
    shop.pause(800, 1_500)
    # the size guide button does nothing, and the visitor keeps trying it
    shop.click("size_guide")
    for _ in range(4):
        shop.pause(110, 200)
        shop.click_again("size_guide")
    shop.pause(3_000, 4_000)
    # then looks for sizes elsewhere: Shoes, Bags, Shoes, Bags
    for slug in ("shoes", "bags", "shoes", "bags"):
        shop.click(f"nav_{slug}")
        title = COLLECTIONS[slug][0]
        shop.navigate(f"{SHOP}/collections/{slug}", title=title, body=collection_body(0, slug))
        shop.pause(2_000, 3_000)
    shop.nudge_mouse()
    shop.pause(1_500, 2_500)


def play_purchase_with_console_error(shop: SimulatedTab) -> None:
    product = PRODUCTS_BY_SLUG["daypack-22"]
    _to_product(shop, product)
    # a widget fails on its own, well after the click that opened the page and before the
    # next one, so no action is blamed for it; nothing the visitor sees changes
    shop.pause(3_000, 4_000)
    log_reviews_widget_error(shop)
    shop.pause(1_500, 2_500)
    _add_to_cart(shop)
    _to_checkout(shop, product)
    _pay(shop, 201)
    _confirm(shop, "NW-21044")


@dataclass(frozen=True)
class _Script:
    name: str
    description: str
    expected_success: bool
    problems: tuple[ProblemLabel, ...]
    play: Callable[[SimulatedTab], None]


_PAYMENT_FAILED = ProblemLabel(
    "error",
    "the failed payment: the network_error for POST /api/payments 500, the Pay now submit"
    " it followed, or the console_error it logged",
    (
        EventMatch(EventKind.NETWORK_ERROR, text="POST /api/payments 500"),
        EventMatch(EventKind.SUBMIT, flag="error_after", text="Pay now"),
        EventMatch(EventKind.CONSOLE_ERROR, text="payment service unavailable"),
    ),
)
_FORM_ABANDONED = ProblemLabel(
    "abandonment",
    "the input flagged abandoned on the contact form",
    (EventMatch(EventKind.INPUT, flag="abandoned"),),
)
_RAGE_SIZE_GUIDE = ProblemLabel(
    "rage_click",
    'a click flagged rage on "Size guide"',
    (EventMatch(EventKind.CLICK, flag="rage", text="Size guide"),),
)
_THRASH = ProblemLabel(
    "confusion",
    "a navigation flagged thrash (Shoes and Bags, back and forth)",
    (EventMatch(EventKind.NAVIGATION, flag="thrash"),),
)
_WIDGET_ERROR = ProblemLabel(
    "error",
    "the console_error from initReviewsWidget",
    (EventMatch(EventKind.CONSOLE_ERROR, text="initReviewsWidget"),),
)

_SCRIPTS: Final = (
    _Script(
        "purchase",
        "Buys a tote bag: product, cart, checkout, payment accepted, order confirmed.",
        True,
        (),
        play_purchase,
    ),
    _Script(
        "failed_checkout",
        "Fills checkout and pays; the payment API answers 500 and an error banner appears.",
        False,
        (_PAYMENT_FAILED,),
        play_failed_checkout,
    ),
    _Script(
        "abandoned_form",
        "Types a name, company and message into the contact form, never sends it, leaves.",
        False,
        (_FORM_ABANDONED,),
        play_abandoned_form,
    ),
    _Script(
        "confusion_loop",
        "Rage-clicks a dead Size guide button, then goes back and forth between Shoes and "
        "Bags and leaves without buying.",
        False,
        (_RAGE_SIZE_GUIDE, _THRASH),
        play_confusion_loop,
    ),
    _Script(
        "console_error_no_impact",
        "A reviews widget logs a TypeError; the visitor does not notice and buys a daypack.",
        True,
        (_WIDGET_ERROR,),
        play_purchase_with_console_error,
    ),
)

LABELLED_SESSIONS: Final[tuple[str, ...]] = tuple(script.name for script in _SCRIPTS)


def _generate(script: _Script, seed: int, start_ms: int) -> GeneratedSession:
    rng = random.Random(f"recap-labelled:{script.name}:{seed}")
    session_id = uuid7(start_ms, rng)
    person = person_for(rng, start_ms)
    browser = SimulatedBrowser(rng, start_ms)
    script.play(browser.open_tab())
    end_ms = browser.events[-1]["timestamp"] if browser.events else start_ms
    truth = browser.truth.finish(session_id, start_ms, end_ms)
    return GeneratedSession(session_id, person, browser.events, truth)


def labelled_sessions(
    seed: int = 0, *, names: Sequence[str] = LABELLED_SESSIONS, start_ms: int = DEFAULT_START_MS
) -> list[LabelledSession]:
    """The labelled sessions, in a fixed order; the same seed gives the same recordings."""
    unknown = [name for name in names if name not in LABELLED_SESSIONS]
    if unknown:
        raise ValueError(
            f"unknown labelled session {unknown[0]!r}; choose from {', '.join(LABELLED_SESSIONS)}"
        )
    sessions = []
    for index, script in enumerate(_SCRIPTS):
        if script.name in names:
            # a minute apart, so session ids (UUIDv7, time-ordered) never collide
            session = _generate(script, seed, start_ms + index * 60_000)
            labelled = LabelledSession(
                script.name, script.description, script.expected_success, script.problems, session
            )
            sessions.append(labelled)
    return sessions
