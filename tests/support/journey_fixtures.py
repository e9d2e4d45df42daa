"""One person's twelve shop sessions over three weeks, and a model double for journeys.

`person_sessions` generates the sessions as real recordings (PostHog's export format, the
person's distinct id in it), compiles them and gives each a gated summary citing the events a
good summary cites, made without a model (as `report_fixtures` does). The planted story: a
checkout whose discount code fails with a server error on Monday 10 November, bought with
the same code on Wednesday 12 November; a Size guide button rage-clicked on two visits; one
session never summarized. `JourneyDouble` answers journey prompts the way a model that
reads them would: it cites only refs it finds in the prompt, unless told to cite wrongly.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

from pydantic import BaseModel

from recap.demo.generator import ElementSpec, SimulatedBrowser, SimulatedTab, tag, uuid7
from recap.demo.labelled import EventMatch, _add_to_cart, _confirm, _pay, _to_checkout, _to_product
from recap.demo.recordings import GeneratedSession, person_for
from recap.demo.shop import (
    CATALOG,
    PRODUCTS_BY_SLUG,
    SHOP,
    collection_body,
    contact_body,
    home_body,
    orders_body,
    shop_footer,
    shop_header,
)
from recap.journeys import JourneyInput
from recap.llm.gate import gate
from recap.llm.schema import ModelSummary, RunMetadata, SessionSummary
from recap.sources.files import load_recording_file
from recap.timeline import compile_timeline
from recap.timeline.models import EventKind, SessionInfo, Timeline, TimelineEvent, TimelineStats

DISTINCT_ID: Final = "maria.ortiz@example.com"
FIRST_DAY: Final = datetime(2025, 11, 3, tzinfo=UTC)  # a Monday

Kind = Literal[
    "browse",
    "sign_in",
    "size_guide_then_cart",
    "browse_sale",
    "coupon_error",
    "contact",
    "coupon_purchase",
    "track_order",
    "size_guide_then_leave",
]

# (days after FIRST_DAY, hour, minute, kind, summarized)
PLAN: Final[tuple[tuple[int, int, int, Kind, bool], ...]] = (
    (0, 9, 0, "browse", True),  # Mon 3 Nov
    (2, 19, 30, "sign_in", True),  # Wed 5 Nov
    (4, 12, 15, "size_guide_then_cart", True),  # Fri 7 Nov
    (5, 10, 0, "browse_sale", True),  # Sat 8 Nov
    (7, 20, 0, "coupon_error", True),  # Mon 10 Nov: the failed checkout
    (8, 8, 45, "contact", True),  # Tue 11 Nov
    (9, 18, 0, "coupon_purchase", True),  # Wed 12 Nov: bought with the code
    (10, 9, 10, "track_order", True),  # Thu 13 Nov
    (14, 11, 0, "browse", False),  # Mon 17 Nov: never summarized
    (15, 19, 0, "sign_in", True),  # Tue 18 Nov
    (17, 13, 30, "size_guide_then_leave", True),  # Thu 20 Nov
    (19, 16, 0, "browse", True),  # Sat 22 Nov
)
FAILED_CHECKOUT: Final = 4
"""Index in `PLAN` of the Monday checkout whose discount code failed."""
PURCHASE: Final = 6
"""Index in `PLAN` of the Wednesday purchase with the same code."""
SIZE_GUIDE: Final = (2, 10)
NOT_SUMMARIZED: Final = 8

APPLY_FAILED = EventMatch(EventKind.CLICK, flag="error_after", text="apply-discount")
COUPON_ERROR = EventMatch(EventKind.CONSOLE_ERROR, text="coupon service unavailable")
APPLY = EventMatch(EventKind.CLICK, text="apply-discount")
PAY = EventMatch(EventKind.SUBMIT, text="Pay now")
RAGE_SIZE_GUIDE = EventMatch(EventKind.CLICK, flag="rage", text="Size guide")
PRODUCT_PAGE = EventMatch(EventKind.NAVIGATION, text="/products/")
SIGN_IN = EventMatch(EventKind.SUBMIT, text="Sign in")
TRACK = EventMatch(EventKind.CLICK, text="Track package")
FIRST_PAGE = EventMatch(EventKind.NAVIGATION)


# --- the visits -----------------------------------------------------------------------------


def sign_in_body() -> list[ElementSpec | str]:
    return [
        shop_header(0),
        tag(
            "main",
            {},
            tag("h1", {}, "Sign in"),
            tag(
                "form",
                {"id": "sign-in", "method": "post"},
                tag("label", {"for": "login_email"}, "Email"),
                tag(
                    "input",
                    {"type": "email", "id": "login_email", "name": "email"},
                    key="login_email",
                    at=(620, 260),
                ),
                tag("label", {"for": "login_password"}, "Password"),
                tag(
                    "input",
                    {"type": "password", "id": "login_password", "name": "password"},
                    key="login_password",
                    at=(620, 330),
                ),
                tag(
                    "button",
                    {"type": "submit", "class": "btn btn-primary", "data-testid": "sign-in"},
                    "Sign in",
                    key="sign_in",
                    at=(620, 400),
                ),
            ),
        ),
        shop_footer(),
    ]


def play_browse(shop: SimulatedTab) -> None:
    _to_product(shop, PRODUCTS_BY_SLUG["rain-shell"])
    shop.scroll_to(300)
    shop.pause(2_000, 3_000)
    shop.nudge_mouse()


def play_browse_sale(shop: SimulatedTab) -> None:
    shop.open_page(f"{SHOP}/collections/sale", title="Sale", body=collection_body(0, "sale"))
    shop.pause(1_500, 2_500)
    shop.scroll_to(300)
    shop.pause(2_000, 3_000)
    shop.nudge_mouse()


def play_sign_in(shop: SimulatedTab) -> None:
    shop.open_page(f"{SHOP}/account/sign-in", title="Sign in", body=sign_in_body())
    shop.pause(1_000, 1_800)
    shop.click("login_email")
    shop.type_text("login_email", DISTINCT_ID, shown="<email>")
    shop.pause(300, 700)
    shop.click("login_password")
    shop.type_text("login_password", "correct horse", masked=True)
    shop.pause(300, 700)
    shop.click("sign_in")
    shop.fetch("/api/session", method="POST", status=200, low_ms=200, high_ms=400)
    shop.navigate(f"{SHOP}/", title="Northwind Outfitters", body=home_body(0, CATALOG[:8]))
    shop.pause(1_500, 2_500)
    shop.nudge_mouse()


def _rage_size_guide(shop: SimulatedTab) -> None:
    _to_product(shop, PRODUCTS_BY_SLUG["ridge-hiker"])
    shop.click("size")
    shop.choose("size", "9")
    shop.pause(800, 1_500)
    shop.click("size_guide")
    for _ in range(4):
        shop.pause(110, 200)
        shop.click_again("size_guide")
    shop.pause(3_000, 4_000)


def play_size_guide_then_cart(shop: SimulatedTab) -> None:
    _rage_size_guide(shop)
    _add_to_cart(shop)


def play_size_guide_then_leave(shop: SimulatedTab) -> None:
    _rage_size_guide(shop)
    shop.nudge_mouse()
    shop.pause(1_500, 2_500)


def _apply_code(shop: SimulatedTab) -> None:
    shop.click("discount")
    shop.type_text("discount", "FALL15")
    shop.pause(600, 1_200)
    shop.click("apply_discount")


def play_coupon_error(shop: SimulatedTab) -> None:
    """Checkout; the discount code's request fails with a 500, an error banner says the code
    could not be applied, and the visitor leaves without paying."""
    product = PRODUCTS_BY_SLUG["trail-runner-2"]
    _to_product(shop, product)
    _add_to_cart(shop)
    _to_checkout(shop, product)
    _apply_code(shop)
    shop.fetch("/api/discounts", method="POST", status=500, low_ms=300, high_ms=600)
    shop.pause(2, 10)
    shop.console_error(
        "Error: coupon service unavailable (500)",
        ["at applyDiscount (https://shop.example.com/assets/checkout.js:88:9)"],
    )
    shop.pause(10, 40)
    banner = tag(
        "div",
        {"class": "banner banner-error", "role": "alert"},
        "We could not apply your code. Please try again later.",
    )
    shop.mutate(adds=shop.dom.add(banner, parent="alerts"))
    shop.pause(4_000, 6_000)
    shop.nudge_mouse()
    shop.pause(1_500, 2_500)


def play_coupon_purchase(shop: SimulatedTab) -> None:
    """The same checkout two days later: the code applies and the order goes through."""
    product = PRODUCTS_BY_SLUG["trail-runner-2"]
    _to_product(shop, product)
    _add_to_cart(shop)
    _to_checkout(shop, product)
    _apply_code(shop)
    shop.fetch("/api/discounts", method="POST", status=200, low_ms=200, high_ms=400)
    shop.mutate(texts=[shop.dom.text_change("total", "Total: $109.65")])
    shop.pause(1_000, 2_000)
    _pay(shop, 201)
    _confirm(shop, "NW-21102")


def play_contact(shop: SimulatedTab) -> None:
    shop.open_page(f"{SHOP}/contact", title="Contact us", body=contact_body(0))
    shop.pause(3_000, 5_000)
    shop.nudge_mouse()


def play_track_order(shop: SimulatedTab) -> None:
    shop.open_page(f"{SHOP}/orders", title="Your orders", body=orders_body(0))
    shop.pause(1_500, 2_500)
    shop.click("track_package")
    shop.fetch("/api/tracking", method="GET", status=200, low_ms=200, high_ms=400)
    shop.mutate(adds=shop.dom.add(tag("p", {}, "Out for delivery"), parent="tracking"))
    shop.pause(2_000, 3_000)
    shop.nudge_mouse()


PLAYS: Final[dict[Kind, Callable[[SimulatedTab], None]]] = {
    "browse": play_browse,
    "sign_in": play_sign_in,
    "size_guide_then_cart": play_size_guide_then_cart,
    "browse_sale": play_browse_sale,
    "coupon_error": play_coupon_error,
    "contact": play_contact,
    "coupon_purchase": play_coupon_purchase,
    "track_order": play_track_order,
    "size_guide_then_leave": play_size_guide_then_leave,
}


def start_ms(index: int) -> int:
    days, hour, minute, _, _ = PLAN[index]
    moment = FIRST_DAY + timedelta(days=days, hours=hour, minutes=minute)
    return int(moment.timestamp() * 1000)


def generate(index: int) -> GeneratedSession:
    kind = PLAN[index][3]
    start = start_ms(index)
    rng = random.Random(f"recap-journey:{index}:{kind}")
    session_id = uuid7(start, rng)
    person = person_for(rng, start, DISTINCT_ID)
    # the person as PostHog shows them once identified: their distinct id first
    person = {**person, "distinct_ids": [DISTINCT_ID, *person["distinct_ids"][:-1]]}
    browser = SimulatedBrowser(rng, start)
    PLAYS[kind](browser.open_tab())
    end = browser.events[-1]["timestamp"] if browser.events else start
    truth = browser.truth.finish(session_id, start, end)
    return GeneratedSession(session_id, person, browser.events, truth)


# --- the summaries, as a good model writes them ---------------------------------------------

Action = tuple[EventMatch, str, list[str]]
Problem = tuple[str, EventMatch, str, str]


@dataclass(frozen=True)
class SummarySpec:
    title: str
    outcome: str
    success: bool
    key_actions: tuple[Action, ...] = ()
    issues: tuple[Problem, ...] = ()


_RAGE_ACTION: Final[Action] = (RAGE_SIZE_GUIDE, "Clicked Size guide again and again", [])
_RAGE_ISSUE: Final[Problem] = ("rage_click", RAGE_SIZE_GUIDE, "Size guide did not open", "medium")
SPECS: Final[dict[Kind, SummarySpec]] = {
    "browse": SummarySpec(
        "Looked at the Rain Shell Jacket",
        "Browsed the rain shell jacket.",
        True,
        ((EventMatch(EventKind.CLICK, text="Rain Shell"), "Opened the Rain Shell Jacket", []),),
    ),
    "sign_in": SummarySpec(
        "Signed in to the shop", "Signed in.", True, ((SIGN_IN, "Signed in", []),)
    ),
    "size_guide_then_cart": SummarySpec(
        "Size guide ignored, boots added to cart",
        "Added the Ridge Hiker boots to the cart after the size guide did not open.",
        True,
        (_RAGE_ACTION, (EventMatch(EventKind.CLICK, text="Add to cart"), "Added to cart", [])),
        (_RAGE_ISSUE,),
    ),
    "browse_sale": SummarySpec(
        "Browsed the sale", "Looked through the sale.", True, ((FIRST_PAGE, "Opened the sale", []),)
    ),
    "coupon_error": SummarySpec(
        "Discount code fails at checkout",
        "Could not apply the discount code and left checkout without paying.",
        False,
        ((APPLY_FAILED, "Applied the discount code FALL15", ["exception_blocking"]),),
        (("error", COUPON_ERROR, "The coupon service failed; the code was not applied", "high"),),
    ),
    "contact": SummarySpec(
        "Read the contact page",
        "Read the contact page.",
        True,
        ((FIRST_PAGE, "Opened the contact page", []),),
    ),
    "coupon_purchase": SummarySpec(
        "Bought trail runners with a discount code",
        "Bought the Trail Runner 2 with the discount code.",
        True,
        (
            (APPLY, "Applied FALL15; the total dropped", []),
            (PAY, "Paid for the order", []),
        ),
    ),
    "track_order": SummarySpec(
        "Tracked the order", "Saw the order is out for delivery.", True, ((TRACK, "Tracked", []),)
    ),
    "size_guide_then_leave": SummarySpec(
        "Size guide ignored again, left the boots",
        "Left the boots after the size guide did not open.",
        False,
        (_RAGE_ACTION,),
        (_RAGE_ISSUE,),
    ),
}


def ref_of(timeline: Timeline, match: EventMatch) -> str:
    refs = [event.ref for event in timeline.events if match.matches(event)]
    assert refs, f"no {match} in {timeline.session.session_id}"
    return refs[0]


def summarize(kind: Kind, timeline: Timeline) -> SessionSummary:
    spec = SPECS[kind]
    answer = ModelSummary.model_validate(
        {
            "title": spec.title,
            "segments": [],
            "key_actions": [
                {"ref": ref_of(timeline, match), "description": text, "flags": flags}
                for match, text, flags in spec.key_actions
            ],
            "issues": [
                {
                    "kind": issue_kind,
                    "ref": ref_of(timeline, match),
                    "description": text,
                    "severity": severity,
                }
                for issue_kind, match, text, severity in spec.issues
            ],
            "summary_outcome": {"description": spec.outcome, "success": spec.success},
        }
    )
    run = RunMetadata(
        model="m", prompt_version="p", timeline_hash="h", timeline_tokens=1, latency_ms=1
    )
    summary = gate(answer, timeline, run, focus_area=None)
    assert not summary.gate.dropped, summary.gate.dropped
    return summary


@dataclass(frozen=True)
class PersonSession:
    index: int
    kind: Kind
    timeline: Timeline
    summary: SessionSummary | None

    @property
    def session_id(self) -> str:
        return self.timeline.session.session_id

    @property
    def start_ms(self) -> int:
        return start_ms(self.index)

    def journey_input(self) -> JourneyInput:
        return JourneyInput(
            session_id=self.session_id,
            distinct_id=self.timeline.session.distinct_id,
            start_timestamp_ms=self.start_ms,
            summary=self.summary,
            timeline=self.timeline,
        )


def person_sessions(directory: Path) -> list[PersonSession]:
    """The twelve sessions in start order, compiled from recordings written to `directory`."""
    result = []
    for index, (_, _, _, kind, summarized) in enumerate(PLAN):
        path = generate(index).write_as(directory, "export")
        timeline = compile_timeline(load_recording_file(path))
        summary = summarize(kind, timeline) if summarized else None
        result.append(PersonSession(index, kind, timeline, summary))
    return result


def shuffled_inputs(sessions: Sequence[PersonSession]) -> list[JourneyInput]:
    """The sessions' journey inputs out of order, as a store listing may return them."""
    inputs = [session.journey_input() for session in sessions]
    random.Random(20).shuffle(inputs)
    return inputs


# --- the model double -----------------------------------------------------------------------

T = TypeVar("T", bound=BaseModel)
_EVENT = re.compile(r"^(e\d+) ")
_CITES = re.compile(r"\[([^\]]*)\]$")


@dataclass
class _Block:
    session_id: str
    outcome: str = ""
    events: list[tuple[str, str]] = field(default_factory=list)

    def find(self, *words: str) -> str | None:
        return next((ref for ref, line in self.events if all(w in line for w in words)), None)


def read_blocks(prompt: str) -> list[_Block]:
    """The session blocks of a prompt: id, outcome line and event lines, in order."""
    blocks: list[_Block] = []
    for line in prompt.splitlines():
        if line.startswith("## Session "):
            blocks.append(_Block(line.removeprefix("## Session ").strip()))
        elif blocks and line.startswith("Outcome: "):
            blocks[-1].outcome = line
        elif blocks and (found := _EVENT.match(line)):
            blocks[-1].events.append((found.group(1), line))
    return blocks


def _cite(session_id: str, ref: str) -> dict[str, str]:
    return {"session_id": session_id, "ref": ref}


def _cited(line: str) -> list[dict[str, str]]:
    found = _CITES.search(line)
    if not found:
        return []
    pairs = [item.strip().split(" ") for item in found.group(1).split(";") if item.strip()]
    return [_cite(session_id, ref) for session_id, ref in pairs]


@dataclass
class JourneyDouble:
    """Answers journey prompts from what they show, like a reading model; records them.

    Over sessions: the goal cites the first event shown and the payment where one is; the
    coupon error at checkout is a stuck point citing the failed Apply click and the console
    error, overcome where a later succeeded session shows the code applied and paid;
    rage clicks on Size guide are recurring friction; the current state cites the last
    event of the last session. Combining: the parts' statements merged, the overcome taken
    from a later part's payment, the goal and state citing the first and last sessions'
    blocks."""

    prompts: list[str] = field(default_factory=list)
    extra: Callable[[dict[str, Any]], None] | None = None
    """Edits each answer before it is returned (to plant wrong citations)."""

    async def __call__(self, prompt: str, schema: type[T], /) -> T:
        return schema.model_validate(self.answer(prompt))

    def answer(self, prompt: str) -> dict[str, Any]:
        """The answer to one user prompt, as JSON-ready data."""
        self.prompts.append(prompt)
        combining = "What each part found" in prompt
        answer = self._combine(prompt) if combining else self._read(read_blocks(prompt))
        if self.extra is not None:
            self.extra(answer)
        return answer

    @property
    def calls(self) -> int:
        return len(self.prompts)

    def _read(self, blocks: list[_Block]) -> dict[str, Any]:
        shown = [block for block in blocks if block.events]
        goal = [_cite(shown[0].session_id, shown[0].events[0][0])] if shown else []
        paid = [(b, ref) for b in shown if (ref := b.find("Pay now", "/orders/confirmed"))]
        goal += [_cite(block.session_id, ref) for block, ref in paid]
        stuck = []
        for index, block in enumerate(shown):
            apply = block.find("apply-discount", "error_after")
            if apply is None:
                continue
            cites = [_cite(block.session_id, apply)]
            if error := block.find("console_error", "coupon service"):
                cites.append(_cite(block.session_id, error))
            later = [
                (b, ref) for b, ref in paid if b in shown[index + 1 :] and "succeeded" in b.outcome
            ]
            overcome = None
            if later:
                done, ref = later[0]
                overcome = {
                    "session_id": done.session_id,
                    "ref": ref,
                    "description": "Applied the code and paid for the order",
                }
            stuck.append(
                {
                    "description": "Coupon error at checkout: the discount code was not applied",
                    "citations": cites,
                    "overcome": overcome,
                }
            )
        rage = [
            _cite(block.session_id, ref)
            for block in shown
            if (ref := block.find("Size guide", "rage"))
        ]
        friction = (
            [{"description": "The Size guide button does not respond", "citations": rage}]
            if rage
            else []
        )
        last = shown[-1] if shown else None
        state = [_cite(last.session_id, last.events[-1][0])] if last else []
        return {
            "goal": {
                "description": "Buy trail running shoes with a discount code; paid for them"
                if paid
                else "Shop for outdoor gear",
                "citations": goal,
            },
            "stuck_points": stuck,
            "recurring_friction": friction,
            "current_state": {"description": "Browsing the shop again", "citations": state},
        }

    def _combine(self, prompt: str) -> dict[str, Any]:
        lines = prompt.splitlines()
        parts: list[list[str]] = []
        for line in lines:
            if line.startswith("### Part "):
                parts.append([])
            elif parts and line.strip():
                parts[-1].append(line)
        blocks = [block for block in read_blocks(prompt) if block.events]
        goal = [_cite(blocks[0].session_id, blocks[0].events[0][0])] if blocks else []
        paid_by_part = [
            [
                cite
                for line in part
                if line.startswith("Goal:") and "paid" in line
                for cite in _cited(line)[1:]
            ]
            for part in parts
        ]
        goal += [cite for paid in paid_by_part for cite in paid]
        stuck = []
        friction: list[dict[str, str]] = []
        for number, part in enumerate(parts):
            for index, line in enumerate(part):
                if line.startswith("Friction:"):
                    friction += _cited(line)
                if not line.startswith("Stuck:"):
                    continue
                after = part[index + 1] if index + 1 < len(part) else ""
                overcome = None
                if after.startswith("  overcome:"):
                    (cite,) = _cited(after)
                    overcome = {**cite, "description": "Applied the code and paid"}
                else:
                    later = [cite for paid in paid_by_part[number + 1 :] for cite in paid]
                    if later:
                        overcome = {**later[0], "description": "Applied the code and paid"}
                description = line.removeprefix("Stuck: ")
                stuck.append(
                    {
                        "description": _CITES.sub("", description).strip(),
                        "citations": _cited(line),
                        "overcome": overcome,
                    }
                )
        state = [_cite(blocks[-1].session_id, blocks[-1].events[-1][0])] if blocks else []
        return {
            "goal": {
                "description": "Buy trail running shoes with a discount code",
                "citations": goal,
            },
            "stuck_points": stuck,
            "recurring_friction": [
                {"description": "The Size guide button does not respond", "citations": friction}
            ]
            if friction
            else [],
            "current_state": {"description": "Browsing the shop again", "citations": state},
        }


# --- small hand-made sessions, for unit tests -----------------------------------------------


def tiny_input(
    number: int, *, day: int, success: bool | None, flagged: bool = False
) -> JourneyInput:
    """Session `s{number:02d}` on FIRST_DAY + `day` at 10:00: a page, an Apply click (flagged
    error_after, followed by a console error, when `flagged`), and Pay now; summarized as a
    success or failure, or not at all when `success` is None."""
    session_id = f"s{number:02d}"
    start = int((FIRST_DAY + timedelta(days=day, hours=10)).timestamp() * 1000)
    checkout = f"{SHOP}/checkout"
    events = [
        TimelineEvent(ref="e1", t_ms=0, window="w1", kind=EventKind.NAVIGATION, url=checkout),
        TimelineEvent(
            ref="e2",
            t_ms=1_500,
            window="w1",
            kind=EventKind.CLICK,
            target='button[apply-discount] "Apply"',
            url=checkout,
            flags=["error_after"] if flagged else [],
        ),
        TimelineEvent(
            ref="e3",
            t_ms=1_700,
            window="w1",
            kind=EventKind.CONSOLE_ERROR if flagged else EventKind.SCROLL,
            value="coupon service unavailable" if flagged else "300",
            url=checkout,
        ),
        TimelineEvent(
            ref="e4",
            t_ms=9_000,
            window="w1",
            kind=EventKind.SUBMIT,
            target='button[pay-now] "Pay now"',
            url=checkout,
        ),
    ]
    timeline = Timeline(
        session=SessionInfo(
            session_id=session_id,
            start_timestamp_ms=start,
            duration_ms=10_000 + number * 1_000,
            start_url=checkout,
            distinct_id=DISTINCT_ID,
        ),
        events=events,
        stats=TimelineStats(clicks=1, navigations=1, console_errors=int(flagged)),
    )
    summary = None
    if success is not None:
        answer = ModelSummary.model_validate(
            {
                "title": f"Checkout {number}",
                "segments": [],
                "key_actions": [
                    {"ref": "e2", "description": "Applied a code", "flags": []},
                    {"ref": "e4", "description": "Clicked Pay now", "flags": []},
                ],
                "issues": [],
                "summary_outcome": {
                    "description": "Paid." if success else "Did not pay.",
                    "success": success,
                },
            }
        )
        run = RunMetadata(
            model="m", prompt_version="p", timeline_hash="h", timeline_tokens=1, latency_ms=1
        )
        summary = gate(answer, timeline, run, focus_area=None)
    return JourneyInput(
        session_id=session_id,
        distinct_id=DISTINCT_ID,
        start_timestamp_ms=start,
        summary=summary,
        timeline=timeline,
    )
