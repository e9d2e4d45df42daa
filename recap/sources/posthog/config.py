"""Where PostHog is and how to read from it (`PostHogConfig`), built from the settings once
by the composition root, plus the scopes a personal API key needs."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from recap.recording.models import InvalidRecording
from recap.sources.posthog.errors import PostHogConfigError

if TYPE_CHECKING:
    from recap.core.config import Settings

READ_SCOPE: Final = "session_recording:read"
PLAYLIST_SCOPE: Final = "session_recording_playlist:read"
DEFAULT_BLOCKS_PER_REQUEST: Final = 10
# The snapshot API serves at most 20 blob keys per request to a personal API key.
MAX_BLOCKS_PER_REQUEST: Final = 20
DEFAULT_MAX_DECODED_BYTES: Final = 512 * 1024 * 1024
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")


def check_id(value: str, what: str) -> str:
    """`value` if it is safe to put in a URL path (letters, digits, '-', '_'), else an
    `InvalidRecording` naming `what` it was meant to be."""
    if not _SAFE_ID.fullmatch(value):
        raise InvalidRecording(
            f"invalid {what} {value[:80]!r}: expected letters, digits, '-' or '_'"
        )
    return value


class PostHogConfig(BaseModel):
    """Where PostHog is and how to read from it. The key prints as `**********`."""

    model_config = ConfigDict(frozen=True)

    host: str = "https://us.posthog.com"
    project_id: str
    api_key: SecretStr
    blocks_per_request: int = Field(DEFAULT_BLOCKS_PER_REQUEST, ge=1, le=MAX_BLOCKS_PER_REQUEST)
    page_size: int = Field(100, ge=1, le=1000)
    timeout_seconds: float = Field(60.0, gt=0)
    max_decoded_bytes: int | None = DEFAULT_MAX_DECODED_BYTES

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        url = httpx.URL(value.strip())
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(
                "RECAP_POSTHOG_HOST must be an http(s) URL such as https://us.posthog.com,"
                " https://eu.posthog.com or your self-hosted PostHog"
            )
        if url.userinfo or url.query or url.fragment:
            raise ValueError("RECAP_POSTHOG_HOST must not carry credentials, a query or a fragment")
        return str(url.copy_with(path=url.path.rstrip("/") or "/")).rstrip("/")

    @field_validator("project_id")
    @classmethod
    def _check_project(cls, value: str) -> str:
        if not _SAFE_ID.fullmatch(value):
            raise ValueError("RECAP_POSTHOG_PROJECT_ID must be a project or environment id")
        return value

    @field_validator("api_key")
    @classmethod
    def _check_key(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if not secret.strip() or any(c in secret for c in "\r\n"):
            raise ValueError("RECAP_POSTHOG_API_KEY must be a personal API key")
        return value

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> PostHogConfig:
        """The PostHog settings (RECAP_POSTHOG_*), or an error naming what is missing."""
        missing = [
            name
            for name, value in (
                ("RECAP_POSTHOG_PROJECT_ID", settings.posthog_project_id),
                ("RECAP_POSTHOG_API_KEY", settings.posthog_api_key),
            )
            if not value
        ]
        if missing:
            raise PostHogConfigError(
                f"the PostHog source needs {' and '.join(missing)} (a personal API key with"
                f" the {READ_SCOPE} scope); set them in the environment or .env"
            )
        values: dict[str, Any] = {
            "host": settings.posthog_host,
            "project_id": settings.posthog_project_id,
            "api_key": settings.posthog_api_key,
            "max_decoded_bytes": settings.timeline.max_decoded_bytes,
            **overrides,
        }
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(str(error["msg"]) for error in exc.errors())
            raise PostHogConfigError(f"invalid PostHog settings: {problems}") from None

    @property
    def api_root(self) -> str:
        return f"{self.host}/api/environments/{quote(self.project_id, safe='')}"

    def recording_url(self, session_id: str) -> str:
        sid = quote(check_id(session_id, "session id"), safe="")
        return f"{self.api_root}/session_recordings/{sid}/"

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.api_key.get_secret_value()}",
            "User-Agent": "recap (PostHog session summaries)",
            # What recap decodes itself, bounded (responses.BodyDecoder); never br or zstd.
            "Accept-Encoding": "gzip, deflate",
        }

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeout_seconds, connect=min(self.timeout_seconds, 15.0))
