"""Per-session failures as fan-out workflows report them: the typed reason, found on the
failure's cause chain."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError, FailureError

from recap.jobs import SessionFailure

__all__ = ["SessionFailure", "failure_type"]


def failure_type(error: BaseException, fallback: str) -> tuple[str, str]:
    """The typed reason behind a child's or an activity's failure, e.g.
    `recording_not_found`, and its message; `fallback` when nothing on the chain is typed."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type:
            return cause.type, cause.message
        cause = cause.cause if isinstance(cause, FailureError) else None
    return fallback, str(error)
