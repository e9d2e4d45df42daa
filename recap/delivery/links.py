"""Where people open what a message mentions: the report in recap's API, and each example
session in PostHog's replay (when the team reads PostHog) or in recap's recording endpoint.

No link is invented: without RECAP_API_PUBLIC_URL recap's own links are left out."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


def _part(text: str) -> str:
    return quote(text, safe="")


@dataclass(frozen=True)
class Links:
    team_id: str
    public_url: str | None = None
    posthog_host: str | None = None
    posthog_project_id: str | None = None

    def report(self, report_id: str) -> str | None:
        if self.public_url is None:
            return None
        return (
            f"{self.public_url.rstrip('/')}/api/projects/{_part(self.team_id)}"
            f"/session_summaries/reports/{_part(report_id)}/"
        )

    def session(self, session_id: str, t_ms: int = 0) -> str | None:
        """PostHog's replay at the example's moment, else recap's recording endpoint."""
        if self.posthog_host is not None and self.posthog_project_id is not None:
            return (
                f"{self.posthog_host.rstrip('/')}/project/{_part(self.posthog_project_id)}"
                f"/replay/{_part(session_id)}?t={max(0, t_ms) // 1000}"
            )
        if self.public_url is None:
            return None
        return (
            f"{self.public_url.rstrip('/')}/api/projects/{_part(self.team_id)}"
            f"/session_recordings/{_part(session_id)}/"
        )
