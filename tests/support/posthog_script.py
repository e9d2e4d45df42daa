"""A user's script for PostHog's replay and summary API, written only from PostHog's API
documents (`../shared/docs/posthog-api/`) and PostHog's server code, as a user would write
one: plain httpx, the paths as the documents print them (no trailing slash), the personal
API key where PostHog reads one. Nothing in it knows recap; the compatibility test points
it at recap's API instead of PostHog's."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

import httpx

KeyPlace = Literal["header", "body", "query"]


@dataclass
class ReplayScript:
    host: str
    project_id: str
    personal_api_key: str
    key_in: KeyPlace = "header"
    prefix: Literal["projects", "environments"] = "environments"

    def _url(self, path: str) -> str:
        return f"{self.host}/api/{self.prefix}/{self.project_id}/{path}"

    def _request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        timeout: float = 300,
    ) -> httpx.Response:
        params = dict(params or {})
        headers = {}
        if self.key_in == "header":
            headers["Authorization"] = f"Bearer {self.personal_api_key}"
        elif self.key_in == "query":
            params["personal_api_key"] = self.personal_api_key
        elif body is not None:
            body = {**body, "personal_api_key": self.personal_api_key}
        else:
            # PostHog reads a body key from POST/PATCH bodies only; a GET carries it in the query.
            params["personal_api_key"] = self.personal_api_key
        # Merged into the URL's own query: a `next` link already carries limit and offset.
        target = httpx.URL(url).copy_merge_params(params)
        return httpx.request(method, target, json=body, headers=headers, timeout=timeout)

    # -- session summaries --------------------------------------------------------------

    def summarize_individually(
        self, session_ids: list[str], focus_area: str | None = None
    ) -> dict[str, Any]:
        """`POST session_summaries/create_session_summaries_individually`: one entry per
        session, the summary or `{error, error_message}`."""
        body: dict[str, Any] = {"session_ids": session_ids}
        if focus_area:
            body["focus_area"] = focus_area
        url = self._url("session_summaries/create_session_summaries_individually")
        response = self._request("POST", url, body=body)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def stored_summary(self, session_id: str) -> dict[str, Any] | None:
        """`GET single_session_summaries/{session_id}`: None when nothing is stored."""
        response = self._request("GET", self._url(f"single_session_summaries/{session_id}"))
        if response.status_code == 404:
            return None
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def summaries_config(self) -> dict[str, Any]:
        response = self._request("GET", self._url("session_summaries/config"))
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def set_product_context(self, product_context: str) -> dict[str, Any]:
        response = self._request(
            "PATCH",
            self._url("session_summaries/config"),
            body={"product_context": product_context},
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    # -- recordings ---------------------------------------------------------------------

    def recording(self, session_id: str) -> dict[str, Any]:
        response = self._request("GET", self._url(f"session_recordings/{session_id}"))
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def recordings_by_has_next(self, limit: int, **filters: Any) -> list[dict[str, Any]]:
        """Paging as PostHog's own front end does: `offset` forward while `has_next`."""
        found: list[dict[str, Any]] = []
        offset = 0
        params = {key: _param(value) for key, value in filters.items()}
        while True:
            response = self._request(
                "GET",
                self._url("session_recordings"),
                params={**params, "limit": limit, "offset": offset},
            )
            response.raise_for_status()
            page = response.json()
            found.extend(page["results"])
            if not page["has_next"]:
                return found
            offset += limit

    def recordings_by_next(self, limit: int) -> list[dict[str, Any]]:
        """Paging as the documents show: follow `next` until it is null."""
        found: list[dict[str, Any]] = []
        url: str | None = self._url("session_recordings")
        params: dict[str, Any] | None = {"limit": limit}
        while url is not None:
            response = self._request("GET", url, params=params)
            response.raise_for_status()
            page = response.json()
            found.extend(page["results"])
            url, params = page["next"], None
        return found


def _param(value: Any) -> str:
    """PostHog's recordings query takes lists as JSON in the query string."""
    return json.dumps(value) if isinstance(value, list | dict) else str(value)
