"""A made-up live operations app (Opsboard): the pages and widgets the churn recording visits.

Every widget sits inside `NESTING` wrapper divs and the lists are long, so the dashboard
holds over a thousand nodes; buttons and fields carry keys and screen positions so a script can
click them by name, as in `recap.demo.shop`.
"""

from __future__ import annotations

import random
from typing import Final

from recap.demo.generator import ElementSpec, tag

OPS: Final = "https://ops.example.io"
NESTING: Final = 24
"""Wrapper divs around each live widget: layout components nest this deep in React apps."""
ALERT_ROWS: Final = 60
VISIBLE_ROWS: Final = 12
"""Rows whose Acknowledge button is on screen at the top of the page."""
INCIDENTS: Final = 40
CHAT_KEPT: Final = 30
"""The chat keeps this many messages; older ones are removed as new ones arrive."""
METRICS: Final = ("Requests/s", "p95 latency", "Error rate", "Queue depth", "CPU", "Memory")
SERVICES: Final = ("checkout", "payments", "search", "auth", "inventory", "email", "billing")
LEVELS: Final = ("info", "warning", "error")
PROBLEMS: Final = (
    "p95 latency above 800 ms",
    "error rate above 2%",
    "queue depth growing",
    "disk 91% full",
    "certificate expires in 6 days",
    "pod restarted 3 times",
    "replica lag 40 s",
)
CHAT_LINES: Final = (
    "looking into it",
    "rolling back the last deploy",
    "can someone check payments?",
    "latency is back to normal",
    "paging the database on-call",
    "acknowledged, watching the graphs",
)


def _fixed(
    name: str, attrs: dict[str, str], text: str, key: str, at: tuple[int, int]
) -> ElementSpec:
    """An element in the sticky header or toolbar: scrolling does not move it."""
    return tag(name, attrs, text, key=key, at=at, fixed=True)


def _header() -> ElementSpec:
    links = (("Dashboard", "dashboard", 420), ("Incidents", "incidents", 540))
    return tag(
        "header",
        {"class": "ops-header"},
        tag("a", {"href": "/", "class": "logo"}, "Opsboard"),
        tag(
            "nav",
            {"aria-label": "Main"},
            *(
                _fixed("a", {"href": f"/{path}"}, text, f"nav_{path}", (x, 28))
                for text, path, x in links
            ),
        ),
    )


def _nested(child: ElementSpec, name: str) -> ElementSpec:
    for level in range(NESTING):
        child = tag("div", {"class": f"{name}-{level} stack"}, child)
    return child


def alert_rows(rng: random.Random, serial: int, level_filter: str | None) -> ElementSpec:
    rows = []
    for row in range(ALERT_ROWS):
        level = level_filter or rng.choice(LEVELS)
        service = rng.choice(SERVICES)
        rows.append(
            tag(
                "tr",
                {"class": f"alert alert-{level}", "data-id": f"A-{serial}-{row}"},
                tag(
                    "td", {}, tag("time", {}, f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}")
                ),
                tag("td", {}, tag("span", {"class": "service"}, service)),
                tag("td", {}, tag("span", {"class": "message"}, rng.choice(PROBLEMS))),
                tag(
                    "td",
                    {},
                    tag("span", {"class": f"badge badge-{level}"}, level, key=f"badge_{row}"),
                ),
                tag(
                    "td",
                    {},
                    tag(
                        "button",
                        {"type": "button", "class": "btn btn-small", "data-testid": "ack"},
                        "Acknowledge",
                        key=f"ack_{row}",
                        at=(1180, 330 + row * 30),
                    ),
                ),
                key=f"row_{row}",
            )
        )
    return tag("tbody", {}, *rows, key="alerts_body")


def _chat_panel() -> ElementSpec:
    return tag(
        "aside",
        {"class": "chat"},
        tag("h2", {}, "On-call channel"),
        _nested(tag("ul", {"class": "chat-log", "aria-live": "polite"}, key="chat_log"), "chat"),
        tag(
            "form",
            {"id": "chat-form"},
            tag("label", {"for": "chat_input"}, "Message the on-call channel"),
            tag(
                "input",
                {"id": "chat_input", "name": "message", "type": "text"},
                key="chat_input",
                at=(1150, 850),
                fixed=True,
            ),
            _fixed("button", {"type": "submit", "class": "btn"}, "Send", "chat_send", (1380, 850)),
        ),
    )


def dashboard_body(rng: random.Random, serial: int) -> list[ElementSpec | str]:
    filters = (("All", "all"), ("Errors", "error"), ("Warnings", "warning"))
    # the filters show live counts, so their labels are only right if every text change
    # since the page loaded was applied, including those long after any click
    toolbar = [
        _fixed("button", {"type": "button", "class": "btn"}, "Refresh", "refresh", (140, 90)),
        _fixed("button", {"type": "button"}, "Pause live updates", "pause_feed", (310, 90)),
        *(
            tag(
                "button",
                {"type": "button", "class": "btn filter"},
                f"{text} ",
                tag("span", {"class": "count"}, "0", key=f"count_{level}"),
                key=f"filter_{level}",
                at=(480 + i * 170, 90),
                fixed=True,
            )
            for i, (text, level) in enumerate(filters)
        ),
    ]
    tiles = (
        tag("div", {"class": "tile"}, tag("h3", {}, name), tag("span", {}, "0", key=f"metric_{i}"))
        for i, name in enumerate(METRICS)
    )
    table = tag(
        "table",
        {"class": "alerts"},
        tag(
            "thead",
            {},
            tag("tr", {}, *(tag("th", {}, h) for h in ("Time", "Service", "Alert", "Level", ""))),
        ),
        alert_rows(rng, serial, None),
        tag("tfoot", {}, tag("tr", {}, tag("td", {"colspan": "5"}, "Live")), key="alerts_foot"),
        key="alerts_table",
    )
    return [
        _header(),
        tag("div", {"class": "toolbar", "role": "toolbar"}, *toolbar),
        tag(
            "main",
            {},
            _nested(tag("section", {"class": "metrics"}, *tiles), "metrics"),
            _nested(table, "grid"),
        ),
        _chat_panel(),
        tag("div", {"class": "toasts", "role": "status"}, key="toasts"),
    ]


def incident_list(rng: random.Random, query: str) -> ElementSpec:
    items = [
        tag(
            "li",
            {"class": "incident"},
            tag("span", {"class": "id"}, f"INC-{4000 + i}"),
            tag("span", {"class": "title"}, f"{rng.choice(SERVICES)}: {rng.choice(PROBLEMS)}"),
            tag("span", {"class": "status"}, rng.choice(("open", "mitigated")), key=f"status_{i}"),
            tag(
                "a",
                {"href": "javascript:void(0)"},
                "Open",
                key=f"open_{i}",
                at=(1200, 220 + i * 34),
            ),
        )
        for i in range(INCIDENTS)
        if not query or rng.random() < 0.7
    ]
    return tag("ul", {"class": "incidents"}, *items, key="incident_list")


def incidents_body(rng: random.Random) -> list[ElementSpec | str]:
    return [
        _header(),
        tag(
            "main",
            {},
            tag("h1", {}, "Incidents"),
            tag("label", {"for": "incident_filter"}, "Filter incidents"),
            tag(
                "input",
                {"id": "incident_filter", "type": "search"},
                key="incident_filter",
                at=(400, 140),
                fixed=True,
            ),
            _nested(
                tag("div", {"class": "list"}, incident_list(rng, ""), key="incident_box"), "list"
            ),
            tag("section", {"class": "detail"}, key="incident_detail"),
        ),
    ]


def incident_detail(rng: random.Random, number: int) -> ElementSpec:
    entries = (
        tag("li", {}, tag("time", {}, f"+{minute} min"), tag("p", {}, rng.choice(CHAT_LINES)))
        for minute in range(0, 120, 3)
    )
    return tag(
        "article",
        {},
        tag("h2", {}, f"INC-{number}"),
        _fixed(
            "button", {"type": "button", "class": "btn"}, "Back to incidents", "back", (200, 140)
        ),
        _nested(tag("ol", {"class": "incident-timeline"}, *entries), "detail"),
        key="detail_body",
    )
