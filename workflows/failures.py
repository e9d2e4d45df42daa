"""Per-session failures as fan-out workflows report them: the typed reason, found on the
failure's cause chain."""

from __future__ import annotations

from activities.failures import failure_type
from workflows.contracts import SessionFailure

__all__ = ["SessionFailure", "failure_type"]
