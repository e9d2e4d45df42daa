"""The doctor's PostHog checks: the host answers, the personal API key is accepted and
has the recordings scope, and the project's recordings can be listed."""

from __future__ import annotations

import httpx

from recap.core.config import Settings
from recap.doctor.report import CheckResult, result


class _LastStatus(httpx.AsyncBaseTransport):
    """Remembers the status of the last answer, so the doctor can tell a rejected key
    (401) from a missing scope (403) without parsing the client's error text."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.status: int | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        self.status = response.status_code
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def check_posthog(settings: Settings, timeout_seconds: float) -> list[CheckResult]:
    """PostHog answers at RECAP_POSTHOG_HOST, takes the key, the key has the
    `session_recording:read` scope, and the project's recordings can be listed."""
    from recap.recording.models import RecordingNotFound
    from recap.services.bootstrap import posthog_config
    from recap.sources.posthog import (
        READ_SCOPE,
        PostHogAuthError,
        PostHogClient,
        PostHogError,
        PostHogRedirectRefused,
    )

    host = settings.posthog_host
    project = settings.posthog_project_id or "(not set)"
    key_value = "RECAP_POSTHOG_API_KEY " + ("set" if settings.posthog_api_key else "not set")
    lines = {
        "posthog_host": ("PostHog host", host),
        "posthog_key": ("PostHog key", key_value),
        "posthog_scope": ("PostHog scope", READ_SCOPE),
        "posthog_project": ("PostHog project", project),
    }

    def report(failed: str, detail: str, fix: str, *, asked: bool = True) -> list[CheckResult]:
        """The lines before the failed one passed when PostHog was asked (else they were
        not checked), the failed one, and the lines after it not checked."""
        results: list[CheckResult] = []
        seen = False
        for name, (title, value) in lines.items():
            if name == failed:
                results.append(result(name, title, "fail", value, detail, fix))
                seen = True
            elif seen or not asked:
                why = f"not checked: {lines[failed][0]} failed"
                results.append(result(name, title, "skip", value, why))
            else:
                results.append(result(name, title, "pass", value, "ok"))
        return results

    if not settings.posthog_api_key:
        return report(
            "posthog_key",
            "RECAP_POSTHOG_API_KEY is not set",
            f"create a personal API key with the {READ_SCOPE} scope in PostHog (Settings → "
            "Personal API keys) and set RECAP_POSTHOG_API_KEY",
            asked=False,
        )
    if not settings.posthog_project_id:
        return report(
            "posthog_project",
            "RECAP_POSTHOG_PROJECT_ID is not set",
            "set RECAP_POSTHOG_PROJECT_ID to the number in your PostHog URL (/project/N)",
            asked=False,
        )
    try:
        config = posthog_config(settings, timeout_seconds=timeout_seconds, page_size=1)
    except PostHogError as error:
        return report("posthog_host", str(error), "fix the setting it names", asked=False)
    witness = _LastStatus()
    try:
        async with PostHogClient(config, transport=witness) as client:
            async for _ in client.list_recordings(limit=1):
                break
    except PostHogAuthError as error:
        if witness.status == 401:
            return report(
                "posthog_key",
                "PostHog rejected the key (401)",
                f"set RECAP_POSTHOG_API_KEY to a valid personal API key with the {READ_SCOPE} "
                "scope (PostHog: Settings → Personal API keys)",
            )
        if "scope" in str(error):
            return report(
                "posthog_scope",
                f"the key lacks the {READ_SCOPE} scope (PostHog answered 403)",
                f"edit the personal API key in PostHog and add the {READ_SCOPE} scope",
            )
        return report(
            "posthog_project",
            f"the key may not read project {project} (PostHog answered 403)",
            "give the key access to this project (or to all projects) in PostHog, or check "
            "RECAP_POSTHOG_PROJECT_ID",
        )
    except RecordingNotFound:
        return report(
            "posthog_project",
            f"project {project} not found at {host} (PostHog answered {witness.status})",
            "set RECAP_POSTHOG_PROJECT_ID to the number in your PostHog URL (/project/N), and "
            "RECAP_POSTHOG_HOST to the PostHog that holds it (US, EU or self-hosted)",
        )
    except PostHogRedirectRefused as error:
        return report("posthog_host", str(error), "set RECAP_POSTHOG_HOST to the final URL")
    except PostHogError as error:
        answered = f"answered {witness.status}" if witness.status else "no answer"
        return report(
            "posthog_host",
            f"{answered}: {error}",
            "check RECAP_POSTHOG_HOST (https://us.posthog.com, https://eu.posthog.com or your "
            "self-hosted PostHog) and the network; retry if PostHog was busy",
        )
    passed = {
        "posthog_host": "reachable",
        "posthog_key": "accepted",
        "posthog_scope": "present",
        "posthog_project": "recordings listed",
    }
    return [
        result(name, title, "pass", value, passed[name]) for name, (title, value) in lines.items()
    ]
