"""Labelled sessions for pattern reports, and a model double that answers the pattern steps.

`report_cases` generates shop sessions with known labels (checkout fails with the same
console error; a dead "Apply" coupon button rage-clicked; a plain purchase), compiles them
and gives each a gated summary citing the events a good summary cites. `PatternDouble`
answers map, reduce and assign requests from what their prompts contain, the way a model
that reads them would, and can invent a pattern whose examples do not exist.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal

from recap.demo.generator import DEFAULT_START_MS, SimulatedBrowser, SimulatedTab, uuid7
from recap.demo.labelled import EventMatch, labelled_sessions
from recap.demo.recordings import GeneratedSession, person_for
from recap.demo.shop import BUSY, PRODUCTS_BY_SLUG, SHOP, checkout_body, confirmation_body
from recap.llm.gate import gate
from recap.llm.schema import ModelSummary, RunMetadata, SessionSummary
from recap.services.summary import current_prompt_version
from recap.sources.files import load_recording_file
from recap.store.repository import SummaryStore
from recap.timeline import compile_timeline, count_tokens, render_timeline, timeline_hash
from recap.timeline.models import EventKind, Timeline
from tests.support.model_double import ChatServer, Reply, completion_body, grounded_reply

Label = Literal["checkout_error", "dead_coupon", "fine"]
HOUR_MS: Final = 3_600_000

PAY_FAILED = EventMatch(EventKind.SUBMIT, flag="error_after", text="Pay now")
CONSOLE_ERROR = EventMatch(EventKind.CONSOLE_ERROR, text="payment service unavailable")
RAGE_APPLY = EventMatch(EventKind.CLICK, flag="rage", text="apply-discount")
PAY = EventMatch(EventKind.SUBMIT, text="Pay now")

CHECKOUT_PATTERN: Final = "Payment fails at checkout with a server error"
COUPON_PATTERN: Final = "Apply coupon button does not respond"
INVENTED_PATTERN: Final = "Size chart missing on product pages"


def play_dead_coupon(shop: SimulatedTab) -> None:
    """Checkout with a discount code whose Apply button does nothing: clicked five times
    fast, then the visitor pays anyway and the order goes through."""
    product = PRODUCTS_BY_SLUG["canvas-tote"]
    shop.open_page(f"{SHOP}/checkout", title="Checkout", body=checkout_body(1, product.price))
    shop.pause(1_000, 1_800)
    shop.click("email")
    shop.type_text("email", "sam.lee@example.com", shown="<email>")
    shop.pause(300, 700)
    shop.click("discount")
    shop.type_text("discount", "SPRING10")
    shop.pause(600, 1_200)
    shop.click("apply_discount")
    for _ in range(4):
        shop.pause(110, 200)
        shop.click_again("apply_discount")
    shop.pause(3_000, 4_000)
    shop.click("pay_now")
    shop.pause(5, 20)
    shop.mutate(attributes=[shop.dom.attribute_change("pay_now", BUSY)])
    shop.fetch("/api/payments", method="POST", status=201, low_ms=350, high_ms=700)
    shop.navigate(f"{SHOP}/orders/confirmed", title="Thank you", body=confirmation_body(0, "NW-1"))
    shop.pause(2_000, 3_500)
    shop.nudge_mouse()


def _dead_coupon_session(seed: int, start_ms: int) -> GeneratedSession:
    rng = random.Random(f"recap-report:dead_coupon:{seed}")
    session_id = uuid7(start_ms, rng)
    person = person_for(rng, start_ms)
    browser = SimulatedBrowser(rng, start_ms)
    play_dead_coupon(browser.open_tab())
    end_ms = browser.events[-1]["timestamp"] if browser.events else start_ms
    return GeneratedSession(
        session_id, person, browser.events, browser.truth.finish(session_id, start_ms, end_ms)
    )


def _generated(label: Label, seed: int, start_ms: int) -> GeneratedSession:
    if label == "dead_coupon":
        return _dead_coupon_session(seed, start_ms)
    name = "failed_checkout" if label == "checkout_error" else "purchase"
    (labelled,) = labelled_sessions(seed, names=[name], start_ms=start_ms)
    return labelled.session


def _ref(timeline: Timeline, match: EventMatch) -> str:
    refs = [event.ref for event in timeline.events if match.matches(event)]
    assert refs, f"no {match} in {timeline.session.session_id}"
    return refs[0]


def summarize_case(label: Label, timeline: Timeline) -> tuple[SessionSummary, tuple[str, ...]]:
    """A gated summary as a good model writes it, and the refs that show the problem."""
    if label == "checkout_error":
        pay, error = _ref(timeline, PAY_FAILED), _ref(timeline, CONSOLE_ERROR)
        key_actions = [
            {"ref": pay, "description": "Clicked Pay now", "flags": ["exception_blocking"]}
        ]
        issues = [
            {"kind": "error", "ref": error, "description": "Payment failed", "severity": "high"}
        ]
        outcome, problem = {"description": "The payment failed.", "success": False}, (pay, error)
    elif label == "dead_coupon":
        rage, pay = _ref(timeline, RAGE_APPLY), _ref(timeline, PAY)
        key_actions = [
            {"ref": rage, "description": "Clicked Apply again and again", "flags": []},
            {"ref": pay, "description": "Paid for the order", "flags": []},
        ]
        issues = [
            {
                "kind": "rage_click",
                "ref": rage,
                "description": "Apply ignored",
                "severity": "medium",
            }
        ]
        outcome, problem = {"description": "Bought the tote bag.", "success": True}, (rage,)
    else:
        pay = _ref(timeline, PAY)
        key_actions = [{"ref": pay, "description": "Paid for the order", "flags": []}]
        issues = []
        outcome, problem = {"description": "Bought the tote bag.", "success": True}, ()
    answer = ModelSummary.model_validate(
        {
            "title": "Checkout",
            "segments": [],
            "key_actions": key_actions,
            "issues": issues,
            "summary_outcome": outcome,
        }
    )
    run = RunMetadata(
        model="m", prompt_version="p", timeline_hash="h", timeline_tokens=1, latency_ms=1
    )
    return gate(answer, timeline, run, focus_area=None), problem


@dataclass(frozen=True)
class ReportCase:
    label: Label
    timeline: Timeline
    summary: SessionSummary
    problem_refs: tuple[str, ...]
    """The refs that show the label's problem (what the double assigns)."""

    @property
    def session_id(self) -> str:
        return self.timeline.session.session_id

    @property
    def failed(self) -> bool:
        return not self.summary.summary_outcome.success


def labels(failed: int = 12, coupon: int = 9, fine: int = 19) -> list[Label]:
    """The labels in a fixed shuffled order, so every chunk mixes them."""
    result: list[Label] = ["checkout_error"] * failed + ["dead_coupon"] * coupon + ["fine"] * fine
    random.Random(18).shuffle(result)
    return result


def report_cases(directory: Path, wanted: Sequence[Label]) -> list[ReportCase]:
    """One compiled, summarized session per label, an hour apart."""
    cases = []
    for index, label in enumerate(wanted):
        session = _generated(label, index, DEFAULT_START_MS + index * HOUR_MS)
        timeline = compile_timeline(load_recording_file(session.write_as(directory, "blob_v2")))
        summary, problem = summarize_case(label, timeline)
        cases.append(ReportCase(label, timeline, summary, problem))
    return cases


def copies(cases: Sequence[ReportCase], count: int) -> list[ReportCase]:
    """`count` sessions cycling through `cases`, each with its own id and start time (the
    events and refs stay those of the original)."""
    result = []
    for index in range(count):
        case = cases[index % len(cases)]
        session_id = f"{case.session_id[:24]}{index:012x}"
        info = replace(
            case.timeline.session,
            session_id=session_id,
            start_timestamp_ms=DEFAULT_START_MS + index * 60_000,
        )
        timeline = replace(case.timeline, session=info)
        summary, problem = summarize_case(case.label, timeline)
        result.append(ReportCase(case.label, timeline, summary, problem))
    return result


# --- the model double's answers -------------------------------------------------------------

_EVENT_LINE = re.compile(r"^(e\d+) ")
_PATTERN_LINE = re.compile(r"^(p\d+) \[(\w+)\] (.+)$")


def _prompt(body: dict[str, Any]) -> str:
    return "\n".join(
        str(message.get("content", ""))
        for message in body.get("messages", [])
        if message.get("role") == "user"
    )


def _answer(payload: dict[str, Any]) -> Reply:
    return Reply(body=completion_body(json.dumps(payload)))


@dataclass
class PatternDouble:
    """Answers the three pattern steps from their prompts; counts the requests per step.

    Map: the checkout error where a prompt shows the payment console error, the dead coupon
    button where it shows a rage click on Apply (worded differently from chunk to chunk,
    as models do), and the invented pattern. Reduce: the three, merged. Assign: each
    session's problem refs for the real patterns; for the invented one, a ref that does not
    exist and one the summary never cites."""

    invent: bool = True
    calls: Counter[str] = field(default_factory=Counter)
    candidates_seen: list[int] = field(default_factory=list)

    def __call__(self, body: dict[str, Any]) -> Reply:
        step = body["response_format"]["json_schema"]["name"]
        self.calls[step] += 1
        prompt = _prompt(body)
        if step == "report_patterns":
            return _answer({"patterns": self._map(prompt)})
        if step == "report_consolidate":
            return _answer({"patterns": self._reduce(prompt)})
        if step == "report_assign":
            return _answer({"examples": self._assign(prompt)})
        raise AssertionError(f"unexpected step {step}")

    def _map(self, prompt: str) -> list[dict[str, Any]]:
        odd = self.calls["report_patterns"] % 2
        found = []
        if "payment service unavailable" in prompt:
            name = "Checkout payment error" if odd else "Payment fails at checkout"
            found.append(_pattern(name, "critical", ["payment service unavailable"]))
        if any("apply-discount" in line and "rage" in line for line in prompt.splitlines()):
            name = "Dead Apply coupon button" if odd else "Apply button ignores clicks"
            found.append(_pattern(name, "medium", ["rage clicks on Apply"]))
        if self.invent:
            found.append(_pattern(INVENTED_PATTERN, "high", ["size chart"]))
        return found

    def _reduce(self, prompt: str) -> list[dict[str, Any]]:
        names = [line for line in prompt.splitlines() if re.match(r"^c\d+ \[", line)]
        self.candidates_seen.append(len(names))
        merged = []
        if any("payment" in line.lower() for line in names):
            merged.append(_pattern(CHECKOUT_PATTERN, "critical", ["payment service unavailable"]))
        if any("apply" in line.lower() for line in names):
            merged.append(_pattern(COUPON_PATTERN, "medium", ["rage clicks on Apply"]))
        if any("size chart" in line.lower() for line in names):
            merged.append(_pattern(INVENTED_PATTERN, "high", ["size chart"]))
        return merged

    def _assign(self, prompt: str) -> list[dict[str, Any]]:
        ids: dict[str, str] = {}
        sessions: dict[str, list[str]] = {}
        current: list[str] = []
        for line in prompt.splitlines():
            if found := _PATTERN_LINE.match(line):
                ids[found.group(3)] = found.group(1)
            elif line.startswith("## Session "):
                current = sessions.setdefault(line.removeprefix("## Session ").strip(), [])
            elif _EVENT_LINE.match(line):
                current.append(line)
        examples = []
        for session_id, lines in sessions.items():
            for line in lines:
                ref = line.split(" ", 1)[0]
                if CHECKOUT_PATTERN in ids and (
                    "payment service unavailable" in line or "[error_after" in line
                ):
                    examples.append(_example(ids[CHECKOUT_PATTERN], session_id, ref))
                if COUPON_PATTERN in ids and "apply-discount" in line and "rage" in line:
                    examples.append(_example(ids[COUPON_PATTERN], session_id, ref))
        if INVENTED_PATTERN in ids:
            invented = ids[INVENTED_PATTERN]
            for session_id, ref in zip(sessions, ("e999", "e1"), strict=False):
                examples.append(_example(invented, session_id, ref))
        return examples


def _pattern(name: str, severity: str, indicators: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"{name}.",
        "severity": severity,
        "indicators": indicators,
    }


def _example(pattern_id: str, session_id: str, ref: str) -> dict[str, str]:
    return {
        "pattern_id": pattern_id,
        "session_id": session_id,
        "ref": ref,
        "description": "Shows it.",
    }


@contextmanager
def answering_reports(model: ChatServer) -> Iterator[PatternDouble]:
    """`model` answers the pattern steps as a `PatternDouble` and summaries as
    `grounded_reply`, until the block ends (then summaries only, as the API stack's)."""
    double = PatternDouble()

    def responder(body: dict[str, Any]) -> Reply:
        step = body.get("response_format", {}).get("json_schema", {}).get("name", "")
        return double(body) if step.startswith("report_") else grounded_reply(body)

    model.responder = responder
    try:
        yield double
    finally:
        model.responder = grounded_reply


def labelled_summary(label: Label, timeline: Timeline, digest: str) -> SessionSummary:
    """The labelled summary, with the run metadata the stored timeline and prompt give."""
    summary, _ = summarize_case(label, timeline)
    run = summary.run.model_copy(
        update={"timeline_hash": digest, "prompt_version": current_prompt_version()}
    )
    return summary.model_copy(update={"run": run})


def store_summaries(store: SummaryStore, team: str, cases: list[ReportCase]) -> None:
    """What earlier summaries left in the store: each timeline and its labelled summary."""
    for case in cases:
        text = render_timeline(case.timeline)
        digest = timeline_hash(case.timeline)
        store.save_timeline(
            team_id=team,
            timeline_hash=digest,
            timeline=case.timeline,
            text=text,
            tokens=count_tokens(text),
        )
        store.save_summary(
            team_id=team, summary=labelled_summary(case.label, case.timeline, digest)
        )
