"""Signals and event types of the timeline compiler, on small hand-built sessions.

Each test builds the events a browser would record for one behaviour and checks the
flag (or event) the compiler derives from them, and that it is absent when the
behaviour is absent.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from recap.core.config import Settings, TimelineConfig
from recap.sources import RawEvent
from recap.timeline import budget_timeline, compile_events, count_tokens, render_timeline
from recap.timeline.models import EventKind, Timeline, TimelineEvent

START = 1_700_000_000_000


def el(node_id: int, tag: str, attrs: dict[str, str] | None = None, *children: Any) -> Any:
    return {
        "type": 2,
        "id": node_id,
        "tagName": tag,
        "attributes": attrs or {},
        "childNodes": list(children),
    }


def text(node_id: int, content: str) -> Any:
    return {"type": 3, "id": node_id, "textContent": content}


PAGE = {
    "node": {
        "type": 0,
        "id": 1,
        "childNodes": [
            el(
                2,
                "html",
                {},
                el(
                    3,
                    "body",
                    {},
                    el(
                        10,
                        "form",
                        {"id": "checkout"},
                        el(11, "label", {"for": "email"}, text(12, "Email")),
                        el(13, "input", {"id": "email", "name": "email", "type": "email"}),
                        el(14, "input", {"name": "coupon", "placeholder": "Coupon code"}),
                        el(15, "button", {"data-testid": "pay-now"}, text(16, "Pay now")),
                    ),
                    el(20, "button", {"type": "button", "aria-label": "Close"}, text(21, "x")),
                    el(30, "div", {"id": "status"}),
                    el(40, "a", {"href": "/help?ref=nav"}, el(41, "svg")),
                    el(50, "video", {"title": "Intro video"}),
                    el(60, "p", {}, text(61, "Select this text please")),
                ),
            )
        ],
    }
}


class Session:
    def __init__(self, href: str = "https://shop.example/checkout") -> None:
        self.now = START
        self.events: list[RawEvent] = []
        self.next_id = 1000
        self.page(href)

    def at(self, delta: int, kind: int, data: Any, window: str = "w-a") -> Session:
        self.now += delta
        self.events.append(RawEvent(type=kind, timestamp=self.now, data=data, window_id=window))
        return self

    def page(self, href: str, delta: int = 0, window: str = "w-a") -> Session:
        self.at(delta, 4, {"href": href, "width": 1280, "height": 800}, window)
        return self.at(1, 2, copy.deepcopy(PAGE), window)

    def click(self, delta: int, node: int, x: int = 100, y: int = 100) -> Session:
        return self.at(delta, 3, {"source": 2, "type": 2, "id": node, "x": x, "y": y})

    def focus(self, delta: int, node: int) -> Session:
        return self.at(delta, 3, {"source": 2, "type": 5, "id": node})

    def blur(self, delta: int, node: int) -> Session:
        return self.at(delta, 3, {"source": 2, "type": 6, "id": node})

    def type(self, delta: int, node: int, value: str) -> Session:
        return self.at(delta, 3, {"source": 5, "id": node, "text": value, "isChecked": False})

    def show(self, delta: int, message: str, parent: int = 30) -> Session:
        self.next_id += 1
        add = {"parentId": parent, "nextId": None, "node": text(self.next_id, message)}
        return self.at(delta, 3, {"source": 0, "adds": [add], "removes": [], "texts": []})

    def request(self, delta: int, path: str, status: int, duration: int, method: str = "POST"):  # type: ignore[no-untyped-def]
        request = {
            "name": f"https://shop.example{path}",
            "method": method,
            "responseStatus": status,
            "duration": duration,
            "timestamp": self.now + delta,
        }
        return self.at(delta, 6, {"plugin": "rrweb/network@1", "payload": {"requests": [request]}})

    def console_error(self, delta: int, message: str) -> Session:
        payload = {
            "level": "error",
            "payload": [json.dumps(message)],
            "trace": ["pay (app.js:9:1)"],
        }
        return self.at(delta, 6, {"plugin": "rrweb/console@1", "payload": payload})

    def custom(self, delta: int, tag: str, payload: Any = None) -> Session:
        return self.at(delta, 5, {"tag": tag, "payload": payload or {}})

    def compile(self, config: TimelineConfig | None = None) -> Timeline:
        return compile_events(self.events, "s1", config=config)


def kind(timeline: Timeline, wanted: EventKind) -> list[TimelineEvent]:
    return [e for e in timeline.events if e.kind is wanted]


def test_labels_follow_the_matcher_order() -> None:
    s = Session().click(500, 16).click(4000, 21).click(4000, 41)
    s.focus(4000, 14).type(100, 14, "SAVE10").blur(100, 14)
    t = s.compile()
    clicks = [e.target for e in t.events if e.kind in (EventKind.CLICK, EventKind.SUBMIT)]
    # test id in brackets, then the accessible name: aria-label beats text, an icon-only
    # link is named by its path (never its query)
    assert clicks == ['button[pay-now] "Pay now"', 'button "Close"', 'link "/help"']
    assert kind(t, EventKind.INPUT)[0].target == 'input "Coupon code"'


def test_submit_button_in_a_form_is_a_submit() -> None:
    t = Session().click(500, 15).show(200, "Thanks!").compile()
    (submit,) = kind(t, EventKind.SUBMIT)
    assert submit.target == 'button[pay-now] "Pay now"'
    assert submit.effect == '+"Thanks!"'
    assert submit.react_ms == 200


def test_rage_clicks_are_one_event_with_a_count() -> None:
    s = Session()
    for delta in (500, 200, 200, 200):
        s.click(delta, 21, x=300, y=300)
    (rage,) = kind(s.compile(), EventKind.CLICK)
    assert rage.count == 4
    assert "rage" in rage.flags and "dead" in rage.flags
    assert "x4 [rage,dead]" in render_timeline(s.compile())


def test_clicks_spread_out_or_far_apart_are_not_rage() -> None:
    spread = Session()
    for _ in range(3):
        spread.click(600, 21, x=300, y=300)  # 3 clicks over 1.2 s
    assert all("rage" not in e.flags for e in spread.compile().events)
    far = Session().click(500, 21, x=0, y=0).click(100, 21, x=200, y=0).click(100, 21, x=0, y=200)
    clicks = kind(far.compile(), EventKind.CLICK)
    assert len(clicks) == 3 and all("rage" not in c.flags for c in clicks)


def test_rage_threshold_is_a_setting() -> None:
    s = Session()
    for delta in (500, 200, 200):
        s.click(delta, 21, x=300, y=300)
    assert "rage" in kind(s.compile(), EventKind.CLICK)[0].flags
    strict = TimelineConfig(rage_clicks=4)
    assert "rage" not in kind(s.compile(strict), EventKind.CLICK)[0].flags


def test_dead_click_needs_no_change_no_navigation_no_request() -> None:
    dead = Session().click(500, 21).show(3000, "late").compile()
    assert kind(dead, EventKind.CLICK)[0].flags == ["dead"]
    answered = Session().click(500, 21).request(100, "/api/close", 200, 50).compile()
    click = kind(answered, EventKind.CLICK)[0]
    assert "dead" not in click.flags
    assert click.effect == "POST /api/close 200 50ms"


def test_slow_click_reacts_after_a_second() -> None:
    slow = kind(Session().click(500, 21).show(1500, "Done").compile(), EventKind.CLICK)[0]
    assert slow.flags == ["slow"] and slow.react_ms == 1500
    quick = kind(Session().click(500, 21).show(300, "Done").compile(), EventKind.CLICK)[0]
    assert quick.flags == [] and quick.react_ms == 300
    relaxed = TimelineConfig(slow_click_ms=2000)
    late = Session().click(500, 21).show(1500, "Done").compile(relaxed)
    assert kind(late, EventKind.CLICK)[0].flags == []


def test_errors_after_an_action_and_errors_shown() -> None:
    s = Session().click(500, 15).request(100, "/api/pay", 402, 80).console_error(50, "declined")
    s.show(100, "Payment failed: card declined")
    t = s.compile()
    (submit,) = kind(t, EventKind.SUBMIT)
    assert {"error_after", "error_shown"} <= set(submit.flags)
    assert "POST /api/pay 402 80ms" in (submit.effect or "")
    (failure,) = kind(t, EventKind.NETWORK_ERROR)
    assert (failure.target, failure.value) == ("POST /api/pay", "402")
    (console,) = kind(t, EventKind.CONSOLE_ERROR)
    assert console.value == "declined" and console.target == "pay (app.js:9:1)"
    calm = Session().click(500, 15).request(100, "/api/pay", 200, 80).show(100, "Paid").compile()
    assert not {"error_after", "error_shown"} & set(kind(calm, EventKind.SUBMIT)[0].flags)


def test_a_long_list_that_mentions_failure_is_not_an_error_shown() -> None:
    s = Session().click(500, 21)
    s.next_id += 1
    adds = [
        {"parentId": 30, "nextId": None, "node": text(2000 + i, f"todo {i}: fix failure {i}")}
        for i in range(8)
    ]
    s.at(100, 3, {"source": 0, "adds": adds, "removes": [], "texts": []})
    assert "error_shown" not in kind(s.compile(), EventKind.CLICK)[0].flags


def test_status_zero_is_a_failed_request_and_slow_requests_are_reported() -> None:
    t = Session().request(500, "/api/a", 0, 10).request(100, "/api/b", 200, 4000).compile()
    failed, slow = kind(t, EventKind.NETWORK_ERROR)
    assert (failed.value, failed.flags) == ("0", ["failed"])
    assert (slow.target, slow.flags, slow.duration_ms) == ("POST /api/b", ["slow"], 4000)
    assert t.stats.network_errors == 1


def test_legacy_posthog_network_plugin_and_telemetry_is_ignored() -> None:
    s = Session()
    legacy = {"name": "https://shop.example/api/x", "method": "GET", "status": 500}
    s.at(100, 6, {"plugin": "posthog/network@1", "payload": legacy})
    beacon = {"name": "https://us.i.posthog.com/e/?ip=1", "method": "POST", "status": 500}
    s.at(100, 6, {"plugin": "rrweb/network@1", "payload": {"requests": [beacon]}})
    assert [e.target for e in kind(s.compile(), EventKind.NETWORK_ERROR)] == ["GET /api/x"]


def test_navigation_back_and_forth_is_thrash() -> None:
    s = Session("https://shop.example/a")
    for href in ("/b", "/a", "/b"):
        s.page(f"https://shop.example{href}", delta=3000)
    flags = [e.flags for e in kind(s.compile(), EventKind.NAVIGATION)]
    assert flags == [[], [], [], ["thrash"]]
    slow = Session("https://shop.example/a")
    for href in ("/b", "/a", "/b"):
        slow.page(f"https://shop.example{href}", delta=20_000)
    assert all(not e.flags for e in kind(slow.compile(), EventKind.NAVIGATION))


def test_typed_then_left_without_submitting_is_abandoned() -> None:
    s = Session().focus(500, 13).type(100, 13, "jane@example.com").blur(100, 13)
    s.page("https://shop.example/elsewhere", delta=2000)
    (typed,) = kind(s.compile(), EventKind.INPUT)
    assert typed.flags == ["abandoned"]
    assert typed.value == "<email>"
    submitted = Session().focus(500, 13).type(100, 13, "jane@example.com").blur(100, 13)
    submitted.click(500, 15).show(100, "Thanks")
    assert kind(submitted.compile(), EventKind.INPUT)[0].flags == []


def test_scrolls_collapse_into_depth() -> None:
    s = Session()
    for y in (0, 400, 900, 1600, 1200):
        s.at(100, 3, {"source": 3, "id": 1, "x": 0, "y": y})
    t = s.compile()
    (scroll,) = kind(t, EventKind.SCROLL)
    assert scroll.value == "down to 1200px (max 1600px)"
    assert t.session.max_scroll_y == 1600


def test_viewport_selection_and_media() -> None:
    s = Session().at(500, 3, {"source": 4, "width": 800, "height": 600})
    s.at(100, 3, {"source": 4, "width": 640, "height": 480})
    ranges = [{"start": 61, "startOffset": 0, "end": 61, "endOffset": 11}]
    s.at(500, 3, {"source": 14, "ranges": ranges})
    s.at(500, 3, {"source": 7, "type": 0, "id": 50})
    t = s.compile()
    assert [e.value for e in kind(t, EventKind.RESIZE)] == ["640x480"]
    assert [e.value for e in kind(t, EventKind.SELECTION)] == ["Select this"]
    (media,) = kind(t, EventKind.MEDIA)
    assert (media.target, media.value) == ('video "Intro video"', "play")


def test_pauses_offline_and_blind_time_are_gaps() -> None:
    s = Session()
    s.at(3000, 4, {"href": "https://shop.example/other"}, window="w-b")  # no snapshot yet
    s.at(2000, 2, copy.deepcopy(PAGE), window="w-b")
    s.custom(1000, "recording paused").custom(10_000, "recording resumed")
    s.custom(1000, "browser offline").custom(4000, "browser online")
    s.custom(100, "sessionIdle").custom(100, "sessionNoLongerIdle")
    t = s.compile()
    gaps = [(e.value, e.duration_ms) for e in kind(t, EventKind.GAP)]
    assert gaps == [
        ("no snapshot yet", 2000),
        ("recording paused", 10_000),
        ("browser offline", 4000),
    ]
    assert t.session.blind_ms == 12_000
    assert kind(t, EventKind.CUSTOM) == []  # PostHog's own bookkeeping stays out


def test_tab_switches_between_windows() -> None:
    s = Session()
    s.page("https://shop.example/docs", delta=1000, window="w-b")
    s.at(1000, 3, {"source": 2, "type": 2, "id": 21, "x": 1, "y": 1}, window="w-b")
    s.click(1000, 21)
    t = s.compile()
    tabs = [(e.window, e.target) for e in kind(t, EventKind.TAB)]
    assert tabs == [("w2", "to w2"), ("w1", "to w1")]
    assert "w2 click" in render_timeline(t)  # windows are shown once there are several


def test_unknown_and_malformed_events_are_counted_not_fatal() -> None:
    s = Session()
    s.at(100, 99, {"whatever": 1}).at(100, 3, {"source": 77}).at(100, 3, "not a dict")
    s.at(100, 6, {"plugin": "vendor/thing@1", "payload": {}})
    s.at(100, 3, {"source": 5, "id": "x", "text": "?"})
    t = s.compile()
    assert t.stats.skipped == {
        "malformed_event": 1,
        "malformed_input": 1,
        "unknown_plugin": 1,
        "unknown_source": 1,
        "unknown_type": 1,
    }
    assert t.stats.skipped_events == 5


def test_out_of_order_events_are_put_back_in_order() -> None:
    s = Session().click(500, 21).show(300, "Done")
    shuffled = [s.events[0], s.events[1], s.events[3], s.events[2]]
    assert compile_events(shuffled, "s1").events == s.compile().events


def test_thresholds_come_from_settings(monkeypatch: Any) -> None:
    monkeypatch.setenv("RECAP_TIMELINE__DEAD_CLICK_MS", "5000")
    monkeypatch.setenv("RECAP_TIMELINE__RAGE_RADIUS_PX", "10")
    settings = Settings()
    assert settings.timeline.dead_click_ms == 5000
    assert settings.timeline.rage_radius_px == 10
    late = Session().click(500, 21).show(3000, "late")
    assert kind(late.compile(settings.timeline), EventKind.CLICK)[0].flags == ["slow"]


def test_budget_collapses_repeats_and_keeps_every_signal() -> None:
    s = Session()
    for _ in range(40):
        s.at(2000, 3, {"source": 3, "id": 1, "x": 0, "y": 10})
        s.click(100, 16, x=5, y=5).show(100, "Added to cart")
    s.click(3000, 21, x=400, y=400)  # dead
    s.request(100, "/api/pay", 500, 30)
    full = s.compile()
    budget = count_tokens(render_timeline(full)) // 3
    trimmed = budget_timeline(full, budget)
    assert count_tokens(render_timeline(trimmed)) <= budget
    signals = [e for e in full.events if e.flags or e.kind is EventKind.NETWORK_ERROR]
    assert signals and all(trimmed.event(e.ref) is not None for e in signals)
    assert trimmed.stats.dropped.get("scroll", 0) > 0
    assert sum(trimmed.stats.dropped.values()) == trimmed.stats.truncated_events
    assert "omitted" in render_timeline(trimmed).split("\n")[4]


def test_iframes_and_shadow_dom_resolve_like_the_page() -> None:
    s = Session()
    frame = el(70, "iframe", {"src": "/pay-frame"})
    s.at(100, 3, {"source": 0, "adds": [{"parentId": 3, "nextId": None, "node": frame}]})
    document = {
        "type": 0,
        "id": 71,
        "rootId": 71,
        "childNodes": [
            el(72, "html", {}, el(73, "body", {}, el(74, "button", {}, text(75, "Confirm card"))))
        ],
    }
    s.at(100, 3, {"source": 0, "adds": [{"parentId": 70, "nextId": None, "node": document}]})
    host = el(80, "my-widget", {})
    host["isShadowHost"] = True
    inner = el(81, "button", {"aria-label": "Open chat"})
    inner["isShadow"] = True
    s.at(100, 3, {"source": 0, "adds": [{"parentId": 3, "nextId": None, "node": host}]})
    s.at(100, 3, {"source": 0, "adds": [{"parentId": 80, "nextId": None, "node": inner}]})
    s.click(1000, 75).show(100, "ok").click(1000, 81).show(100, "chat")
    t = s.compile()
    assert [c.target for c in kind(t, EventKind.CLICK)] == [
        'button "Confirm card"',
        'button "Open chat"',
    ]
    assert t.stats.unresolved_targets == 0
