"""A churn-heavy recording: a live operations dashboard whose DOM never rests.

The shop traffic of `recap.demo.big` changes little between clicks; real apps (dashboards,
chats, React lists) rewrite large, deeply nested subtrees every few hundred milliseconds.
Between the visitor's clicks, inputs and navigations the page here ticks on: metrics and
badges change text and attributes, chat messages arrive and old ones go, and the alert
list (about a thousand nodes, two dozen levels deep) is thrown away and rendered afresh, as a
key-less React re-render does. Deterministic by seed and streamed, like `big`.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from recap.demo.big import LargeRecording
from recap.demo.generator import DEFAULT_START_MS, SimulatedBrowser, SimulatedTab, tag
from recap.demo.groundtruth import TruthLog
from recap.demo.ops import (
    CHAT_KEPT,
    CHAT_LINES,
    INCIDENTS,
    LEVELS,
    METRICS,
    OPS,
    SERVICES,
    VISIBLE_ROWS,
    alert_rows,
    dashboard_body,
    incident_detail,
    incident_list,
    incidents_body,
)
from recap.demo.recordings import RecordingWriter
from recap.demo.streaming import write_streamed

# --- what the page does by itself -----------------------------------------------------------


class LivePage:
    """The page's own activity: between the visitor's actions it ticks every 150-400 ms.

    `wait` stands in for `SimulatedTab.pause` in the script, so the visitor's think time is
    filled with mutations, polls and the occasional failed poll, as on a real live page.
    """

    def __init__(self, tab: SimulatedTab) -> None:
        self.tab = tab
        self.rng = tab.rng
        self.page = "dashboard"
        self.paused = False
        self.level_filter: str | None = None
        self.renders = 0
        self.messages = 0
        self.chat: deque[str] = deque()
        self._next_render = 0
        self._next_poll = 0

    def loaded(self, page: str) -> None:
        """A fresh page load: nothing added since survives it."""
        self.page = page
        self.chat.clear()
        self._next_render = self.tab.now + self.rng.randint(1_500, 3_000)
        self._next_poll = self.tab.now + self.rng.randint(3_000, 6_000)

    def wait(self, low_ms: int, high_ms: int) -> None:
        tab = self.tab
        end = tab.now + self.rng.randint(low_ms, high_ms)
        while True:
            step = self.rng.randint(150, 400)
            if tab.now + step >= end:
                break
            tab.now = tab.now + step
            self._tick()
        tab.now = end

    def rerender_alerts(self) -> None:
        """The whole list replaced by a new one: every row a new node with a new id."""
        self.renders += 1
        dom = self.tab.dom
        removed = dom.remove("alerts_body")
        rows = alert_rows(self.rng, self.renders, self.level_filter)
        adds = dom.add(rows, parent="alerts_table", before="alerts_foot")
        self.tab.mutate(removes=[removed], adds=adds)

    def _tick(self) -> None:
        tab, rng = self.tab, self.rng
        if self.page == "incidents":
            # filtered out incidents have no status to change
            key = f"status_{rng.randrange(INCIDENTS)}"
            if tab.dom.has(key):
                status = rng.choice(("open", "mitigated", "resolved"))
                tab.mutate(texts=[tab.dom.text_change(key, status)])
            return
        if self.paused:
            self._metrics()
        elif tab.now >= self._next_render:
            self.rerender_alerts()
            self._next_render = tab.now + rng.randint(2_000, 4_000)
        elif tab.now >= self._next_poll:
            self._poll()
            self._next_poll = tab.now + rng.randint(4_000, 7_000)
        elif rng.random() < 0.5:
            self._metrics()
        elif rng.random() < 0.6:
            self.message(rng.choice(("Priya", "Tom", "Ana")), rng.choice(CHAT_LINES))
        else:
            self._badges()

    def _metrics(self) -> None:
        dom, rng = self.tab.dom, self.rng
        texts = [
            dom.text_change(f"metric_{i}", f"{rng.uniform(0, 999):.1f}")
            for i in rng.sample(range(len(METRICS)), rng.randint(2, len(METRICS)))
        ]
        texts += [
            dom.text_change(f"count_{level}", str(rng.randint(0, 60)))
            for level in ("all", "error", "warning")
            if rng.random() < 0.3
        ]
        self.tab.mutate(texts=texts)

    def _badges(self) -> None:
        dom, rng = self.tab.dom, self.rng
        # rows near the top, where the visitor's Acknowledge clicks land
        rows = rng.sample(range(VISIBLE_ROWS), rng.randint(2, 6))
        level = rng.choice(LEVELS)
        self.tab.mutate(
            texts=[dom.text_change(f"badge_{row}", level) for row in rows],
            attributes=[
                change
                for row in rows
                for change in (
                    dom.attribute_change(f"row_{row}", {"class": f"alert alert-{level} flash"}),
                    # the accessible name a click on the button is labelled with
                    dom.attribute_change(f"ack_{row}", {"aria-label": f"Acknowledge {level}"}),
                )
            ],
        )

    def message(self, author: str, text: str) -> None:
        dom = self.tab.dom
        self.messages += 1
        key = f"msg_{self.messages}"
        message = tag(
            "li",
            {"class": "message"},
            tag("span", {"class": "author"}, author),
            tag("p", {}, text),
            key=key,
        )
        removes = [dom.remove(self.chat.popleft())] if len(self.chat) >= CHAT_KEPT else []
        # newest first: inserted before the last message, so the adds carry a nextId
        newest = self.chat[-1] if self.chat else None
        self.chat.append(key)
        adds = dom.add(message, parent="chat_log", before=newest)
        self.tab.mutate(removes=removes, adds=adds)

    def _poll(self) -> None:
        tab = self.tab
        failed = self.rng.random() < 0.08
        tab.fetch(
            "/api/alerts", method="GET", status=503 if failed else 200, low_ms=40, high_ms=160
        )
        if failed:
            tab.console_error(
                "Error: failed to refresh alerts (HTTP 503)",
                [f"at pollAlerts ({OPS}/assets/live.js:112:9)"],
            )
            return
        # the Refresh button's accessible name says when the list was last updated, so a
        # click on it is labelled right only if attribute changes outside any click's
        # effects were applied too
        updated = time.strftime("%H:%M:%S", time.gmtime(tab.now // 1000))
        label = {"aria-label": f"Refresh alerts (updated {updated})"}
        tab.mutate(attributes=[tab.dom.attribute_change("refresh", label)])


# --- the visitor ----------------------------------------------------------------------------


def play_live_dashboard(browser: SimulatedBrowser, enough: Callable[[], bool]) -> None:
    """An on-call engineer watching the dashboard, until `enough()` says stop.

    Each round: filter the alerts, acknowledge one (now and then someone else was first),
    write in the chat, sometimes pause the feed, then look through the incidents page.
    """
    tab = browser.open_tab()
    live = LivePage(tab)
    rounds = 0
    while not enough():
        rounds += 1
        _dashboard_round(tab, live, first=rounds == 1)
        _incidents_round(tab, live)


def _dashboard_round(tab: SimulatedTab, live: LivePage, *, first: bool) -> None:
    rng = tab.rng
    body = dashboard_body(rng, live.renders)
    if first:
        tab.open_page(f"{OPS}/dashboard", title="Dashboard — Opsboard", body=body)
    else:
        tab.click("nav_dashboard")
        tab.navigate(f"{OPS}/dashboard", title="Dashboard — Opsboard", body=body)
    live.loaded("dashboard")
    live.level_filter = None
    live.wait(1_500, 3_000)
    level = rng.choice(("error", "warning"))
    tab.click(f"filter_{level}")
    live.level_filter = level
    tab.change_url(f"{OPS}/dashboard?level={level}")
    live.rerender_alerts()
    live.wait(1_000, 2_500)
    tab.scroll_to(rng.choice((240, 400)))
    live.wait(1_500, 3_000)
    tab.scroll_to(0)
    live.wait(500, 1_200)
    _acknowledge(tab, live, rng.randrange(VISIBLE_ROWS))
    live.wait(1_000, 2_000)
    tab.click("chat_input")
    line = rng.choice(CHAT_LINES)
    tab.type_text("chat_input", line)
    live.wait(300, 800)
    tab.click("chat_send")
    tab.fetch("/api/messages", method="POST", status=201, low_ms=60, high_ms=200)
    live.message("You", line)
    live.wait(1_500, 3_000)
    if rng.random() < 0.3:
        tab.click("pause_feed")
        live.paused = True
        tab.mutate(texts=[tab.dom.text_change("pause_feed", "Resume live updates")])
        live.wait(2_000, 5_000)
        tab.click("pause_feed")
        live.paused = False
        tab.mutate(texts=[tab.dom.text_change("pause_feed", "Pause live updates")])
        live.wait(1_000, 2_000)
    tab.click("refresh")
    tab.fetch("/api/alerts", method="GET", status=200, low_ms=80, high_ms=300)
    live.rerender_alerts()
    live.wait(1_000, 2_500)


def _acknowledge(tab: SimulatedTab, live: LivePage, row: int) -> None:
    """Acknowledge an alert; about one in seven was already taken by someone else."""
    rng = tab.rng
    tab.click(f"ack_{row}")
    if rng.random() < 0.15:
        tab.fetch(f"/api/alerts/{row}/ack", method="POST", status=409, low_ms=80, high_ms=250)
        tab.console_error(
            "Error: alert already acknowledged by another responder",
            [f"at acknowledge ({OPS}/assets/alerts.js:48:17)"],
        )
        toast = tag("div", {"class": "toast toast-error", "role": "alert"}, "Already acknowledged")
        tab.mutate(adds=tab.dom.add(toast, parent="toasts"))
        return
    tab.fetch(f"/api/alerts/{row}/ack", method="POST", status=200, low_ms=80, high_ms=250)
    tab.mutate(attributes=[tab.dom.attribute_change(f"ack_{row}", {"disabled": ""})])


def _incidents_round(tab: SimulatedTab, live: LivePage) -> None:
    rng = tab.rng
    tab.click("nav_incidents")
    tab.navigate(f"{OPS}/incidents", title="Incidents — Opsboard", body=incidents_body(rng))
    live.loaded("incidents")
    live.wait(1_500, 3_000)
    tab.click("incident_filter")
    query = rng.choice(SERVICES)
    tab.type_text("incident_filter", query)
    dom = tab.dom
    removed = dom.remove("incident_list")
    tab.mutate(removes=[removed], adds=dom.add(incident_list(rng, query), parent="incident_box"))
    live.wait(1_000, 2_500)
    number = rng.randrange(VISIBLE_ROWS)
    if dom.has(f"open_{number}"):
        tab.click(f"open_{number}")
        tab.change_url(f"{OPS}/incidents/INC-{4000 + number}")
        tab.mutate(adds=dom.add(incident_detail(rng, 4000 + number), parent="incident_detail"))
        live.wait(2_000, 4_000)
        tab.click("back")
        tab.mutate(removes=[dom.remove("detail_body")])
        tab.change_url(f"{OPS}/incidents")
    live.wait(1_000, 2_000)


# --- the file -------------------------------------------------------------------------------


def write_churn_recording(
    path: Path,
    size_bytes: int,
    *,
    seed: int = 0,
    compressed: bool = True,
    start_ms: int = DEFAULT_START_MS,
) -> LargeRecording:
    """Write a churn-heavy blob v2 recording of at least `size_bytes` (it stops after the
    round that gets there), deterministic for `seed`, with its ground-truth counts."""
    truth = TruthLog(keep_details=False)
    end_ms = start_ms

    def play(writer: RecordingWriter, rng: random.Random) -> None:
        nonlocal end_ms
        browser = SimulatedBrowser(rng, start_ms, sink=writer.write, truth=truth)
        play_live_dashboard(browser, enough=lambda: writer.written >= size_bytes)
        end_ms = browser.now

    writer, session_id = write_streamed(
        path, play, name="recap-churn", seed=seed, start_ms=start_ms, compressed=compressed
    )
    counts = truth.finish(session_id, start_ms, end_ms).counts
    return LargeRecording(path, writer.written, writer.events, session_id, counts)
