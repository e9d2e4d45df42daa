"""The typed errors of the PostHog source: each carries a `code` and whether retrying may
help (`retryable`, `retry_after_seconds`), for the activity to map in one place."""

from __future__ import annotations

from recap.recording.models import RecordingError


class PostHogError(RecordingError):
    """Something went wrong talking to PostHog. `retryable` says whether trying again may
    help; `retry_after_seconds` is the delay PostHog asked for, if it named one."""

    code = "posthog_error"
    retryable = False

    def __init__(self, message: str, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class PostHogConfigError(PostHogError):
    code = "posthog_config"


class PostHogAuthError(PostHogError):
    """401 or 403: the key is wrong, lacks a scope, or cannot see the project."""

    code = "posthog_auth"


class PostHogBadRequest(PostHogError):
    code = "posthog_bad_request"


class PostHogBadResponse(PostHogError):
    """PostHog answered 200 with JSON of a shape recap does not know."""

    code = "posthog_bad_response"


class PostHogRedirectRefused(PostHogError):
    """PostHog (or a proxy) redirected to another host; the key is never sent there."""

    code = "posthog_redirect"


class PostHogUnavailable(PostHogError):
    """Network failure, timeout or a 5xx: worth retrying."""

    code = "posthog_unavailable"
    retryable = True


class PostHogRateLimited(PostHogUnavailable):
    code = "posthog_rate_limited"


class PostHogStreamCut(PostHogUnavailable):
    """A snapshot answer broke off mid-stream: retried whole, never summarized short."""


class RecordingNotReady(PostHogUnavailable):
    """PostHog has not stored any snapshot block of the recording yet."""

    code = "recording_not_ready"
