"""What really happened in a generated recording: the answers a compiled timeline is graded on.

The simulated browser writes these facts down while it emits the rrweb events, so the
truth and the recording cannot drift apart. Signals (rage, dead, …) are placed on purpose
by the scripts that play a visit, never inferred from the events afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

Signal = Literal["rage", "dead", "slow", "error_after", "error_shown", "thrash", "abandoned"]
ActionKind = Literal["click", "input", "submit", "navigation"]
SpanKind = Literal["idle", "paused", "offline"]

SIGNALS: Final[frozenset[Signal]] = frozenset(
    {"rage", "dead", "slow", "error_after", "error_shown", "thrash", "abandoned"}
)
MASKED_VALUE: Final = "***"
CHECKED: Final = "checked"


@dataclass(slots=True)
class TruthAction:
    """One thing the user did, as a person watching the replay would describe it.

    `timestamp_ms` is the epoch ms of the rrweb event: the click, the last keystroke of a
    typing burst, the Meta or `$url_changed` of a navigation. For inputs `started_ms` is
    the first keystroke, so a compiler may place the input anywhere in between.
    """

    kind: ActionKind
    window_id: str
    timestamp_ms: int
    started_ms: int
    label: str | None = None
    """The visible text a person reads: button text, link text, the field's <label>."""
    value: str | None = None
    """The final value typed or chosen; None when rrweb masked it, or not an input."""
    shown: str | None = None
    """What the timeline should show for an input: the value, `***`, `<email>`, `checked`."""
    url: str | None = None
    """For navigations the new URL, otherwise the page the action happened on."""
    signals: set[Signal] = field(default_factory=set)
    focus_only: bool = False
    """A click into a field the user then typed into or chose from, nothing in between:
    the input says everything the click does, so a timeline may fold the click into it."""

    def flag(self, *signals: Signal) -> TruthAction:
        self.signals.update(signals)
        return self


@dataclass(frozen=True, slots=True)
class TruthConsoleError:
    window_id: str
    timestamp_ms: int
    message: str


@dataclass(frozen=True, slots=True)
class TruthNetworkFailure:
    """A request that got a status >= 400, or none at all (status 0)."""

    window_id: str
    timestamp_ms: int
    """When the network plugin reported it (after the response, or the failure)."""
    started_ms: int
    method: str | None
    """None when the recording does not say (the legacy `posthog/network@1` plugin)."""
    url: str
    path: str
    status: int
    plugin: str


@dataclass(frozen=True, slots=True)
class TruthSlowRequest:
    window_id: str
    timestamp_ms: int
    started_ms: int
    method: str
    path: str
    status: int
    duration_ms: int


@dataclass(frozen=True, slots=True)
class TruthSpan:
    """A stretch of the session: the user idle, the recording paused, the browser offline."""

    kind: SpanKind
    window_id: str
    start_ms: int
    end_ms: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


@dataclass(frozen=True, slots=True)
class TruthTabSwitch:
    """The user brought a tab to the front; `opened` when it is a tab they just opened."""

    timestamp_ms: int
    from_window: str
    to_window: str
    opened: bool = False


@dataclass(slots=True)
class TruthCounts:
    """Totals, enough to compute recall on recordings too large to list every action."""

    clicks: int = 0
    """rrweb clicks the user made on purpose, submit-button clicks included."""
    submits: int = 0
    inputs: int = 0
    toggles: int = 0
    """Inputs made by clicking a checkbox or radio: a compiler may keep that click too."""
    focus_clicks: int = 0
    """Clicks (counted in `clicks`) that only focused a field for the input that followed."""
    navigations: int = 0
    console_errors: int = 0
    network_failures: int = 0
    slow_requests: int = 0
    windows: int = 0
    signals: dict[str, int] = field(default_factory=dict)

    def count_action(self, action: TruthAction) -> None:
        if action.kind in ("click", "submit"):
            self.clicks += 1
            if action.kind == "submit":
                self.submits += 1
        elif action.kind == "input":
            self.inputs += 1
            if action.shown == CHECKED:
                self.toggles += 1
        else:
            self.navigations += 1


@dataclass(slots=True)
class GroundTruth:
    """Everything a correct timeline of one generated recording must show."""

    session_id: str
    start_ms: int
    end_ms: int
    windows: list[str]
    """Window ids in order of first appearance, as the timeline numbers them w1, w2, …"""
    actions: list[TruthAction]
    console_errors: list[TruthConsoleError]
    network_failures: list[TruthNetworkFailure]
    slow_requests: list[TruthSlowRequest]
    spans: list[TruthSpan]
    tab_switches: list[TruthTabSwitch]
    counts: TruthCounts

    def of_kind(self, *kinds: ActionKind) -> list[TruthAction]:
        return [action for action in self.actions if action.kind in kinds]

    @property
    def navigation_urls(self) -> list[str]:
        return [a.url for a in self.actions if a.kind == "navigation" and a.url is not None]

    def spans_of(self, kind: SpanKind) -> list[TruthSpan]:
        return [span for span in self.spans if span.kind == kind]

    def window_label(self, window_id: str) -> str:
        """`w1`, `w2`, … the label a timeline gives this window."""
        return f"w{self.windows.index(window_id) + 1}"


class TruthLog:
    """Collects the truth while a simulation runs; `finish` freezes it.

    With `keep_details=False` (recordings of hundreds of megabytes) only the counts are
    kept; actions are still returned so scripts can flag them.
    """

    def __init__(self, *, keep_details: bool = True) -> None:
        self.keep_details = keep_details
        self.counts = TruthCounts()
        self._actions: list[TruthAction] = []
        self._console: list[TruthConsoleError] = []
        self._failures: list[TruthNetworkFailure] = []
        self._slow: list[TruthSlowRequest] = []
        self._spans: list[TruthSpan] = []
        self._switches: list[TruthTabSwitch] = []
        self._windows: list[str] = []

    def window(self, window_id: str) -> None:
        if window_id not in self._windows:
            self._windows.append(window_id)
            self.counts.windows += 1

    def action(self, action: TruthAction) -> TruthAction:
        self.counts.count_action(action)
        if self.keep_details:
            self._actions.append(action)
        return action

    def focus_only(self, click: TruthAction) -> None:
        """Mark a click as one that only focused the field the next input went into."""
        if not click.focus_only:
            click.focus_only = True
            self.counts.focus_clicks += 1

    def console_error(self, error: TruthConsoleError) -> None:
        self.counts.console_errors += 1
        if self.keep_details:
            self._console.append(error)

    def network_failure(self, failure: TruthNetworkFailure) -> None:
        self.counts.network_failures += 1
        if self.keep_details:
            self._failures.append(failure)

    def slow_request(self, request: TruthSlowRequest) -> None:
        self.counts.slow_requests += 1
        if self.keep_details:
            self._slow.append(request)

    def span(self, span: TruthSpan) -> None:
        if self.keep_details:
            self._spans.append(span)

    def tab_switch(self, switch: TruthTabSwitch) -> None:
        if self.keep_details:
            self._switches.append(switch)

    def finish(self, session_id: str, start_ms: int, end_ms: int) -> GroundTruth:
        self.counts.signals = _signal_counts(self._actions)
        return GroundTruth(
            session_id=session_id,
            start_ms=start_ms,
            end_ms=end_ms,
            windows=list(self._windows),
            actions=sorted(self._actions, key=lambda a: a.timestamp_ms),
            console_errors=list(self._console),
            network_failures=list(self._failures),
            slow_requests=list(self._slow),
            spans=list(self._spans),
            tab_switches=list(self._switches),
            counts=self.counts,
        )


def _signal_counts(actions: Iterable[TruthAction]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for action in actions:
        for signal in action.signals:
            counts[signal] = counts.get(signal, 0) + 1
    return dict(sorted(counts.items()))
