"""The sessions list's filters: read from the query string (`parse_filters`), matched against
a recording's stored summary (`SessionFilters.matches`), and written back into the pager's
links (`SessionFilters.query_string`).

A recording's signals are what code counted in the compiled timeline its summary was
written from (rage, dead and slow clicks; console errors, exceptions and failed requests),
never the model's words, and whether or not the summary mentions them. An unsummarized
recording has no known signals yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal, get_args
from urllib.parse import urlencode

from recap.api.errors import ApiProblem
from recap.api.recording_filters import RecordingFilters, recording_filters
from recap.store.repository import SignalCounts, StoredSummary

Outcome = Literal["success", "failure"]
Signal = Literal["rage", "dead", "error", "slow"]
# In the order the form and the rows show them.
SIGNALS: Final[tuple[Signal, ...]] = get_args(Signal)
SIGNAL_LABELS: Final[dict[Signal, str]] = {
    "rage": "Rage clicks",
    "dead": "Dead clicks",
    "error": "Errors (console, network)",
    "slow": "Slow responses",
}
SEARCH_MAX: Final = 200
_SUMMARIZED: Final[dict[str, bool]] = {"yes": True, "no": False}


@dataclass(frozen=True)
class FilterProblem:
    """A query value the list cannot filter by: which field, and what to do about it."""

    name: str
    message: str


@dataclass(frozen=True)
class SessionFilters:
    """What the list is narrowed to. `date_from`/`date_to` are the dates as typed; `dates`
    holds their instants (UTC), as the catalog's listing reads them."""

    outcome: Outcome | None = None
    summarized: bool | None = None
    signals: frozenset[Signal] = frozenset()
    date_from: str | None = None
    date_to: str | None = None
    q: str | None = None
    dates: RecordingFilters = field(default_factory=RecordingFilters)

    @property
    def active(self) -> bool:
        return bool(
            self.outcome
            or self.summarized is not None
            or self.signals
            or self.date_from
            or self.date_to
            or self.q
        )

    def matches(
        self,
        session_id: str,
        stored: StoredSummary | None,
        signals: frozenset[Signal] = frozenset(),
    ) -> bool:
        """Whether the recording (with its `signals`) passes every filter but the dates
        (which need the recording's metadata and are the catalog's)."""
        summary = stored.summary if stored is not None and stored.has_summary else None
        if self.summarized is not None and (summary is not None) != self.summarized:
            return False
        if self.outcome is not None:
            outcome = stored.summary_outcome if stored is not None else None
            if outcome is None or outcome.success != (self.outcome == "success"):
                return False
        if self.signals and not self.signals <= signals:
            return False
        if self.q:
            needle = self.q.casefold()
            texts = [session_id]
            if summary is not None:
                texts.append(summary.title)
            if stored is not None and stored.summary_outcome is not None:
                texts.append(stored.summary_outcome.description)
            return any(needle in text.casefold() for text in texts)
        return True

    def query_string(self, page: int = 1) -> str:
        """The filters and `page` as the list's query string (urlencoded, no `?`); page 1
        and filters left at "any" are left out."""
        pairs: list[tuple[str, str]] = []
        if self.q:
            pairs.append(("q", self.q))
        if self.outcome:
            pairs.append(("outcome", self.outcome))
        if self.summarized is not None:
            pairs.append(("summarized", "yes" if self.summarized else "no"))
        pairs.extend(("signal", signal) for signal in SIGNALS if signal in self.signals)
        if self.date_from:
            pairs.append(("date_from", self.date_from))
        if self.date_to:
            pairs.append(("date_to", self.date_to))
        if page > 1:
            pairs.append(("page", str(page)))
        return urlencode(pairs)


def signals_of(counts: SignalCounts | None) -> frozenset[Signal]:
    """The signals of a recording's counts; none when nothing was counted."""
    if counts is None:
        return frozenset()
    present = {
        "rage": counts.rage,
        "dead": counts.dead,
        "error": counts.errors,
        "slow": counts.slow,
    }
    return frozenset(signal for signal in SIGNALS if present[signal] > 0)


def _choice(values: list[str]) -> str:
    """The value of a single-choice field: the last one sent, as a form sends one."""
    return values[-1].strip() if values else ""


def parse_filters(
    pairs: Iterable[tuple[str, str]], *, now: datetime
) -> tuple[SessionFilters, list[FilterProblem]]:
    """The filters of the query string's `pairs`, and a problem for each value that is not
    one the list understands; such a value is left out of the filters."""
    given: dict[str, list[str]] = {}
    for name, value in pairs:
        given.setdefault(name, []).append(value)
    problems: list[FilterProblem] = []

    outcome_text = _choice(given.get("outcome", [])).lower()
    outcome: Outcome | None = None
    if outcome_text in ("success", "failure"):
        outcome = "success" if outcome_text == "success" else "failure"
    elif outcome_text not in ("", "any"):
        problems.append(
            FilterProblem("outcome", "Outcome must be any, success or failure; pick one.")
        )

    summarized_text = _choice(given.get("summarized", [])).lower()
    summarized = _SUMMARIZED.get(summarized_text)
    if summarized is None and summarized_text not in ("", "any"):
        problems.append(FilterProblem("summarized", "Summary must be any, yes or no; pick one."))

    signals: set[Signal] = set()
    for text in given.get("signal", []):
        name = text.strip().lower()
        known = next((signal for signal in SIGNALS if signal == name), None)
        if known is not None:
            signals.add(known)
        elif name:
            problems.append(
                FilterProblem(
                    "signal",
                    f"There is no signal “{text[:40]}”; choose among rage, dead, error and slow.",
                )
            )

    q = " ".join(_choice(given.get("q", [])).split()) or None
    if q is not None and len(q) > SEARCH_MAX:
        problems.append(
            FilterProblem("q", f"The search is {len(q)} characters; use at most {SEARCH_MAX}.")
        )
        q = None

    date_from = _choice(given.get("date_from", [])) or None
    date_to = _choice(given.get("date_to", [])) or None
    for name, label, typed, read in (
        ("date_from", "From", date_from, _dates(date_from=date_from, now=now)),
        ("date_to", "To", date_to, _dates(date_to=date_to, now=now)),
    ):
        if typed is not None and read is None:
            problems.append(
                FilterProblem(
                    name,
                    f"“{typed[:40]}” is not a date: pick one in the {label} field, or write it"
                    " as 2026-01-31.",
                )
            )
    dates = _dates(date_from=date_from, date_to=date_to, now=now) or RecordingFilters()
    if dates.since and dates.until and dates.since > dates.until:
        problems.append(FilterProblem("date_to", "The To date is before the From date; swap them."))
    filters = SessionFilters(
        outcome=outcome,
        summarized=summarized,
        signals=frozenset(signals),
        # Dates that did not parse are kept as typed, so the form shows what was sent.
        date_from=date_from,
        date_to=date_to,
        q=q,
        dates=dates,
    )
    return filters, problems


def _dates(
    *, date_from: str | None = None, date_to: str | None = None, now: datetime
) -> RecordingFilters | None:
    """The catalog's date filters (a bare `date_to` means the end of its day), or None when
    either date is not one `recording_filters` reads."""
    try:
        return recording_filters(
            date_from=date_from,
            date_to=date_to,
            session_ids=None,
            distinct_ids=None,
            person_uuid=None,
            having_predicates=None,
            order=None,
            order_direction="DESC",
            now=now,
        )
    except ApiProblem:
        return None
