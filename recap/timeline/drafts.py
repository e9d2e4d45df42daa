"""The compiler's working records: timeline events under construction and what was seen
around them (requests, DOM changes), shared by the event pass and the signal pass."""

from __future__ import annotations

from dataclasses import dataclass, field

from recap.timeline.models import EventKind


@dataclass(slots=True)
class Draft:
    """A timeline event under construction (TimelineEvent is frozen)."""

    ts: int
    seq: int
    window: str
    kind: EventKind
    target: str | None = None
    value: str | None = None
    flags: list[str] = field(default_factory=list)
    effect: str | None = None
    url: str | None = None
    duration_ms: int | None = None
    react_ms: int | None = None
    count: int = 1
    node_id: int | None = None
    dropped: bool = False
    # Clicking into a form field changes focus, not the DOM: never a dead click.
    form_field: bool = False
    form_id: tuple[str, int, int] | None = None
    field_name: str | None = None
    # Every click merged into this one (repeats on the same spot): rage detection.
    click_times: list[int] = field(default_factory=list)
    # Parts of the effect seen while the action was being watched (DOM, navigation).
    dom_effect: str | None = None
    error_text: str | None = None

    def flag(self, name: str) -> None:
        if name not in self.flags:
            self.flags.append(name)

    @property
    def last_ts(self) -> int:
        return self.click_times[-1] if self.click_times else self.ts


@dataclass(slots=True, frozen=True)
class Request:
    """One network request the page made, as the network plugin recorded it."""

    ts: int
    window: str
    method: str
    path: str
    status: int | None
    duration_ms: int | None

    @property
    def failed(self) -> bool:
        return self.status is not None and (self.status >= 400 or self.status == 0)

    def describe(self) -> str:
        status = "failed" if self.status == 0 else (str(self.status) if self.status else "")
        took = f" {self.duration_ms}ms" if self.duration_ms is not None else ""
        return f"{self.method} {self.path} {status}{took}".replace("  ", " ").strip()
