"""Maps recap's domain errors to Temporal's typed ApplicationErrors, in one place, and
counts each one by type (`recap_errors_total`).

The error `type` is what operators see and what batch workflows report per session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from temporalio.exceptions import ApplicationError

from recap.core import metrics
from recap.core.logging import get_logger
from recap.llm.client import LLMError
from recap.llm.gate import SummaryInvalid
from recap.recording.models import RecordingError
from recap.services.bootstrap import SourceUnavailable
from recap.services.budget import BudgetExceeded
from recap.services.clusters import ClusterMissing
from recap.services.delivery import DeliveryRejected, DeliveryRetryable, DeliveryUnavailable
from recap.services.digest import DigestReportMissing
from recap.services.summary import TimelineMissing
from recap.sources.posthog import PostHogError

log = get_logger(__name__)
INTERNAL_ERROR = "internal_error"

NON_RETRYABLE_TYPES = (
    "recording_not_found",
    "posthog_auth",
    "posthog_config",
    "posthog_bad_request",
    "posthog_bad_response",
    "posthog_redirect",
    "invalid_recording",
    "no_events_or_too_short",
    "source_unavailable",
    "source_not_allowed",
    "team_has_no_source",
    "timeline_missing",
    "summary_invalid",
    "llm_auth",
    "llm_bad_request",
    # A team's daily model budget is spent: retrying before the UTC day turns cannot help.
    "budget_exceeded",
)


def to_application_error(error: Exception) -> ApplicationError:
    typed = _typed(error)
    metrics.error(typed.type or "unknown", retryable=not typed.non_retryable)
    return typed


def _typed(error: Exception) -> ApplicationError:
    if isinstance(error, ApplicationError):
        return error
    if isinstance(error, LLMError):
        # The server's Retry-After replaces the retry policy's backoff for the next attempt.
        delay = (
            timedelta(seconds=error.retry_after_seconds)
            if error.retryable and error.retry_after_seconds
            else None
        )
        return ApplicationError(
            str(error),
            type=error.code,
            non_retryable=not error.retryable,
            next_retry_delay=delay,
        )
    if isinstance(error, PostHogError):
        # PostHog failures may be transient (429, 5xx, a cut body): retry those, after the
        # delay PostHog asked for. Never sleep in the activity.
        delay = (
            timedelta(seconds=error.retry_after_seconds)
            if error.retryable and error.retry_after_seconds
            else None
        )
        return ApplicationError(
            str(error), type=error.code, non_retryable=not error.retryable, next_retry_delay=delay
        )
    if isinstance(error, DeliveryRetryable):
        # 5xx, 429 (after its Retry-After), timeouts: Temporal's backoff, never a sleep here.
        delay = timedelta(seconds=error.retry_after_seconds) if error.retry_after_seconds else None
        return ApplicationError(str(error), type=error.code, next_retry_delay=delay)
    # A destination refused a delivery (4xx other than 429), or it or its item is gone.
    if isinstance(
        error,
        DeliveryRejected
        | DeliveryUnavailable
        | RecordingError
        | SourceUnavailable
        | TimelineMissing
        | SummaryInvalid
        | ClusterMissing
        | DigestReportMissing
        | BudgetExceeded,
    ):
        return ApplicationError(str(error), type=error.code, non_retryable=True)
    # An unexpected error's text can carry addresses, paths or data: it goes to the worker's
    # log, and Temporal's history gets only its type.
    log.error("unexpected activity error", error_type=type(error).__name__, exc_info=error)
    return ApplicationError(
        f"unexpected {type(error).__name__} (details in the worker's log)", type=INTERNAL_ERROR
    )


@contextmanager
def typed_errors() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        failure = to_application_error(error)
        # An internal error's cause would carry its text into the history after all.
        raise failure from (None if failure.type == INTERNAL_ERROR else error)
