"""Scripted visits to made-up sites, recorded as posthog-js with rrweb would record them.

`recap demo` and the tests use these files instead of real PostHog data: PostHog's
"export to file" JSON, deterministic for a given seed. The simulated browser also writes
down what really happened (`recap.demo.groundtruth`), so compiled timelines can be graded.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from recap.demo.groundtruth import (
    CHECKED,
    MASKED_VALUE,
    ActionKind,
    TruthAction,
    TruthConsoleError,
    TruthLog,
    TruthNetworkFailure,
    TruthSlowRequest,
    TruthSpan,
    TruthTabSwitch,
)
from recap.recording import rrweb as rr
from recap.recording.models import EXPORT_VERSION

Json = dict[str, Any]
EventSink = Callable[[Json], None]

DEFAULT_START_MS: Final = 1_763_800_000_000
VIEWPORT: Final = (1440, 900)
SLOW_REQUEST_MS: Final = 3_000
"""Requests longer than this are recorded in the ground truth as slow."""
POSTHOG_IDLE_THRESHOLD_MS: Final = 5 * 60 * 1000
"""posthog-js marks a session idle after this long without user activity."""


# What posthog-js counts as user activity (its ACTIVE_SOURCES), for idle bookkeeping.
_ACTIVE_SOURCES: Final = frozenset(
    {
        rr.MOUSE_MOVE,
        rr.MOUSE_INTERACTION,
        rr.SCROLL,
        rr.VIEWPORT_RESIZE,
        rr.INPUT,
        rr.TOUCH_MOVE,
        rr.MEDIA_INTERACTION,
        rr.DRAG,
    }
)


FOCUSABLE_TAGS: Final = frozenset({"a", "button", "input", "select", "textarea"})
FORM_FIELD_TAGS: Final = frozenset({"input", "select", "textarea"})


# --- the DOM --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElementSpec:
    """An element to serialize; `key` names it for the script, `at` is where its centre is.

    `at` is in page coordinates, or in viewport coordinates when `fixed` (sticky headers,
    toasts), which is what decides whether scrolling moves it.
    """

    tag: str
    attrs: Mapping[str, str]
    children: tuple[ElementSpec | str, ...]
    key: str | None = None
    at: tuple[int, int] | None = None
    fixed: bool = False


def tag(
    name: str,
    attrs: Mapping[str, str] | None = None,
    *children: ElementSpec | str,
    key: str | None = None,
    at: tuple[int, int] | None = None,
    fixed: bool = False,
) -> ElementSpec:
    """Describe an element; plain strings among `children` become text nodes."""
    return ElementSpec(name, dict(attrs or {}), children, key=key, at=at, fixed=fixed)


@dataclass(slots=True)
class _Node:
    name: str
    """The tag name, or `#document`, `#doctype`, `#text`."""
    attrs: dict[str, str]
    text: str
    parent: int | None
    children: list[int] = field(default_factory=list)


def collapse(text: str) -> str:
    return " ".join(text.split())


class DomBuilder:
    """Serializes one page's DOM the way rrweb-snapshot does and keeps track of it afterwards.

    Ids are allocated in document order (a node before its children) and keep counting for
    nodes that mutations add. Each page load gets a fresh builder, because rrweb's counter
    lives in the page and starts again at 1 after a navigation. The builder keeps the whole
    tree, so it can snapshot the page again and say what a person reads on an element.
    """

    def __init__(self, origin: str) -> None:
        self._origin = origin
        self._next_id = 1
        self._document_id = 0
        self._nodes: dict[int, _Node] = {}
        self._keys: dict[str, int] = {}
        self._key_of: dict[int, str] = {}
        self._points: dict[int, tuple[tuple[int, int], bool]] = {}

    def document(
        self, *, title: str, body: Sequence[ElementSpec | str], head: Sequence[ElementSpec] = ()
    ) -> Json:
        """The FullSnapshot `node`: Document, DocumentType and the html element."""
        self._document_id = self._allocate(None, "#document", {}, "")
        self._allocate(self._document_id, "#doctype", {}, "")
        html = tag(
            "html",
            {"lang": "en"},
            tag(
                "head",
                {},
                tag("meta", {"charset": "utf-8"}),
                tag("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}),
                tag("title", {}, title),
                tag("link", {"rel": "stylesheet", "href": "/assets/app.css"}),
                tag("script", {"src": "/assets/app.js", "defer": ""}),
                *head,
            ),
            tag("body", {}, *body, key="body"),
        )
        self._build(html, self._document_id, None)
        return self.snapshot()

    def snapshot(self) -> Json:
        """The page as it stands now, serialized with the ids it already has."""
        return self._serialize(self._document_id, deep=True)

    def add(self, spec: ElementSpec, *, parent: str, before: str | None = None) -> list[Json]:
        """Mutation `adds` for a new subtree, flattened parent-first as rrweb emits them."""
        parent_id = self.id_of(parent)
        next_id = self.id_of(before) if before is not None else None
        first = self._next_id
        root = self._build(spec, parent_id, next_id)
        adds = [{"parentId": parent_id, "nextId": next_id, "node": self._serialize(root)}]
        adds += [
            {
                "parentId": self._nodes[node_id].parent,
                "nextId": None,
                "node": self._serialize(node_id),
            }
            for node_id in range(first, self._next_id)
            if node_id != root
        ]
        return adds

    def remove(self, key: str) -> Json:
        """The mutation `removes` entry for a keyed node; its subtree goes with it."""
        return self.remove_id(self.id_of(key))

    def remove_id(self, node_id: int) -> Json:
        parent_id = self._nodes[node_id].parent
        assert parent_id is not None, "the document cannot be removed"
        self._nodes[parent_id].children.remove(node_id)
        self._forget(node_id)
        return {"parentId": parent_id, "id": node_id}

    def text_change(self, key: str, value: str) -> Json:
        """The mutation `texts` entry that sets a keyed element's (first) text."""
        return {"id": self.text_id(key), "value": value}

    def attribute_change(self, key: str, attributes: Mapping[str, str | None]) -> Json:
        """The mutation `attributes` entry for a keyed element; None removes an attribute."""
        return {"id": self.id_of(key), "attributes": dict(attributes)}

    def apply_text(self, node_id: int, value: Any) -> None:
        node = self._nodes.get(node_id)
        if node is not None:
            node.text = value if isinstance(value, str) else ""

    def apply_attributes(self, node_id: int, attributes: Mapping[str, Any]) -> None:
        node = self._nodes.get(node_id)
        if node is None:
            return
        for name, value in attributes.items():
            if value is None:
                node.attrs.pop(name, None)
            else:
                node.attrs[name] = str(value)

    def id_of(self, key: str) -> int:
        return self._keys[key]

    def has(self, key: str) -> bool:
        return key in self._keys

    def text_id(self, key: str) -> int:
        """The id of the first text node inside a keyed element."""
        for child_id in self._nodes[self.id_of(key)].children:
            if self._nodes[child_id].name == "#text":
                return child_id
        raise KeyError(f"{key!r} has no text child")

    def point(self, node_id: int) -> tuple[tuple[int, int], bool]:
        """Where a node's centre is and whether that is in viewport coordinates."""
        return self._points[node_id]

    def is_focusable(self, node_id: int) -> bool:
        node = self._nodes.get(node_id)
        return node is not None and node.name in FOCUSABLE_TAGS

    def contains(self, node_id: int) -> bool:
        return node_id in self._nodes

    def tag_of(self, node_id: int) -> str:
        return self._nodes[node_id].name

    def attrs_of(self, node_id: int) -> Mapping[str, str]:
        return self._nodes[node_id].attrs

    def text_of(self, node_id: int) -> str:
        """All text inside a node, whitespace collapsed, as a person reads it."""
        parts: list[str] = []
        self._collect_text(node_id, parts)
        return collapse("".join(parts))

    def label_of(self, node_id: int) -> str:
        """What a person reads as the element's name: its text, or a field's <label>."""
        node = self._nodes[node_id]
        attrs = node.attrs
        if node.name in FORM_FIELD_TAGS:
            if attrs.get("type") in ("submit", "button"):
                return attrs.get("value", "")
            field_id = attrs.get("id")
            if field_id:
                for other_id, other in self._nodes.items():
                    if other.name == "label" and other.attrs.get("for") == field_id:
                        return self.text_of(other_id)
            parent = node.parent
            while parent is not None:
                if self._nodes[parent].name == "label":
                    return self.text_of(parent)
                parent = self._nodes[parent].parent
            return attrs.get("aria-label") or attrs.get("placeholder") or attrs.get("name", "")
        return attrs.get("aria-label") or self.text_of(node_id)

    def is_submit(self, node_id: int) -> bool:
        """A submit button inside a form: clicking it submits the form."""
        node = self._nodes[node_id]
        if node.name not in ("button", "input") or node.attrs.get("type") != "submit":
            return False
        return self.form_of(node_id) is not None

    def form_of(self, node_id: int) -> int | None:
        parent = self._nodes[node_id].parent
        while parent is not None:
            if self._nodes[parent].name == "form":
                return parent
            parent = self._nodes[parent].parent
        return None

    def _collect_text(self, node_id: int, parts: list[str]) -> None:
        node = self._nodes[node_id]
        if node.name == "#text":
            parts.append(node.text)
        elif node.name not in ("script", "style", "head"):
            for child_id in node.children:
                self._collect_text(child_id, parts)

    def _allocate(self, parent_id: int | None, name: str, attrs: dict[str, str], text: str) -> int:
        node_id = self._next_id
        self._next_id += 1
        self._nodes[node_id] = _Node(name, attrs, text, parent_id)
        if parent_id is not None:
            self._nodes[parent_id].children.append(node_id)
        return node_id

    def _build(self, spec: ElementSpec | str, parent_id: int, next_id: int | None) -> int:
        if isinstance(spec, str):
            node_id = self._allocate(parent_id, "#text", {}, spec)
        else:
            node_id = self._allocate(parent_id, spec.tag, self._attributes(spec), "")
            if spec.key is not None:
                self._keys[spec.key] = node_id
                self._key_of[node_id] = spec.key
            if spec.at is not None:
                self._points[node_id] = (spec.at, spec.fixed)
        if next_id is not None:
            siblings = self._nodes[parent_id].children
            siblings.remove(node_id)
            siblings.insert(siblings.index(next_id), node_id)
        if not isinstance(spec, str):
            for child in spec.children:
                self._build(child, node_id, None)
        return node_id

    def _attributes(self, spec: ElementSpec) -> dict[str, str]:
        # rrweb-snapshot stores href/src absolute, resolved against the document
        return {
            name: self._origin + value
            if name in ("href", "src") and value.startswith("/")
            else value
            for name, value in spec.attrs.items()
        }

    def _serialize(self, node_id: int, *, deep: bool = False) -> Json:
        node = self._nodes[node_id]
        if node.name == "#text":
            return {"type": rr.NODE_TEXT, "textContent": node.text, "id": node_id}
        if node.name == "#doctype":
            return {
                "type": rr.NODE_DOCUMENT_TYPE,
                "name": "html",
                "publicId": "",
                "systemId": "",
                "id": node_id,
            }
        children = [self._serialize(c, deep=True) for c in node.children] if deep else []
        if node.name == "#document":
            return {
                "type": rr.NODE_DOCUMENT,
                "childNodes": children,
                "compatMode": "CSS1Compat",
                "id": node_id,
            }
        return {
            "type": rr.NODE_ELEMENT,
            "tagName": node.name,
            "attributes": dict(node.attrs),
            "childNodes": children,
            "id": node_id,
        }

    def _forget(self, node_id: int) -> None:
        node = self._nodes.pop(node_id)
        for child_id in node.children:
            self._forget(child_id)
        self._points.pop(node_id, None)
        key = self._key_of.pop(node_id, None)
        if key is not None and self._keys.get(key) == node_id:
            del self._keys[key]


# --- the browser ----------------------------------------------------------------------------


class SessionClock:
    """The one clock all tabs of a session share; it only moves forward."""

    def __init__(self, start_ms: int) -> None:
        self.now = start_ms
        self.last_activity_ms = start_ms


@dataclass(slots=True)
class PendingRequest:
    """A request the page has sent and whose response has not arrived yet."""

    url: str
    path: str
    method: str
    started_ms: int
    page_loaded_ms: int
    initiator: str


class SimulatedTab:
    """One browser tab with posthog-js recording it: user actions in, rrweb events out.

    The clock only moves forward, by human-sized random amounts drawn from `rng`, so the
    same seed always gives the same recording. A tab alone keeps its events in `events`;
    tabs of a `SimulatedBrowser` share its clock, its event sink and its ground truth.
    """

    def __init__(
        self,
        rng: random.Random,
        start_ms: int,
        window_id: str,
        *,
        browser: SimulatedBrowser | None = None,
    ) -> None:
        self.rng = rng
        self.window_id = window_id
        self.events: list[Json] = []
        if browser is None:
            self.clock = SessionClock(start_ms)
            self.truth = TruthLog()
            self._sink: EventSink = self.events.append
        else:
            self.clock = browser.clock
            self.truth = browser.truth
            self._sink = browser.sink
        self.href = ""
        self.dom = DomBuilder("")
        self.width, self.height = VIEWPORT
        self.mouse = (self.width // 2, self.height // 3)
        self.scroll_y = 0
        self.focused: int | None = None
        self.page_loaded_ms = self.clock.now
        self.checked: dict[str, str] = {}
        """For each radio group on the page, the key of the radio that is checked."""
        self._announced = False
        self._last_click: tuple[int, TruthAction] | None = None

    @property
    def now(self) -> int:
        return self.clock.now

    @now.setter
    def now(self, value: int) -> None:
        self.clock.now = max(self.clock.now, value)

    # page loads

    def open_page(
        self,
        href: str,
        *,
        title: str,
        body: Sequence[ElementSpec | str],
        pageview: bool = True,
    ) -> TruthAction:
        """A full page load: Meta, FullSnapshot, then posthog-js's `$pageview` marker."""
        parts = urlsplit(href)
        self.dom = DomBuilder(f"{parts.scheme}://{parts.netloc}")
        node = self.dom.document(title=title, body=body)
        self.href = href
        self.scroll_y = 0
        self.focused = None
        self.checked = {}
        self.page_loaded_ms = self.now
        self._emit(rr.META, {"href": href, "width": self.width, "height": self.height})
        navigation = self._navigation(href)
        self._emit(rr.FULL_SNAPSHOT, {"node": node, "initialOffset": {"top": 0, "left": 0}})
        self.pause(2, 30)
        if pageview:
            self.custom("$pageview", {"href": href})
        return navigation

    def navigate(
        self,
        href: str,
        *,
        title: str,
        body: Sequence[ElementSpec | str],
        pageview: bool = True,
    ) -> TruthAction:
        """Follow a link: the old page unloads and the new one takes a moment to arrive."""
        self.pause(350, 900)
        return self.open_page(href, title=title, body=body, pageview=pageview)

    def resnapshot(self) -> None:
        """rrweb's takeFullSnapshot on the same page: Meta and FullSnapshot, same ids."""
        self._emit(rr.META, {"href": self.href, "width": self.width, "height": self.height})
        top = {"top": self.scroll_y, "left": 0}
        self._emit(rr.FULL_SNAPSHOT, {"node": self.dom.snapshot(), "initialOffset": top})

    def change_url(self, href: str, *, tag: str = "$pageview") -> TruthAction:
        """A single-page-app route change (history.pushState): no page load, only the marker."""
        self.href = href
        self.custom(tag, {"href": href})
        return self._navigation(href)

    # time

    def pause(self, low_ms: int, high_ms: int) -> None:
        self.now += self.rng.randint(low_ms, high_ms)

    def idle(self, low_ms: int, high_ms: int, *, ticker: str | None = None) -> None:
        """The user walks away: nothing they do is recorded for a while.

        After five minutes posthog-js notices on the next page event and marks the session
        idle; when the user is back it says so and takes a fresh full snapshot.
        """
        start = self.clock.last_activity_ms
        end = max(self.now, start) + self.rng.randint(low_ms, high_ms)
        if end - start > POSTHOG_IDLE_THRESHOLD_MS:
            self.now = start + POSTHOG_IDLE_THRESHOLD_MS + self.rng.randint(500, 20_000)
            if ticker is not None:
                hidden = "aria-hidden" in self.dom.attrs_of(self.dom.id_of(ticker))
                flip = None if hidden else "true"
                self.mutate(attributes=[self.dom.attribute_change(ticker, {"aria-hidden": flip})])
            self.custom(
                "sessionIdle",
                {
                    "eventTimestamp": self.now,
                    "lastActivityTimestamp": start,
                    "threshold": POSTHOG_IDLE_THRESHOLD_MS,
                    "bufferLength": self.rng.randint(2, 40),
                    "bufferSize": self.rng.randint(2_000, 90_000),
                },
            )
            self.now = end
            self.custom("sessionNoLongerIdle", {"reason": "user activity", "type": 3})
            self.nudge_mouse()
            self.resnapshot()
        else:
            self.now = end
        self.truth.span(TruthSpan("idle", self.window_id, start, end))

    # the mouse

    def move_to(self, point: tuple[int, int], target_id: int | None = None) -> None:
        """Glide the pointer to `point`, sampled every ~50 ms and flushed every 500 ms.

        Positions carry the id of the node under the pointer and a `timeOffset` relative to
        the flush, the way rrweb batches mouse moves.
        """
        body_id = self.dom.id_of("body")
        (x0, y0), (x1, y1) = self.mouse, point
        distance = math.hypot(x1 - x0, y1 - y0)
        if distance < 3:
            return
        duration = min(1400, 220 + int(distance * 0.8) + self.rng.randint(0, 180))
        steps = max(2, duration // 50)
        start = self.now
        samples: list[tuple[int, int, int, int]] = []
        for step in range(1, steps + 1):
            progress = step / steps
            eased = progress * progress * (3 - 2 * progress)
            wobble = 0 if step == steps else self.rng.randint(-6, 6)
            x = round(x0 + (x1 - x0) * eased) + wobble
            y = round(y0 + (y1 - y0) * eased) + wobble
            over = target_id if target_id is not None and step >= steps - 1 else body_id
            samples.append((start + step * duration // steps, x, y, over))
        batch: list[tuple[int, int, int, int]] = []
        for sample in samples:
            if batch and sample[0] - batch[0][0] >= 500:
                self._flush_moves(batch)
                batch = []
            batch.append(sample)
        self._flush_moves(batch)
        self.mouse = point

    def nudge_mouse(self) -> None:
        """A small pointer movement: the user is still there."""
        x, y = self.mouse
        dx, dy = self.rng.choice((-1, 1)) * self.rng.randint(30, 90), self.rng.randint(-40, 40)
        self.move_to((min(max(x + dx, 5), self.width - 5), min(max(y + dy, 5), self.height - 5)))

    def _flush_moves(self, batch: list[tuple[int, int, int, int]]) -> None:
        self.now = batch[-1][0]
        positions = [
            {"x": x, "y": y, "id": node_id, "timeOffset": at - self.now}
            for at, x, y, node_id in batch
        ]
        self._incremental(rr.MOUSE_MOVE, {"positions": positions})

    def click(self, key: str) -> TruthAction:
        """Move to the element and click it, with the focus changes a browser makes."""
        node_id = self.dom.id_of(key)
        point = self._client_point(node_id)
        self.move_to(point, node_id)
        self.pause(80, 260)
        self._press(node_id, point)
        return self._clicked(node_id)

    def click_again(self, key: str) -> TruthAction:
        """Another click on the same element, the pointer barely moving (rage clicks)."""
        node_id = self.dom.id_of(key)
        x, y = self.mouse
        self.mouse = (x + self.rng.randint(-3, 3), y + self.rng.randint(-2, 2))
        self._press(node_id, self.mouse)
        return self._clicked(node_id)

    def _clicked(self, node_id: int) -> TruthAction:
        kind: ActionKind = "submit" if self.dom.is_submit(node_id) else "click"
        action = self.truth.action(
            TruthAction(
                kind,
                self.window_id,
                self.now,
                self.now,
                label=self.dom.label_of(node_id),
                url=self.href,
            )
        )
        self._last_click = (node_id, action)
        return action

    def _press(self, node_id: int, point: tuple[int, int]) -> None:
        x, y = point
        position = {"id": node_id, "x": x, "y": y, "pointerType": rr.POINTER_MOUSE}
        self._interaction(rr.MOUSE_DOWN, position)
        if self.focused != node_id:
            if self.focused is not None and self.dom.contains(self.focused):
                self._interaction(rr.BLUR, {"id": self.focused})
            self.focused = None
            if self.dom.is_focusable(node_id):
                self._interaction(rr.FOCUS, {"id": node_id})
                self.focused = node_id
        self.pause(60, 140)
        self._interaction(rr.MOUSE_UP, position)
        self.pause(0, 6)
        self._interaction(rr.CLICK, position)

    def _client_point(self, node_id: int) -> tuple[int, int]:
        (x, y), fixed = self.dom.point(node_id)
        if not fixed:
            y -= self.scroll_y
        if not 0 <= y < self.height:
            raise ValueError(f"node {node_id} on {self.href} is off screen; scroll to it first")
        return x + self.rng.randint(-8, 8), y + self.rng.randint(-4, 4)

    # the keyboard

    def type_text(
        self, key: str, text: str, *, masked: bool = False, shown: str | None = None
    ) -> TruthAction:
        """One Input event per keystroke, the value growing; masked fields record asterisks.

        `shown` is what a timeline should display for the final value (`<email>` for an
        email address); it defaults to the value itself, or `***` when masked.
        """
        node_id = self.dom.id_of(key)
        value = ""
        started: int | None = None
        for char in text:
            if not masked and char.isalpha() and self.rng.random() < 0.04:
                # a slip of the finger, noticed and corrected
                self._keystroke(node_id, value + self.rng.choice("qwertyuiopasdfghjkl"), masked)
                started = self.now if started is None else started
                self.pause(250, 600)
                self._keystroke(node_id, value, masked)
            self._keystroke(node_id, value + char, masked)
            started = self.now if started is None else started
            value += char
            if char in " @.":
                self.pause(120, 420)
        self._focus_only(node_id)
        return self.truth.action(
            TruthAction(
                "input",
                self.window_id,
                self.now,
                self.now if started is None else started,
                label=self.dom.label_of(node_id),
                value=None if masked else text,
                shown=MASKED_VALUE if masked else (shown if shown is not None else text),
                url=self.href,
            )
        )

    def _keystroke(self, node_id: int, value: str, masked: bool) -> None:
        self.pause(110, 300)
        text = "*" * len(value) if masked else value
        data = {"text": text, "isChecked": False, "id": node_id}
        self._incremental(rr.INPUT, data)

    def choose(self, key: str, value: str, *, shown: str | None = None) -> TruthAction:
        """Pick an option in a select that already has focus."""
        self.pause(600, 1400)
        node_id = self.dom.id_of(key)
        data = {"text": value, "isChecked": False, "id": node_id}
        self._incremental(rr.INPUT, data)
        self._focus_only(node_id)
        return self._input_truth(node_id, value, shown if shown is not None else value)

    def tick(self, key: str) -> TruthAction:
        """Click a checkbox; the browser fires input after the click, with `checked` set.

        The ground truth has one action for it, an input: the click is only the means.
        """
        self._click_untracked(key)
        self.pause(1, 4)
        node_id = self.dom.id_of(key)
        self._incremental(rr.INPUT, {"text": "on", "isChecked": True, "id": node_id})
        return self._input_truth(node_id, CHECKED, CHECKED)

    def pick(self, key: str, *, group: str) -> TruthAction:
        """Click a radio button: rrweb reports it checked and the group's previous one not."""
        self._click_untracked(key)
        self.pause(1, 4)
        node_id = self.dom.id_of(key)
        value = self.dom.attrs_of(node_id).get("value", "on")
        checked = {"text": value, "isChecked": True, "id": node_id}
        self._incremental(rr.INPUT, checked)
        previous = self.checked.get(group)
        if previous is not None and previous != key:
            previous_id = self.dom.id_of(previous)
            previous_value = self.dom.attrs_of(previous_id).get("value", "on")
            self._incremental(
                rr.INPUT,
                {"text": previous_value, "isChecked": False, "id": previous_id},
            )
        self.checked[group] = key
        return self._input_truth(node_id, CHECKED, CHECKED)

    def _focus_only(self, node_id: int) -> None:
        """The click just before, if it went into this field, only focused it."""
        if self._last_click is not None and self._last_click[0] == node_id:
            self.truth.focus_only(self._last_click[1])
        self._last_click = None

    def _click_untracked(self, key: str) -> None:
        self._last_click = None
        node_id = self.dom.id_of(key)
        point = self._client_point(node_id)
        self.move_to(point, node_id)
        self.pause(80, 260)
        self._press(node_id, point)

    def _input_truth(self, node_id: int, value: str, shown: str) -> TruthAction:
        self._last_click = None
        return self.truth.action(
            TruthAction(
                "input",
                self.window_id,
                self.now,
                self.now,
                label=self.dom.label_of(node_id),
                value=value,
                shown=shown,
                url=self.href,
            )
        )

    # scrolling and the window

    def scroll_to(self, y: int) -> None:
        """Wheel the document to `y`, in rrweb's 100 ms scroll samples."""
        while self.scroll_y != y:
            step = self.rng.randint(60, 160)
            self.scroll_y = (
                min(y, self.scroll_y + step) if y > self.scroll_y else max(y, self.scroll_y - step)
            )
            self.pause(100, 170)
            self._incremental(rr.SCROLL, {"id": 1, "x": 0, "y": self.scroll_y})

    def resize(self, width: int, height: int) -> None:
        """The user resizes the browser window (rrweb's ViewportResize)."""
        self.width, self.height = width, height
        self._incremental(rr.VIEWPORT_RESIZE, {"width": width, "height": height})

    # what the page does by itself

    def mutate(
        self,
        *,
        adds: Sequence[Json] = (),
        removes: Sequence[Json] = (),
        texts: Sequence[Json] = (),
        attributes: Sequence[Json] = (),
    ) -> None:
        for text in texts:
            self.dom.apply_text(text["id"], text["value"])
        for change in attributes:
            self.dom.apply_attributes(change["id"], change["attributes"])
        if self.focused is not None and not self.dom.contains(self.focused):
            self.focused = None
        self._incremental(
            rr.MUTATION,
            {
                "texts": list(texts),
                "attributes": list(attributes),
                "removes": list(removes),
                "adds": list(adds),
            },
        )

    def fetch(
        self,
        path: str,
        *,
        method: str,
        status: int,
        low_ms: int,
        high_ms: int,
        legacy: bool = False,
    ) -> None:
        """A fetch() the page makes; posthog-js reports it when the response has arrived."""
        request = self.send(path, method=method)
        self.pause(low_ms, high_ms)
        self.receive(request, status=status, legacy=legacy)

    def send(self, path: str, *, method: str, initiator: str = "fetch") -> PendingRequest:
        """Start a request; the page goes on while it is in flight."""
        parts = urlsplit(self.href)
        url = f"{parts.scheme}://{parts.netloc}{path}"
        return PendingRequest(url, path, method, self.now, self.page_loaded_ms, initiator)

    def receive(self, request: PendingRequest, *, status: int, legacy: bool = False) -> None:
        """The response (or the failure, `status` 0) arrives and the network plugin reports it.

        `legacy` writes the index-keyed `posthog/network@1` payload older posthog-js sent.
        """
        ended = self.now
        start_time = request.started_ms - request.page_loaded_ms
        duration = float(ended - request.started_ms)
        size = 0 if status == 0 else self.rng.randint(180, 24_000)
        self.pause(1, 12)
        if legacy:
            plugin = "posthog/network@1"
            payload: Json = {
                "0": "resource",
                "1": request.page_loaded_ms,
                "2": request.url,
                "3": float(start_time),
                "7": float(start_time),
                "13": float(start_time + 1),
                "14": float(start_time + duration - 2),
                "15": float(start_time + duration),
                "16": size,
                "17": size,
                "18": request.initiator,
                "19": "h2",
                "21": status,
                "22": size + 300 if size else 0,
                "39": duration,
                "40": request.started_ms,
            }
        else:
            plugin = "rrweb/network@1"
            payload = {"requests": [self._captured_request(request, status, duration, size)]}
        self._emit(rr.PLUGIN, {"plugin": plugin, "payload": payload})
        if status == 0 or status >= 400:
            self.truth.network_failure(
                TruthNetworkFailure(
                    self.window_id,
                    self.now,
                    request.started_ms,
                    None if legacy else request.method,
                    request.url,
                    request.path,
                    status,
                    plugin,
                )
            )
        if duration > SLOW_REQUEST_MS:
            self.truth.slow_request(
                TruthSlowRequest(
                    self.window_id,
                    self.now,
                    request.started_ms,
                    request.method,
                    request.path,
                    status,
                    int(duration),
                )
            )

    def _captured_request(
        self, request: PendingRequest, status: int, duration: float, size: int
    ) -> Json:
        """A PerformanceResourceTiming's JSON plus what posthog-js's fetch wrapper adds."""
        start = request.started_ms - request.page_loaded_ms
        end = start + int(duration)
        captured: Json = {
            "name": request.url,
            "entryType": "resource",
            "startTime": start,
            "duration": duration,
            "initiatorType": request.initiator,
            "nextHopProtocol": "h2" if status else "",
            "renderBlockingStatus": "non-blocking",
            "workerStart": 0,
            "redirectStart": 0,
            "redirectEnd": 0,
            "fetchStart": start,
            "domainLookupStart": start,
            "domainLookupEnd": start,
            "connectStart": start,
            "secureConnectionStart": start,
            "connectEnd": start,
            "requestStart": start + 1 if status else 0,
            "responseStart": max(start, end - 2) if status else 0,
            "responseEnd": end,
            "transferSize": size + 300 if size else 0,
            "encodedBodySize": size,
            "decodedBodySize": size,
            "responseStatus": status,
            "serverTiming": [],
            "endTime": end,
            "timeOrigin": request.page_loaded_ms,
            "timestamp": request.started_ms,
            "method": request.method,
        }
        if status:
            # the fetch wrapper's own status; a request that failed has no response to read
            captured["status"] = status
        return captured

    def console_error(self, message: str, trace: Sequence[str]) -> None:
        self.console("error", message, trace)
        self.truth.console_error(TruthConsoleError(self.window_id, self.now, message))

    def console(self, level: str, message: str, trace: Sequence[str]) -> None:
        # the console plugin JSON-encodes every argument it captures
        payload = {"level": level, "trace": list(trace), "payload": [json.dumps(message)]}
        self._emit(rr.PLUGIN, {"plugin": "rrweb/console@1", "payload": payload})

    # posthog-js's own markers

    def custom(self, tag: str, payload: Json) -> None:
        self._emit(rr.CUSTOM, {"tag": tag, "payload": payload})

    def pause_recording(self) -> int:
        """The user went to a URL the project blocks: posthog-js stops recording."""
        self.custom("recording paused", {"reason": "url blocker"})
        return self.now

    def resume_recording(self, paused_at: int) -> None:
        self.custom("recording resumed", {"reason": "left blocked url"})
        self.truth.span(TruthSpan("paused", self.window_id, paused_at, self.now))

    def go_offline(self) -> int:
        self.custom("browser offline", {})
        return self.now

    def go_online(self, offline_at: int) -> None:
        self.custom("browser online", {})
        self.truth.span(TruthSpan("offline", self.window_id, offline_at, self.now))

    # emitting

    def _navigation(self, href: str) -> TruthAction:
        self._last_click = None
        return self.truth.action(
            TruthAction("navigation", self.window_id, self.now, self.now, url=href)
        )

    def _interaction(self, kind: int, data: Json) -> None:
        self._incremental(rr.MOUSE_INTERACTION, {"type": kind, **data})

    def _incremental(self, source: int, data: Json) -> None:
        if source in _ACTIVE_SOURCES:
            self.clock.last_activity_ms = self.now
        self._emit(rr.INCREMENTAL_SNAPSHOT, {"source": source, **data})

    def _emit(self, event_type: int, data: Json) -> None:
        if not self._announced:
            self.truth.window(self.window_id)
            self._announced = True
        self._sink(
            {"type": event_type, "data": data, "timestamp": self.now, "windowId": self.window_id}
        )


class SimulatedBrowser:
    """A browser window with several tabs of one PostHog session, each its own rrweb window.

    posthog-js keeps one window id per tab, so every tab has its own FullSnapshots and
    node ids; the user switching tabs shows up as `window hidden` / `window visible`.
    """

    def __init__(
        self,
        rng: random.Random,
        start_ms: int,
        *,
        sink: EventSink | None = None,
        truth: TruthLog | None = None,
    ) -> None:
        self.rng = rng
        self.clock = SessionClock(start_ms)
        self.events: list[Json] = []
        self.sink: EventSink = sink if sink is not None else self.events.append
        self.truth = truth if truth is not None else TruthLog()
        self.tabs: list[SimulatedTab] = []
        self.active: SimulatedTab | None = None

    @property
    def now(self) -> int:
        return self.clock.now

    def open_tab(self) -> SimulatedTab:
        """A new tab in front; the one that was in front is hidden."""
        previous = self.active
        if previous is not None:
            previous.custom("window hidden", {})
        tab = SimulatedTab(
            self.rng, self.now, uuid7(self.now + self.rng.randint(0, 3), self.rng), browser=self
        )
        if previous is not None:
            switch = TruthTabSwitch(self.now, previous.window_id, tab.window_id, opened=True)
            self.truth.tab_switch(switch)
        self.tabs.append(tab)
        self.active = tab
        return tab

    def switch_to(self, tab: SimulatedTab) -> SimulatedTab:
        """The user brings another tab to the front."""
        previous = self.active
        if previous is tab:
            return tab
        if previous is not None:
            previous.custom("window hidden", {})
        tab.pause(200, 700)
        tab.custom("window visible", {})
        self.truth.tab_switch(
            TruthTabSwitch(self.now, previous.window_id if previous else "", tab.window_id)
        )
        self.active = tab
        return tab


def uuid7(ms: int, rng: random.Random) -> str:
    """A UUIDv7 as posthog-js makes session and window ids: time-ordered by `ms`."""
    value = (ms & (2**48 - 1)) << 80
    value |= 0x7 << 76 | rng.getrandbits(12) << 64
    value |= 0b10 << 62 | rng.getrandbits(62)
    return str(uuid.UUID(int=value))


# --- the sites ------------------------------------------------------------------------------


def _nav_link(text: str, href: str, x: int, *, key: str | None = None) -> ElementSpec:
    """A link in a sticky header, so it stays where it is while the page scrolls."""
    return tag("a", {"href": href}, text, key=key, at=(x, 32), fixed=True)


def _header(*children: ElementSpec) -> ElementSpec:
    return tag("header", {"class": "site-header"}, *children)


def _field(label: str, name: str, at: tuple[int, int], **attrs: str) -> list[ElementSpec | str]:
    """A labelled input whose `key` is its name."""
    return [
        tag("label", {"for": name}, label),
        tag("input", {"id": name, "name": name, **attrs}, key=name, at=at),
    ]


def _button(text: str, key: str, at: tuple[int, int], *, submit: bool = False) -> ElementSpec:
    kind = "submit" if submit else "button"
    return tag("button", {"type": kind, "class": "btn btn-primary"}, text, key=key, at=at)


def _article(heading: str, *sections: tuple[str, str]) -> ElementSpec:
    parts: list[ElementSpec | str] = [tag("h1", {}, heading)]
    for title, text in sections:
        parts += [tag("h2", {}, title), tag("p", {}, text)]
    return tag("main", {}, tag("article", {}, *parts))


def _shop_header(cart_count: str) -> ElementSpec:
    return _header(
        _nav_link("Northwind Outfitters", "/", 150),
        tag(
            "nav",
            {"aria-label": "Main"},
            _nav_link("Shoes", "/collections/shoes", 560),
            _nav_link("Bags", "/collections/bags", 640),
            _nav_link("Sale", "/collections/sale", 720),
        ),
        tag(
            "a",
            {"href": "/cart", "class": "cart-link"},
            "Cart (",
            tag("span", {"class": "cart-count"}, cart_count, key="cart_count"),
            ")",
            at=(1330, 32),
            fixed=True,
        ),
    )


def _product_card(slug: str, name: str, price: str, at: tuple[int, int]) -> ElementSpec:
    # the key sits on the heading: a click on a card lands on whatever is under the pointer
    return tag(
        "a",
        {"href": f"/products/{slug}", "class": "product-card"},
        tag("img", {"src": f"/images/{slug}.jpg", "alt": name}),
        tag("h2", {}, name, key=f"card_{slug}", at=at),
        tag("p", {"class": "price"}, price),
    )


def _checkout_failure(tab: SimulatedTab) -> None:
    shop = "https://shop.example.com"
    tab.open_page(
        f"{shop}/",
        title="Northwind Outfitters — Trail and city gear",
        body=[
            _shop_header("0"),
            tag(
                "main",
                {},
                tag("h1", {}, "New season trail gear"),
                tag(
                    "section",
                    {"class": "product-grid"},
                    _product_card("trail-runner-2", "Trail Runner 2", "$129.00", (360, 860)),
                    _product_card("canvas-tote", "Canvas Tote", "$45.00", (720, 860)),
                    _product_card("merino-beanie", "Merino Beanie", "$32.00", (1080, 860)),
                ),
            ),
        ],
    )
    tab.pause(1500, 3000)
    tab.move_to((700, 500))
    tab.pause(800, 1600)
    tab.scroll_to(420)
    tab.pause(2000, 4000)
    tab.click("card_trail-runner-2")

    tab.navigate(
        f"{shop}/products/trail-runner-2",
        title="Trail Runner 2 — Northwind Outfitters",
        body=[
            _shop_header("0"),
            tag(
                "main",
                {"class": "product"},
                tag("img", {"src": "/images/trail-runner-2-large.jpg", "alt": "Trail Runner 2"}),
                tag("h1", {}, "Trail Runner 2"),
                tag("p", {"class": "price"}, "$129.00"),
                tag("p", {}, "A light, grippy shoe for wet trails and long days."),
                tag("label", {"for": "size"}, "Size"),
                tag(
                    "select",
                    {"id": "size", "name": "size"},
                    *(tag("option", {"value": size}, f"US {size}") for size in ("9", "10", "11")),
                    key="size",
                    at=(1040, 470),
                ),
                _button("Add to cart", "add_to_cart", (1040, 560)),
            ),
        ],
    )
    tab.pause(2500, 5000)
    tab.click("size")
    tab.choose("size", "10")
    tab.pause(900, 2000)
    tab.click("add_to_cart")
    tab.fetch("/api/cart", method="POST", status=200, low_ms=180, high_ms=420)
    toast = tag(
        "div",
        {"class": "toast", "role": "status"},
        tag("p", {}, "Added to cart"),
        tag("a", {"href": "/cart"}, "View cart", key="view_cart", at=(1260, 120), fixed=True),
    )
    tab.mutate(
        texts=[{"id": tab.dom.text_id("cart_count"), "value": "1"}],
        adds=tab.dom.add(toast, parent="body"),
    )
    tab.pause(1200, 2500)
    tab.click("view_cart")

    tab.navigate(
        f"{shop}/cart",
        title="Your cart — Northwind Outfitters",
        body=[
            _shop_header("1"),
            tag(
                "main",
                {},
                tag("h1", {}, "Your cart"),
                tag("ul", {}, tag("li", {}, "Trail Runner 2 — US 10 — Qty 1 — $129.00")),
                tag("p", {"class": "subtotal"}, "Subtotal: $129.00"),
                _button("Checkout", "checkout", (1100, 520)),
            ),
        ],
    )
    tab.pause(2000, 4000)
    tab.click("checkout")

    tab.navigate(
        f"{shop}/checkout",
        title="Checkout — Northwind Outfitters",
        body=[
            _shop_header("1"),
            tag(
                "main",
                {"class": "checkout"},
                tag("h1", {}, "Checkout"),
                tag(
                    "form",
                    {"id": "checkout-form", "method": "post", "novalidate": ""},
                    *_field(
                        "Email",
                        "email",
                        (620, 260),
                        type="email",
                        autocomplete="email",
                        placeholder="you@example.com",
                    ),
                    *_field(
                        "Card number",
                        "cardnumber",
                        (620, 360),
                        type="text",
                        autocomplete="cc-number",
                        inputmode="numeric",
                        placeholder="1234 1234 1234 1234",
                    ),
                    _button("Place order", "place_order", (620, 470), submit=True),
                ),
                tag("aside", {"class": "order-summary"}, tag("p", {}, "Total: $129.00")),
            ),
        ],
    )
    tab.pause(1500, 3000)
    tab.click("email")
    tab.type_text("email", "jane.doe@example.com")
    tab.pause(700, 1500)
    tab.click("cardnumber")
    tab.type_text("cardnumber", "4242 4242 4242 4242")
    tab.pause(1000, 2200)
    tab.click("place_order")
    place_order = tab.dom.id_of("place_order")
    tab.pause(5, 20)
    busy = {"disabled": "", "aria-busy": "true"}
    tab.mutate(attributes=[{"id": place_order, "attributes": busy}])
    tab.fetch("/api/orders", method="POST", status=500, low_ms=450, high_ms=650)
    tab.pause(2, 10)
    tab.console_error(
        "TypeError: Cannot read properties of undefined (reading 'total')",
        ["placeOrder (https://shop.example.com/assets/checkout.js:42:13)"],
    )
    tab.pause(5, 30)
    banner = tag(
        "div",
        {"class": "banner banner-error", "role": "alert"},
        "Something went wrong. Please try again.",
    )
    tab.mutate(
        attributes=[{"id": place_order, "attributes": {name: None for name in busy}}],
        adds=tab.dom.add(banner, parent="body"),
    )
    # the button is enabled again, but its handler now fails before doing anything
    tab.pause(250, 400)
    for _ in range(4):
        tab.click_again("place_order")
        tab.pause(150, 330)
    tab.pause(1500, 3500)
    tab.move_to((tab.mouse[0] + 200, 4))


def _signup_success(tab: SimulatedTab) -> None:
    app = "https://app.example.org"
    header = _header(
        _nav_link("Pulseboard", "/", 130),
        tag(
            "nav",
            {"aria-label": "Main"},
            _nav_link("Product", "/product", 840),
            _nav_link("Pricing", "/pricing", 940),
            _nav_link("Log in", "/login", 1180),
            _nav_link("Sign up", "/signup", 1310, key="sign_up"),
        ),
    )
    tab.open_page(
        f"{app}/",
        title="Pulseboard — analytics your whole team can read",
        body=[
            header,
            tag(
                "main",
                {},
                tag("h1", {}, "Analytics your whole team can read"),
                tag("p", {}, "Dashboards in plain language, set up in five minutes."),
                tag("a", {"href": "/signup", "class": "btn"}, "Start free trial", at=(720, 420)),
                tag("section", {"class": "logos"}, tag("p", {}, "Trusted by 4,000 teams")),
            ),
        ],
    )
    tab.pause(2000, 3500)
    tab.scroll_to(640)
    tab.pause(3000, 6000)
    tab.scroll_to(0)
    tab.pause(800, 1500)
    tab.click("sign_up")

    tab.navigate(
        f"{app}/signup",
        title="Create your account — Pulseboard",
        body=[
            tag(
                "main",
                {"class": "auth"},
                tag("h1", {}, "Create your account"),
                tag(
                    "form",
                    {"id": "signup-form", "method": "post"},
                    *_field("Full name", "name", (720, 250), type="text", autocomplete="name"),
                    *_field("Work email", "email", (720, 340), type="email", autocomplete="email"),
                    *_field(
                        "Password",
                        "password",
                        (720, 430),
                        type="password",
                        autocomplete="new-password",
                        minlength="8",
                    ),
                    tag(
                        "div",
                        {"class": "checkbox"},
                        *_field("I agree to the terms", "terms", (570, 500), type="checkbox"),
                    ),
                    _button("Create account", "create_account", (720, 580), submit=True),
                ),
            ),
        ],
    )
    tab.pause(1500, 2500)
    tab.click("name")
    tab.type_text("name", "Sam Rivera")
    tab.pause(500, 1200)
    tab.click("email")
    tab.type_text("email", "sam.rivera@example.com")
    tab.pause(600, 1300)
    tab.click("password")
    tab.type_text("password", "hunter42", masked=True)
    tab.pause(700, 1600)
    tab.tick("terms")
    tab.pause(600, 1400)
    tab.click("create_account")
    button = tab.dom.id_of("create_account")
    label = tab.dom.text_id("create_account")
    spinner = tag(
        "span",
        {"class": "spinner", "role": "progressbar", "aria-label": "Loading"},
        key="spinner",
    )
    tab.pause(5, 25)
    tab.mutate(
        attributes=[{"id": button, "attributes": {"disabled": "", "aria-busy": "true"}}],
        texts=[{"id": label, "value": "Creating account…"}],
        adds=tab.dom.add(spinner, parent="create_account"),
    )
    tab.fetch("/api/signup", method="POST", status=201, low_ms=700, high_ms=1100)
    tab.pause(20, 60)
    tab.mutate(removes=[tab.dom.remove("spinner")])

    tab.navigate(
        f"{app}/welcome",
        title="Welcome — Pulseboard",
        body=[
            header,
            tag(
                "main",
                {"class": "welcome"},
                tag("h1", {}, "Welcome, Sam!"),
                tag("p", {}, "Your workspace is ready."),
                tag("a", {"href": "/dashboards/new"}, "Create your first dashboard", at=(720, 400)),
            ),
        ],
    )
    tab.pause(1500, 3000)
    tab.move_to((700, 380))
    tab.pause(2000, 4000)


def _wanderer(tab: SimulatedTab) -> None:
    site = "https://www.example.net"
    header = _header(
        _nav_link("Lumen", "/", 110),
        tag(
            "nav",
            {"aria-label": "Main"},
            _nav_link("Features", "/features", 760, key="features"),
            _nav_link("Pricing", "/pricing", 860, key="pricing"),
            _nav_link("Docs", "/docs", 950, key="docs"),
            _nav_link("Blog", "/blog", 1030),
        ),
        # the modal this should open was never shipped
        _nav_link("Contact sales", "javascript:void(0)", 1300, key="contact_sales"),
    )

    tab.open_page(
        f"{site}/blog/how-we-cut-build-times-in-half",
        title="How we cut build times in half — Lumen blog",
        body=[
            header,
            _article(
                "How we cut build times in half",
                ("The problem", "Our CI took 40 minutes and nobody trusted it."),
                ("What we changed", "Remote caching, smaller test shards, fewer Docker layers."),
                ("Results", "Median build time fell from 40 to 18 minutes."),
            ),
        ],
    )
    for depth in (600, 1300, 2100):
        tab.pause(3000, 8000)
        tab.scroll_to(depth)
    tab.pause(2000, 4000)
    tab.click("pricing")

    plans = [("Starter", "$0"), ("Team", "$29/mo"), ("Enterprise", "Talk to us")]
    tab.navigate(
        f"{site}/pricing",
        title="Pricing — Lumen",
        body=[
            header,
            tag(
                "main",
                {},
                tag("h1", {}, "Simple pricing"),
                *(
                    tag("section", {"class": "plan"}, tag("h2", {}, plan), tag("p", {}, price))
                    for plan, price in plans
                ),
            ),
        ],
    )
    tab.pause(2500, 5000)
    tab.scroll_to(700)
    tab.pause(4000, 7000)
    tab.click("features")

    tab.navigate(
        f"{site}/features",
        title="Features — Lumen",
        body=[
            header,
            _article(
                "Everything you need to ship",
                ("Remote caching", "Never build the same thing twice."),
                ("Flaky test detection", "Quarantine flaky tests automatically."),
            ),
        ],
    )
    tab.pause(2000, 4000)
    tab.scroll_to(900)
    tab.pause(3000, 6000)
    tab.click("docs")

    sidebar = tag(
        "nav",
        {"class": "docs-sidebar", "aria-label": "Docs"},
        tag("a", {"href": "/docs/quickstart"}, "Quickstart"),
        tag("a", {"href": "/docs/caching"}, "Caching"),
        tag("a", {"href": "/docs/ci"}, "CI integrations"),
    )
    tab.navigate(
        f"{site}/docs",
        title="Docs — Lumen",
        body=[
            header,
            sidebar,
            _article(
                "Getting started",
                ("Install", "Install the CLI with npm install -g lumen."),
                ("Connect", "Run lumen init in your repository."),
            ),
        ],
    )
    tab.pause(2000, 4000)
    tab.scroll_to(500)
    # the visitor switches to another tab for a while: nothing is recorded
    tab.pause(45_000, 75_000)
    tab.scroll_to(250)
    tab.pause(1500, 3000)
    tab.click("contact_sales")
    tab.pause(2500, 4500)
    tab.move_to((tab.mouse[0] - 300, tab.mouse[1] + 260))


# --- sessions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Visitor:
    identified_as: str | None
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class _Scenario:
    description: str
    visitor: _Visitor
    play: Callable[[SimulatedTab], None]
    expected_success: bool
    """Did the visitor do what they came for: the `summary_outcome.success` a correct
    summary gives. Written beside the script that plays the visit, so they cannot drift."""
    known_outcome: str
    """That verdict in a few words, for people reading the demo."""


_DESKTOP_CHROME: Final = {
    "$browser": "Chrome",
    "$browser_version": 131,
    "$os": "Mac OS X",
    "$device_type": "Desktop",
    "$geoip_country_code": "US",
}

_SCENARIOS: Final[dict[str, _Scenario]] = {
    "checkout_failure": _Scenario(
        "A shopper puts trail shoes in the cart, enters an email and card at checkout, gets a "
        "server error on 'Place order', clicks it four more times in frustration and leaves.",
        _Visitor(None, {**_DESKTOP_CHROME, "$initial_referring_domain": "$direct"}),
        _checkout_failure,
        expected_success=False,
        known_outcome="failed: 'Place order' got a server error and no order was placed",
    ),
    "signup_success": _Scenario(
        "A visitor signs up from the landing page with name, email, password and the terms "
        "checkbox, waits out the spinner and lands on the welcome page.",
        _Visitor(
            "sam.rivera@example.com",
            {
                **_DESKTOP_CHROME,
                "email": "sam.rivera@example.com",
                "name": "Sam Rivera",
                "$initial_referring_domain": "www.google.com",
            },
        ),
        _signup_success,
        expected_success=True,
        known_outcome="succeeded: the account was created and the welcome page shown",
    ),
    "wanderer": _Scenario(
        "A visitor reads a blog post, browses Pricing, Features and Docs, goes idle for about a "
        "minute, then clicks a 'Contact sales' link that does nothing.",
        _Visitor(None, {**_DESKTOP_CHROME, "$initial_referring_domain": "news.ycombinator.com"}),
        _wanderer,
        # Browsing is no goal; asking sales is, and the link does nothing.
        expected_success=False,
        known_outcome="failed: the 'Contact sales' link they ended on does nothing",
    ),
}

SCENARIOS: Final[tuple[str, ...]] = tuple(_SCENARIOS)


@dataclass(frozen=True)
class SampleSession:
    """One generated recording on disk."""

    session_id: str
    scenario: str
    description: str
    path: Path
    expected_success: bool
    """The scenario's ground truth: the `summary_outcome.success` a correct summary gives."""
    known_outcome: str


def _person(visitor: _Visitor, rng: random.Random, start_ms: int) -> Json:
    first_seen_ms = start_ms - rng.randint(86_400_000, 30 * 86_400_000)
    anonymous_id = uuid7(first_seen_ms, rng)
    distinct_ids = [anonymous_id]
    if visitor.identified_as is not None:
        distinct_ids.append(visitor.identified_as)
    created_at = datetime.fromtimestamp(first_seen_ms / 1000, UTC)
    return {
        "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "name": visitor.identified_as or anonymous_id,
        "distinct_id": distinct_ids[-1],
        "distinct_ids": distinct_ids,
        "properties": dict(visitor.properties),
        "is_identified": visitor.identified_as is not None,
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
    }


def generate_session(scenario: str, *, seed: int = 0, start_ms: int = DEFAULT_START_MS) -> Json:
    """Play one scenario and return the recording as PostHog's export-to-file document."""
    script = _SCENARIOS.get(scenario)
    if script is None:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    rng = random.Random(f"recap-demo:{scenario}:{seed}")
    session_id = uuid7(start_ms, rng)
    window_id = uuid7(start_ms + rng.randint(0, 3), rng)
    person = _person(script.visitor, rng, start_ms)
    tab = SimulatedTab(rng, start_ms, window_id)
    script.play(tab)
    return {
        "version": EXPORT_VERSION,
        "data": {"id": session_id, "person": person, "snapshots": tab.events},
    }


def write_sample_sessions(
    directory: Path, *, seed: int = 0, scenarios: Sequence[str] = SCENARIOS
) -> list[SampleSession]:
    """Write `{session_id}.json` into `directory` for each scenario; say what was written."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[SampleSession] = []
    for scenario in scenarios:
        document = generate_session(scenario, seed=seed)
        session_id = document["data"]["id"]
        path = directory / f"{session_id}.json"
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        script = _SCENARIOS[scenario]
        written.append(
            SampleSession(
                session_id,
                scenario,
                script.description,
                path,
                expected_success=script.expected_success,
                known_outcome=script.known_outcome,
            )
        )
    return written
