"""Settling the timeline while the pass still reads: drafts that nothing can change any
more leave the pass in time order, lose redundant focus clicks, get their signals once
everything within their reach is known, and go to a sink with their final ref number.

What a draft's signals need lies a bounded time ahead of it (`action_reach`), except for
the abandoned-form check: the last input of a form not yet submitted is held until its
document is left (no input or submit can follow) and the next navigation is seen (it may
carry the form's fields), or until the recording ends. Its ref is given in order all the
same. So what is held follows the recording's recent minutes, not its length.
"""

from __future__ import annotations

import bisect
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

from recap.core.timeline_config import TimelineConfig
from recap.timeline.drafts import Draft, Request
from recap.timeline.models import ACTION_KINDS, ERROR_KINDS, EventKind, Flag
from recap.timeline.signals import action_reach, carries, finish_action, flag_thrash, submits

FormId = tuple[str, int, int]
"""A form: its window's label, the window's document number, its node id."""
DraftSink = Callable[[int, Draft], None]
"""Takes each finished draft with its ref number (1, 2, …); a held input comes late."""

_COMPACT_AT: Final = 4096
END: Final = 2**63
"""A horizon past every timestamp: the recording is over."""


class _Times:
    """Ascending times (and what they stand for) that are forgotten from the front once
    no action still waiting can look at them."""

    __slots__ = ("items", "times")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.items: list[Request] = []

    def forget_before(self, ts: int) -> None:
        cut = _stale(self.times, ts)
        if cut:
            del self.times[:cut]
            del self.items[:cut]


def _stale(times: list[int], ts: int) -> int:
    """How many times at the front are before `ts`, once that is worth a copy (else 0)."""
    if len(times) < _COMPACT_AT or times[_COMPACT_AT - 1] >= ts:
        return 0
    return bisect.bisect_left(times, ts)


@dataclass(slots=True)
class _Form:
    """One form typed into or submitted, for the abandoned-form check."""

    id: FormId
    first_ts: int | None = None  # of its first input
    names: set[str] = field(default_factory=set)
    submitted_ts: int | None = None
    last: Draft | None = None  # held until the form is submitted or left for good
    last_ref: int | None = None
    # The first navigation at or after the last input, once seen: (url,) or None.
    next_navigation: tuple[str | None] | None = None
    waiting: bool = False  # in its window's `waiting_forms`
    # Its document was left and all that happened in it finished: nothing more will come.
    closed: bool = False

    @property
    def submitted(self) -> bool:
        submitted, first = self.submitted_ts, self.first_ts
        return submitted is not None and first is not None and submitted >= first


@dataclass(slots=True)
class _Window:
    """One window's drafts as the signals see them."""

    actions: deque[Draft] = field(default_factory=deque)  # waiting for their reach
    requests: _Times = field(default_factory=_Times)
    errors: list[int] = field(default_factory=list)
    navigations: deque[Draft] = field(default_factory=lambda: deque(maxlen=4))
    # The first navigation at the latest navigation's moment.
    first_at_latest: Draft | None = None
    waiting_forms: list[_Form] = field(default_factory=list)  # for their next navigation
    # Forms of documents before `document` are closed once their actions are finished.
    document: int = 0
    open_forms: list[FormId] = field(default_factory=list)


class Settler:
    """Takes settled drafts in (ts, seq) order, requests and change times up to a horizon,
    and gives each draft to `sink` once it is final."""

    def __init__(self, config: TimelineConfig, sink: DraftSink) -> None:
        self._config = config
        self._sink = sink
        self._reach = action_reach(config)
        self._folding: deque[Draft] = deque()
        self._focus_clicks: dict[str, Draft] = {}
        self._redundant: set[int] = set()
        self._windows: dict[str, _Window] = defaultdict(_Window)
        self._changes: list[int] = []
        self._ordered: deque[Draft] = deque()
        self._finished: set[int] = set()
        self._forms: dict[FormId, _Form] = {}
        self._refs = 0

    def add(
        self,
        drafts: Iterable[Draft],
        requests: list[Request],
        changes: list[int],
        horizon: int,
    ) -> None:
        """Everything before `horizon` that was not given yet: `drafts` sorted by
        (ts, seq), `requests` and `changes` sorted by time."""
        for request in requests:
            window = self._windows[request.window].requests
            window.times.append(request.ts)
            window.items.append(request)
        self._changes += changes
        for draft in drafts:
            self._fold(draft)
        # A form-field click waits for the window's next action: nothing after it is final.
        known = self._folding[0].ts if self._folding else horizon
        self._finish_actions(known)
        self._give_refs()
        self._forget_before(known)

    def finish(self) -> None:
        """The recording is over: finish every draft, the held inputs included."""
        self._focus_clicks.clear()
        self._release_folded()
        self._finish_actions(END)
        self._give_refs()
        for form in self._forms.values():
            if form.last is not None and form.last_ref is not None:
                self._decide(form, form.last, form.last_ref)
        self._forms.clear()

    def _fold(self, draft: Draft) -> None:
        """A click into a field the user then types into says nothing the input doesn't."""
        if draft.kind in ACTION_KINDS:
            click = self._focus_clicks.pop(draft.window, None)
            if (
                click is not None
                and draft.kind is EventKind.INPUT
                and draft.node_id == click.node_id
                and not click.flags
            ):
                self._redundant.add(id(click))
            if draft.kind is EventKind.CLICK and draft.form_field:
                self._focus_clicks[draft.window] = draft
        self._folding.append(draft)
        self._release_folded()

    def _release_folded(self) -> None:
        folding = self._folding
        while folding:
            draft = folding[0]
            if self._focus_clicks.get(draft.window) is draft:
                return
            folding.popleft()
            if id(draft) in self._redundant:
                self._redundant.discard(id(draft))
            else:
                self._take(draft)

    def _take(self, draft: Draft) -> None:
        """A draft in its final place: what only looks back is done now."""
        window = self._windows[draft.window]
        kind = draft.kind
        if kind in ACTION_KINDS:
            window.actions.append(draft)
            if kind is EventKind.INPUT and draft.form_id is not None:
                self._typed(window, draft, draft.form_id)
        else:
            self._finished.add(id(draft))
            if kind is EventKind.NAVIGATION:
                latest = window.first_at_latest
                if latest is None or latest.ts != draft.ts:
                    window.first_at_latest = draft
                window.navigations.append(draft)
                if len(window.navigations) == 4:
                    flag_thrash(window.navigations, self._config)
                waiting, window.waiting_forms = window.waiting_forms, []
                for form in waiting:
                    form.waiting = False
                    if form.next_navigation is None:
                        form.next_navigation = (draft.url,)
                        self._forget_if_done(form)
            elif kind in ERROR_KINDS and Flag.SLOW not in draft.flags:
                window.errors.append(draft.ts)
        self._ordered.append(draft)

    def _form(self, form_id: FormId) -> _Form:
        form = self._forms.get(form_id)
        if form is None:
            form = self._forms[form_id] = _Form(form_id)
            self._windows[form_id[0]].open_forms.append(form_id)
        return form

    def _typed(self, window: _Window, draft: Draft, form_id: FormId) -> None:
        form = self._form(form_id)
        if form.first_ts is None:
            form.first_ts = draft.ts
        if draft.field_name:
            form.names.add(draft.field_name)
        if form.submitted:
            return
        self._release(form)
        form.last = draft
        # The first navigation at or after this input: one at the same moment came first.
        latest = window.first_at_latest
        if latest is not None and latest.ts == draft.ts:
            form.next_navigation = (latest.url,)
        else:
            form.next_navigation = None
            if not form.waiting:
                form.waiting = True
                window.waiting_forms.append(form)

    def _release(self, form: _Form) -> None:
        """The form's held input is not its last any more (or the form was submitted)."""
        last, ref = form.last, form.last_ref
        form.last = form.last_ref = None
        if last is not None and ref is not None:
            self._sink(ref, last)

    def _finish_actions(self, known: int) -> None:
        """Finish the actions whose reach lies before `known` (nothing earlier will come)."""
        config = self._config
        for window in self._windows.values():
            actions = window.actions
            requests = window.requests
            while actions and actions[0].last_ts + self._reach < known:
                action = actions.popleft()
                following = actions[0].ts if actions else None
                finish_action(
                    action,
                    following,
                    requests.items,
                    requests.times,
                    window.errors,
                    self._changes,
                    config,
                )
                self._finished.add(id(action))
                form_id = action.form_id
                if form_id is not None:
                    if submits(action):
                        self._submitted(form_id, action.ts)
                    if form_id[1] > window.document:
                        self._left(window, form_id[1])

    def _submitted(self, form_id: FormId, ts: int) -> None:
        form = self._form(form_id)
        form.submitted_ts = ts if form.submitted_ts is None else max(form.submitted_ts, ts)
        if form.submitted:
            self._release(form)

    def _left(self, window: _Window, document: int) -> None:
        """An action of the window's `document` finished: so did every action before it,
        and the window's forms of earlier documents will see nothing more."""
        window.document = document
        still_open = []
        for form_id in window.open_forms:
            if form_id[1] >= document:
                still_open.append(form_id)
            elif (form := self._forms.get(form_id)) is not None:
                form.closed = True
                self._forget_if_done(form)
        window.open_forms = still_open

    def _forget_if_done(self, form: _Form) -> None:
        """Flag (or not) and let go of a closed form's held input once all is known."""
        if not form.closed:
            return
        last = form.last
        if last is not None:
            if form.last_ref is None or form.next_navigation is None:
                return  # its ref, or the navigation that may carry its fields, is to come
            self._decide(form, last, form.last_ref)
        self._forms.pop(form.id, None)

    def _decide(self, form: _Form, last: Draft, ref: int) -> None:
        url = form.next_navigation[0] if form.next_navigation else None
        if not form.submitted and not carries(url, form.names):
            last.flag(Flag.ABANDONED)
        form.last = form.last_ref = None
        self._sink(ref, last)

    def _give_refs(self) -> None:
        ordered, finished = self._ordered, self._finished
        while ordered and id(ordered[0]) in finished:
            draft = ordered.popleft()
            finished.discard(id(draft))
            self._refs += 1
            form = self._forms.get(draft.form_id) if draft.form_id is not None else None
            if form is not None and form.last is draft:
                form.last_ref = self._refs
                self._forget_if_done(form)
            else:
                self._sink(self._refs, draft)

    def _forget_before(self, known: int) -> None:
        """Drop the requests, errors and changes no waiting or future action can look at."""
        oldest = known
        for window in self._windows.values():
            start = window.actions[0].ts if window.actions else known
            oldest = min(oldest, start)
            window.requests.forget_before(start)
            del window.errors[: _stale(window.errors, start)]
        del self._changes[: _stale(self._changes, oldest)]
