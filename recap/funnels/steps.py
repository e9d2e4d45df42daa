"""Funnel steps: parsed from the specs the CLI takes, checked against compiled timelines in
order, and the split of sessions at each step into those who went on and those who stopped.

`url:/order/*/confirmation` (a glob on the URL path; `*` stays within one segment),
`click:"Checkout"` (the clicked element's name, case-insensitive and exact),
`click:[checkout-btn]` (its test id), `event:signup_started` (a custom event) and
`outcome:success|failure` (the session's stored summary outcome).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

from recap.funnels.models import (
    FunnelSession,
    FunnelStep,
    SessionPath,
    StepKind,
    StepReach,
    StepSplit,
)
from recap.timeline.models import EventKind, TimelineEvent

_CLICK_KINDS: Final = frozenset({EventKind.CLICK, EventKind.SUBMIT})
_OUTCOMES: Final = {"success": True, "failure": False}
# A target reads `role "name"`, `role[test-id] "name"` or `role:type "name"`: the name is a
# JSON string literal at the end, the test id sits in the first brackets.
_TARGET_NAME: Final = re.compile(r'"(?:[^"\\]|\\.)*"$')
_TARGET_TEST_ID: Final = re.compile(r"^[\w-]*\[([^\]]+)\]")
_SPEC_HELP: Final = (
    'write url:/path/* , click:"Label" , click:[test-id] , event:NAME or outcome:success|failure'
)


class FunnelStepError(ValueError):
    """A step spec that cannot be parsed; the message says what to write instead."""


def parse_step(spec: str) -> FunnelStep:
    """One step from its spec; raises `FunnelStepError` with what is wrong."""
    kind_text, sep, rest = spec.strip().partition(":")
    rest = rest.strip()
    if not sep or not rest:
        raise FunnelStepError(f"funnel step {spec!r} has no kind or no value; {_SPEC_HELP}")
    try:
        kind = StepKind(kind_text.strip().lower())
    except ValueError:
        raise FunnelStepError(
            f"funnel step {spec!r}: unknown kind {kind_text!r}; {_SPEC_HELP}"
        ) from None
    if kind is StepKind.URL:
        return FunnelStep(spec=spec, kind=kind, pattern=_url_pattern(spec, rest))
    if kind is StepKind.CLICK:
        return _click_step(spec, rest)
    if kind is StepKind.EVENT:
        return FunnelStep(spec=spec, kind=kind, pattern=rest)
    outcome = rest.lower()
    if outcome not in _OUTCOMES:
        raise FunnelStepError(
            f"funnel step {spec!r}: an outcome is success or failure, not {rest!r}"
        )
    return FunnelStep(spec=spec, kind=kind, pattern=outcome)


def parse_steps(specs: Sequence[str]) -> list[FunnelStep]:
    """The steps in order; a funnel needs at least two."""
    if len(specs) < 2:
        raise FunnelStepError(f"a funnel needs at least two steps, got {len(specs)}")
    return [parse_step(spec) for spec in specs]


def _url_pattern(spec: str, text: str) -> str:
    if "://" in text:
        raise FunnelStepError(
            f"funnel step {spec!r}: give the URL path only (url:/cart), not the full URL"
        )
    if not text.startswith("/"):
        raise FunnelStepError(f"funnel step {spec!r}: a URL path starts with / (url:/cart)")
    return _normalize_path(text)


def _click_step(spec: str, text: str) -> FunnelStep:
    if text.startswith("[") and text.endswith("]") and len(text) > 2:
        return FunnelStep(spec=spec, kind=StepKind.CLICK, pattern=text[1:-1], by_test_id=True)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        label = text[1:-1].strip()
        if label:
            return FunnelStep(spec=spec, kind=StepKind.CLICK, pattern=label)
    raise FunnelStepError(
        f'funnel step {spec!r}: quote the label (click:"Checkout") or bracket the test id'
        " (click:[checkout-btn])"
    )


def _normalize_path(path: str) -> str:
    path = path.split("#", 1)[0].split("?", 1)[0]
    return "/" + "/".join(segment for segment in path.split("/") if segment)


def _glob(pattern: str) -> re.Pattern[str]:
    parts = (re.escape(part) for part in pattern.split("*"))
    return re.compile("[^/]*".join(parts) + r"\Z")


def url_path(url: str) -> str:
    """`/order/7/confirmation` of `https://shop.example/order/7/confirmation/?x=1`."""
    return _normalize_path(urlsplit(url).path if "://" in url else url)


def target_name(target: str | None) -> str | None:
    """The accessible name in a target label: `Checkout` of `button[checkout] "Checkout"`."""
    if not target:
        return None
    found = _TARGET_NAME.search(target)
    if found is None:
        return None
    try:
        name = json.loads(found.group(0))
    except ValueError:
        return found.group(0)[1:-1]
    return name if isinstance(name, str) else None


def target_test_id(target: str | None) -> str | None:
    """The test id in a target label: `checkout` of `button[checkout] "Checkout"`."""
    found = _TARGET_TEST_ID.match(target or "")
    return found.group(1) if found else None


class StepMatcher:
    """Whether one timeline event reaches one (event-based) step."""

    def __init__(self, step: FunnelStep) -> None:
        self.step = step
        self._glob = _glob(step.pattern) if step.kind is StepKind.URL else None
        self._label = step.pattern.casefold()

    def matches(self, event: TimelineEvent) -> bool:
        kind = self.step.kind
        if kind is StepKind.URL:
            assert self._glob is not None
            return (
                event.kind is EventKind.NAVIGATION
                and event.url is not None
                and self._glob.match(url_path(event.url)) is not None
            )
        if kind is StepKind.CLICK:
            if event.kind not in _CLICK_KINDS:
                return False
            if self.step.by_test_id:
                return target_test_id(event.target) == self.step.pattern
            name = target_name(event.target)
            return name is not None and name.strip().casefold() == self._label
        if kind is StepKind.EVENT:
            return event.kind is EventKind.CUSTOM and event.target == self.step.pattern
        return False


def session_path(session: FunnelSession, steps: Sequence[FunnelStep]) -> SessionPath:
    """How far one session got: each step reached at the first matching event after the
    previous step's event; an outcome step is reached when the outcome matches."""
    events = session.timeline.events
    reached: list[StepReach] = []
    position = -1  # index of the event the last event-based step was reached at
    for number, step in enumerate(steps, start=1):
        if step.kind is StepKind.OUTCOME:
            if session.outcome is None:
                return SessionPath(
                    session_id=session.session_id, reached=reached, unknown_at=number
                )
            if session.outcome != _OUTCOMES[step.pattern]:
                break
            reached.append(StepReach(ref=None, t_ms=None))
            continue
        matcher = StepMatcher(step)
        found = next(
            (i for i in range(position + 1, len(events)) if matcher.matches(events[i])), None
        )
        if found is None:
            break
        position = found
        reached.append(StepReach(ref=events[found].ref, t_ms=events[found].t_ms))
    return SessionPath(session_id=session.session_id, reached=reached)


def split_sessions(paths: Sequence[SessionPath], steps: Sequence[FunnelStep]) -> list[StepSplit]:
    """For each step k >= 2: of the sessions that reached step k-1, who went on, who stopped
    and whose outcome at k could not be checked."""
    splits = []
    for number in range(2, len(steps) + 1):
        previous = [p for p in paths if len(p.reached) >= number - 1]
        went_on = [p.session_id for p in previous if len(p.reached) >= number]
        unknown = [p.session_id for p in previous if p.unknown_at == number]
        stopped = [
            p.session_id for p in previous if len(p.reached) == number - 1 and p.unknown_at is None
        ]
        splits.append(
            StepSplit(
                step=number,
                spec=steps[number - 1].spec,
                reached_previous=len(previous),
                went_on=len(went_on),
                stopped=len(stopped),
                unknown=len(unknown),
                went_on_ids=went_on,
                stopped_ids=stopped,
            )
        )
    return splits
