"""The typed reason behind a Temporal failure, found on its cause chain, written once for
the workflows that report per-session failures, the activity that joins another
workflow, and the starter that awaits one. Only temporalio's exception types: safe inside
the workflow sandbox."""

from __future__ import annotations

from temporalio.exceptions import ApplicationError, FailureError


def failure_type(error: BaseException, fallback: str) -> tuple[str, str]:
    """The typed reason (e.g. `recording_not_found`) and message of the first typed
    `ApplicationError` on `error`'s cause chain; `fallback` and the error's own message
    when nothing on the chain is typed."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ApplicationError) and cause.type:
            return cause.type, cause.message
        if isinstance(cause, FailureError):
            cause = cause.cause
            continue
        # A client's WorkflowFailureError carries the workflow's failure as `cause`.
        following = getattr(cause, "cause", None)
        cause = following if isinstance(following, BaseException) else cause.__cause__
    return fallback, str(error)
