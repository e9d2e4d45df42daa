"""The recordings listing's filters: the parameters of PostHog's `RecordingsQuery` that
recap implements, read from the query string as PostHog reads them (list values as JSON,
dates absolute or relative like `-7d`), and the ones it refuses instead of ignoring."""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Final, Literal, get_args

from recap.api.errors import ApiProblem
from recap.sources.posthog import RecordingMetadata

RecordingOrder = Literal[
    "start_time",
    "duration",
    "recording_duration",
    "active_seconds",
    "inactive_seconds",
    "console_error_count",
    "click_count",
    "keypress_count",
    "mouse_activity_count",
    "activity_score",
    "recording_ttl",
]
OrderDirection = Literal["ASC", "DESC"]
ORDERS: Final = frozenset(get_args(RecordingOrder))
PredicateOperator = Literal["gt", "gte", "lt", "lte", "exact"]
_OPERATORS: Final = frozenset(get_args(PredicateOperator))
# A predicate's key, as PostHog names it, and the recording field it compares.
_PREDICATE_FIELDS: Final = {
    "duration": "recording_duration",
    "active_seconds": "active_seconds",
    "inactive_seconds": "inactive_seconds",
}
# PostHog's list bounds (`session_ids` is a list the listing is narrowed to).
MAX_LISTED_IDS: Final = 1000

# RecordingsQuery parameters recap does not implement, and the values that ask for nothing
# (PostHog's defaults): any other value is answered 400, since data that silently ignores
# a filter is worse than an error.
_EMPTY: Final[tuple[Any, ...]] = (None, "", [], {})
REFUSED: Final[dict[str, tuple[Any, ...]]] = {
    "events": _EMPTY,
    "actions": _EMPTY,
    "properties": _EMPTY,
    "console_log_filters": _EMPTY,
    "comment_text": _EMPTY,
    "filter_test_accounts": (*_EMPTY, False),
    "operand": (*_EMPTY, "AND"),
    "kind": (*_EMPTY, "RecordingsQuery"),
    "session_recording_id": _EMPTY,
    "after": _EMPTY,
    "modifiers": _EMPTY,
}

_RELATIVE = re.compile(r"-?(?P<number>\d{1,6})(?P<unit>[hdwmMqys])(?P<position>Start|End)?")


def _invalid(attr: str, detail: str) -> ApiProblem:
    return ApiProblem(400, "validation_error", "invalid_input", detail, attr)


def _decoded(raw: str) -> Any:
    """A query value as PostHog reads it: JSON when it parses, else the text itself."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return raw


def _text(raw: str) -> str:
    """A text value, which a caller may also send JSON-quoted (`"-7d"`)."""
    value = _decoded(raw)
    return value if isinstance(value, str) else raw


def _months_before(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    if year < 1:
        raise OverflowError
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def parse_when(raw: str, attr: str, *, now: datetime, end_of_day: bool = False) -> datetime:
    """An absolute ISO date or time (UTC unless it says), or a relative one as PostHog's
    `relative_date_parse` reads it: `-7d`, `-24h`, `-30M` (minutes), `-2w`, `-1m`
    (months), `-1q`, `-1y`, `-30s`, and `-1dStart`/`-1dEnd`, `-1hStart`/`-1hEnd`. A bare
    date as `date_to` means the end of that day."""
    text = raw.strip()
    match = _RELATIVE.fullmatch(text)
    try:
        if match is None:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if end_of_day and len(text) == 10:
                parsed = datetime.combine(parsed.date(), time.max)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        number, unit, position = int(match["number"]), match["unit"], match["position"]
        steps = {"h": "hours", "d": "days", "w": "weeks", "M": "minutes", "s": "seconds"}
        if unit in steps:
            moment = now - timedelta(**{steps[unit]: number})
        elif unit == "q":
            moment = now - timedelta(weeks=13 * number)
        else:
            moment = _months_before(now, number * (12 if unit == "y" else 1))
    except (ValueError, OverflowError):
        raise _invalid(
            attr, f"{attr} is not a date: use an ISO date or time, or a relative one like -7d."
        ) from None
    if position is not None:
        if unit not in ("h", "d"):
            raise _invalid(attr, f"{attr}: Start and End apply to hours and days only (-1dStart).")
        start = position == "Start"
        moment = moment.replace(minute=0 if start else 59, second=0 if start else 59)
        moment = moment.replace(microsecond=0 if start else 999_999)
        if unit == "d":
            moment = moment.replace(hour=0 if start else 23)
    return moment


def _string_list(raw: str, attr: str) -> frozenset[str]:
    value = _decoded(raw)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _invalid(attr, f'{attr} must be a JSON list of strings, such as ["a", "b"].')
    if len(value) > MAX_LISTED_IDS:
        raise _invalid(attr, f"{attr} may list at most {MAX_LISTED_IDS} values.")
    return frozenset(value)


@dataclass(frozen=True)
class RecordingPredicate:
    """One of `having_predicates`: a recording's duration (or active/inactive seconds)
    compared with a number of seconds."""

    key: str
    operator: PredicateOperator
    value: float

    def holds(self, metadata: RecordingMetadata) -> bool:
        seen = getattr(metadata, _PREDICATE_FIELDS[self.key])
        if seen is None:
            return False
        if self.operator == "gt":
            return bool(seen > self.value)
        if self.operator == "gte":
            return bool(seen >= self.value)
        if self.operator == "lt":
            return bool(seen < self.value)
        if self.operator == "lte":
            return bool(seen <= self.value)
        return bool(seen == self.value)

    def as_posthog(self) -> dict[str, Any]:
        return {
            "type": "recording",
            "key": self.key,
            "operator": self.operator,
            "value": self.value,
        }


def _predicates(raw: str) -> tuple[RecordingPredicate, ...]:
    attr = "having_predicates"
    value = _decoded(raw)
    if value in _EMPTY:
        return ()
    shape = (
        'having_predicates must be a JSON list like [{"type": "recording", "key": "duration",'
        ' "operator": "gt", "value": 60}].'
    )
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _invalid(attr, shape)
    found: list[RecordingPredicate] = []
    for item in value:
        number = item.get("value")
        if (
            item.get("type", "recording") != "recording"
            or item.get("key") not in _PREDICATE_FIELDS
            or item.get("operator", "exact") not in _OPERATORS
        ):
            raise _invalid(
                attr,
                "recap filters having_predicates of type recording on duration, active_seconds"
                " or inactive_seconds, with gt, gte, lt, lte or exact.",
            )
        if isinstance(number, str):
            try:
                number = float(number)
            except ValueError:
                raise _invalid(attr, shape) from None
        if isinstance(number, bool) or not isinstance(number, int | float) or number != number:
            raise _invalid(attr, shape)
        found.append(RecordingPredicate(item["key"], item.get("operator", "exact"), number))
    return tuple(found)


@dataclass(frozen=True)
class RecordingFilters:
    """What a listing is narrowed to and how it is ordered. `date_from`/`date_to` are the
    dates as PostHog is asked for them; `since`/`until` are their instants."""

    date_from: str | None = None
    date_to: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    session_ids: frozenset[str] | None = None
    distinct_ids: frozenset[str] | None = None
    person_uuid: str | None = None
    predicates: tuple[RecordingPredicate, ...] = ()
    order: RecordingOrder | None = None
    order_direction: OrderDirection = "DESC"

    @property
    def reads_metadata(self) -> bool:
        """Whether filtering or ordering needs each recording's metadata (files compute it)."""
        return any(
            (
                self.since,
                self.until,
                self.distinct_ids is not None,
                self.person_uuid is not None,
                self.predicates,
                self.order,
            )
        )

    def matches(self, metadata: RecordingMetadata) -> bool:
        start = metadata.start_time
        if start is not None and start.tzinfo is None:
            start = start.replace(tzinfo=UTC)  # PostHog's times are UTC
        if self.since is not None and (start is None or start < self.since):
            return False
        if self.until is not None and (start is None or start > self.until):
            return False
        if self.distinct_ids is not None and metadata.distinct_id not in self.distinct_ids:
            return False
        if self.person_uuid is not None:
            uuid = metadata.person.uuid if metadata.person else None
            if uuid is None or uuid.lower() != self.person_uuid.lower():
                return False
        return all(predicate.holds(metadata) for predicate in self.predicates)

    def ordered(self, recordings: list[RecordingMetadata]) -> list[RecordingMetadata]:
        """Sorted by `order` in `order_direction`; recordings without the value come last
        either way, and ties keep the source's order."""
        if self.order is None:
            return recordings
        name = "recording_duration" if self.order == "duration" else self.order
        known = [r for r in recordings if getattr(r, name) is not None]
        unknown = [r for r in recordings if getattr(r, name) is None]
        known.sort(
            key=lambda r: _sortable(getattr(r, name)), reverse=self.order_direction == "DESC"
        )
        return known + unknown

    def posthog_params(self) -> dict[str, str]:
        """The filters as PostHog's listing reads them, to narrow what it answers. Also the
        key of a cached PostHog listing."""
        params: dict[str, str] = {}
        if self.date_from is not None:
            params["date_from"] = self.date_from
        if self.date_to is not None:
            params["date_to"] = self.date_to
        for name in ("session_ids", "distinct_ids"):
            values = getattr(self, name)
            if values is not None:
                params[name] = json.dumps(sorted(values))
        if self.person_uuid is not None:
            params["person_uuid"] = self.person_uuid
        if self.predicates:
            predicates = [predicate.as_posthog() for predicate in self.predicates]
            params["having_predicates"] = json.dumps(predicates, separators=(",", ":"))
        if self.order is not None:
            params["order"] = self.order
            params["order_direction"] = self.order_direction
        return params


def _sortable(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return value


def refuse_unimplemented(query: Mapping[str, str]) -> None:
    """400 naming the first RecordingsQuery filter recap does not implement that asks for
    something; its empty or default value is accepted."""
    for name, harmless in REFUSED.items():
        if name not in query:
            continue
        value = _decoded(query[name])
        if any(value == empty and type(value) is type(empty) for empty in harmless):
            continue
        raise _invalid(
            name,
            f"recap does not implement PostHog's `{name}` filter of the recordings listing;"
            " leave it out (recap never answers unfiltered data for a filter it ignores).",
        )


def _for_posthog(text: str | None, instant: datetime | None) -> str | None:
    """A date as PostHog is asked for it: a relative one as written (PostHog reads it the
    same way, and a listing cached under it stays reusable); an absolute one as the instant
    recap read, so a bare date or a time without zone means UTC there too, not the
    project's timezone, and a bare `date_to` the end of its day."""
    if text is None or instant is None:
        return None
    return text.strip() if _RELATIVE.fullmatch(text.strip()) else instant.isoformat()


def recording_filters(
    *,
    date_from: str | None,
    date_to: str | None,
    session_ids: str | None,
    distinct_ids: str | None,
    person_uuid: str | None,
    having_predicates: str | None,
    order: RecordingOrder | None,
    order_direction: OrderDirection,
    now: datetime,
) -> RecordingFilters:
    """The listing's filters from the query string's values, or 400 naming the first one
    that is malformed."""
    from_text = _text(date_from) if date_from else None
    to_text = _text(date_to) if date_to else None
    since = parse_when(from_text, "date_from", now=now) if from_text else None
    until = parse_when(to_text, "date_to", now=now, end_of_day=True) if to_text else None
    uuid = _text(person_uuid).strip() if person_uuid else None
    return RecordingFilters(
        date_from=_for_posthog(from_text, since),
        date_to=_for_posthog(to_text, until),
        since=since,
        until=until,
        session_ids=_string_list(session_ids, "session_ids") if session_ids else None,
        distinct_ids=_string_list(distinct_ids, "distinct_ids") if distinct_ids else None,
        person_uuid=uuid or None,
        predicates=_predicates(having_predicates) if having_predicates else (),
        order=order,
        order_direction=order_direction,
    )
