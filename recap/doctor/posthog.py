"""The doctor's PostHog checks: the host answers, the personal API key is accepted and
has the recordings scope, and the project's recordings can be listed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import httpx

from recap.core.config import Settings
from recap.doctor.report import CheckResult, result

if TYPE_CHECKING:
    from recap.sources.posthog import PostHogAuthError, PostHogConfig

# What each line says when PostHog listed a recording.
_PASSED: Final = {
    "posthog_host": "reachable",
    "posthog_key": "accepted",
    "posthog_scope": "present",
    "posthog_project": "recordings listed",
}


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


@dataclass(frozen=True)
class _PostHogLines:
    """The check's four lines, in the order PostHog is asked about them: each one's name,
    title and value (what was checked)."""

    lines: dict[str, tuple[str, str]]

    @classmethod
    def of(cls, settings: Settings) -> _PostHogLines:
        from recap.sources.posthog import READ_SCOPE

        key_value = "RECAP_POSTHOG_API_KEY " + ("set" if settings.posthog_api_key else "not set")
        return cls(
            {
                "posthog_host": ("PostHog host", settings.posthog_host),
                "posthog_key": ("PostHog key", key_value),
                "posthog_scope": ("PostHog scope", READ_SCOPE),
                "posthog_project": ("PostHog project", _project(settings)),
            }
        )

    def failed(
        self, failed: str, detail: str, fix: str, *, asked: bool = True
    ) -> list[CheckResult]:
        """The lines before the failed one passed when PostHog was asked (else they were
        not checked), the failed one, and the lines after it not checked."""
        results: list[CheckResult] = []
        seen = False
        for name, (title, value) in self.lines.items():
            if name == failed:
                results.append(result(name, title, "fail", value, detail, fix))
                seen = True
            elif seen or not asked:
                why = f"not checked: {self.lines[failed][0]} failed"
                results.append(result(name, title, "skip", value, why))
            else:
                results.append(result(name, title, "pass", value, "ok"))
        return results

    def passed(self) -> list[CheckResult]:
        return [
            result(name, title, "pass", value, _PASSED[name])
            for name, (title, value) in self.lines.items()
        ]


def _project(settings: Settings) -> str:
    return settings.posthog_project_id or "(not set)"


async def check_posthog(settings: Settings, timeout_seconds: float) -> list[CheckResult]:
    """PostHog answers at RECAP_POSTHOG_HOST, takes the key, the key has the
    `session_recording:read` scope, and the project's recordings can be listed."""
    from recap.services.bootstrap import posthog_config
    from recap.sources.posthog import READ_SCOPE, PostHogError

    lines = _PostHogLines.of(settings)
    if not settings.posthog_api_key:
        return lines.failed(
            "posthog_key",
            "RECAP_POSTHOG_API_KEY is not set",
            f"create a personal API key with the {READ_SCOPE} scope in PostHog (Settings → "
            "Personal API keys) and set RECAP_POSTHOG_API_KEY",
            asked=False,
        )
    if not settings.posthog_project_id:
        return lines.failed(
            "posthog_project",
            "RECAP_POSTHOG_PROJECT_ID is not set",
            "set RECAP_POSTHOG_PROJECT_ID to the number in your PostHog URL (/project/N)",
            asked=False,
        )
    try:
        config = posthog_config(settings, timeout_seconds=timeout_seconds, page_size=1)
    except PostHogError as error:
        return lines.failed("posthog_host", str(error), "fix the setting it names", asked=False)
    return await _list_one_recording(settings, config, lines)


async def _list_one_recording(
    settings: Settings, config: PostHogConfig, lines: _PostHogLines
) -> list[CheckResult]:
    """Asks PostHog for one recording of the project; each way it can refuse fails the
    line it is about."""
    from recap.recording.models import RecordingNotFound
    from recap.sources.posthog import (
        PostHogAuthError,
        PostHogClient,
        PostHogError,
        PostHogRedirectRefused,
    )

    witness = _LastStatus()
    try:
        async with PostHogClient(config, transport=witness) as client:
            async for _ in client.list_recordings(limit=1):
                break
    except PostHogAuthError as error:
        return _auth_refused(settings, error, witness.status, lines)
    except RecordingNotFound:
        return lines.failed(
            "posthog_project",
            f"project {_project(settings)} not found at {settings.posthog_host} (PostHog "
            f"answered {witness.status})",
            "set RECAP_POSTHOG_PROJECT_ID to the number in your PostHog URL (/project/N), and "
            "RECAP_POSTHOG_HOST to the PostHog that holds it (US, EU or self-hosted)",
        )
    except PostHogRedirectRefused as error:
        return lines.failed("posthog_host", str(error), "set RECAP_POSTHOG_HOST to the final URL")
    except PostHogError as error:
        answered = f"answered {witness.status}" if witness.status else "no answer"
        return lines.failed(
            "posthog_host",
            f"{answered}: {error}",
            "check RECAP_POSTHOG_HOST (https://us.posthog.com, https://eu.posthog.com or your "
            "self-hosted PostHog) and the network; retry if PostHog was busy",
        )
    return lines.passed()


def _auth_refused(
    settings: Settings, error: PostHogAuthError, status: int | None, lines: _PostHogLines
) -> list[CheckResult]:
    """PostHog refused the key: it is wrong (401), lacks the scope, or may not read the
    project (403)."""
    from recap.sources.posthog import READ_SCOPE

    if status == 401:
        return lines.failed(
            "posthog_key",
            "PostHog rejected the key (401)",
            f"set RECAP_POSTHOG_API_KEY to a valid personal API key with the {READ_SCOPE} "
            "scope (PostHog: Settings → Personal API keys)",
        )
    if "scope" in str(error):
        return lines.failed(
            "posthog_scope",
            f"the key lacks the {READ_SCOPE} scope (PostHog answered 403)",
            f"edit the personal API key in PostHog and add the {READ_SCOPE} scope",
        )
    return lines.failed(
        "posthog_project",
        f"the key may not read project {_project(settings)} (PostHog answered 403)",
        "give the key access to this project (or to all projects) in PostHog, or check "
        "RECAP_POSTHOG_PROJECT_ID",
    )
