"""Every API route answers with and without its trailing slash, with no redirect (issue 17,
gap 4): the documents print paths without it, PostHog's router accepts both, and httpx and
curl without `-L` do not follow a 307. No Temporal here: it points at a closed port, so a
request that needs it answers 503 on both forms, and the rest are served from a files
source and the store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from recap.api.app import create_app
from recap.core.config import Settings
from recap.demo.generator import write_sample_sessions
from recap.embedded.ports import free_port
from recap.services.journeys import save_journey
from recap.services.summary import store_summary
from recap.store.keys import READ_SCOPE, WRITE_SCOPE, KeyStore
from recap.store.reports import ReportStore
from recap.store.repository import store_for
from tests.support import journey_samples, report_samples
from tests.support.api_stack import serve
from tests.support.store_samples import summary

TEAM = "slashes-team"
REPORT_ID = "rp_00000000005a5e55"
JOURNEY_ID = "jn_00000000005a5e55"
DIGEST_ID = "dg_00000000000000d1"
# Answers that would mean the request never reached the route it names.
NOT_ROUTED = {307, 308, 404, 405}


@dataclass
class Deployment:
    settings: Settings
    token: str
    session_ids: list[str]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _deployment(tmp_path: Path, **overrides: Any) -> Deployment:
    recordings = tmp_path / "recordings"
    session_ids = [sample.session_id for sample in write_sample_sessions(recordings, seed=0)]
    settings = Settings(
        source=f"files:{recordings}",
        database_url=f"sqlite:///{tmp_path / 'recap.db'}",
        data_dir=tmp_path / "data",
        # Nothing listens there: a request that needs Temporal answers 503 at once.
        temporal_address=f"127.0.0.1:{free_port()}",
        **overrides,
    )
    store = store_for(settings.resolved_database_url)
    # A stored summary, so the first session has similar sessions to answer with.
    store_summary(
        team_id=TEAM, summary=summary("Checks out", session_id=session_ids[0]), store=store
    )
    # A stored pattern report, so `…/reports/{report_id}/` has one to answer.
    ReportStore(store).save_report(report_samples.report(TEAM, report_id=REPORT_ID))
    ReportStore(store).save_digest(report_samples.digest(TEAM, digest_id=DIGEST_ID))
    # A stored journey, so `…/persons/{distinct_id}/journey/` has one to answer.
    save_journey(store, journey_samples.stored_journey(TEAM, JOURNEY_ID, "someone@example.com"))
    keys = KeyStore(store)
    _, token = keys.create(team_id=TEAM, scopes=[READ_SCOPE, WRITE_SCOPE], label="slashes")
    return Deployment(settings=settings, token=token, session_ids=session_ids)


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    return _deployment(tmp_path)


@pytest.fixture
def client(deployment: Deployment) -> Iterator[TestClient]:
    with TestClient(create_app(deployment.settings), follow_redirects=False) as client:
        yield client


def _other_form(path: str) -> str:
    return path.removesuffix("/") if path.endswith("/") else path + "/"


def _concrete(template: str, deployment: Deployment) -> str:
    """A route's template with a value for each parameter. A new parameter name fails
    here until it gets a value, so no future route is silently skipped."""
    values = {
        "project_id": TEAM,
        "recording_id": deployment.session_ids[0],
        "session_id": deployment.session_ids[0],
        "workflow_id": f"session-batch:{TEAM}:slashes",
        "report_id": REPORT_ID,
        "digest_id": DIGEST_ID,
        "cluster_id": "c0ffee",
        "distinct_id": "someone@example.com",
    }
    return re.sub(r"{(\w+)(?::\w+)?}", lambda found: values[found.group(1)], template)


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) the app serves, its included routers' routes with
    their prefixes, as FastAPI's own OpenAPI generator walks them."""
    return sorted(
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if route.path is not None
        for method in route.methods or ()
        if method != "HEAD"
    )


def test_every_route_answers_both_forms_alike_without_a_redirect(
    deployment: Deployment, client: TestClient
) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    served = _routes(app)
    # The team routes under both prefixes, jobs, health, metrics and the docs at least.
    assert len(served) >= 16, served
    for method, template in served:
        documented = _concrete(template, deployment)
        answers = []
        for path in (documented, _other_form(documented)):
            # A POST with a body that fails validation: 400 once the route is reached.
            body = {"session_ids": "not a list"} if method == "POST" else None
            answers.append(client.request(method, path, headers=deployment.headers, json=body))
        plain, other = answers
        assert plain.status_code not in NOT_ROUTED, (method, documented, plain.text)
        assert other.status_code == plain.status_code, (method, template, other.text)
        if template != "/metrics":  # its counters moved with the first request
            assert other.content == plain.content, (method, template)


def test_the_openapi_document_lists_each_path_once_in_its_documented_form(
    client: TestClient,
) -> None:
    paths = list(client.get("/openapi.json").json()["paths"])
    assert len(paths) == len(set(paths))
    forms = {path.rstrip("/") for path in paths}
    assert len(forms) == len(paths), "a path is documented with and without its slash"
    assert "/api/projects/{project_id}/session_recordings/" in paths
    assert "/healthz" in paths


def test_the_alias_counts_under_the_route_template_and_logs_its_path(
    deployment: Deployment, client: TestClient
) -> None:
    listing = f"/api/projects/{TEAM}/session_recordings"
    with capture_logs() as logs:
        assert client.get(listing, headers=deployment.headers).status_code == 200
    # The log names the path as routed: one form per route, whichever the caller sent.
    logged = [entry for entry in logs if entry["event"] == "api request"]
    assert [entry["path"] for entry in logged] == [listing + "/"]
    assert logged[0]["key_id"] is not None  # the key authenticated on the alias
    exposition = client.get("/metrics").text
    template = 'route="/api/projects/{project_id}/session_recordings/"'
    assert any(
        line.startswith("recap_api_requests_total") and template in line and 'status="200"' in line
        for line in exposition.splitlines()
    ), exposition


def test_auth_and_rate_limits_hold_on_the_alias(tmp_path: Path) -> None:
    deployment = _deployment(tmp_path, api_rate_burst_per_minute=2)
    listing = f"/api/projects/{TEAM}/session_recordings"
    with TestClient(create_app(deployment.settings), follow_redirects=False) as client:
        assert client.get(listing).status_code == 401
        assert client.get(listing + "/").status_code == 401
        # One bucket for both forms: two requests spend the burst, the third is refused.
        assert client.get(listing + "/", headers=deployment.headers).status_code == 200
        assert client.get(listing, headers=deployment.headers).status_code == 200
        refused = client.get(listing, headers=deployment.headers)
        assert refused.status_code == 429
        assert "Retry-After" in refused.headers


def test_both_forms_over_http_with_httpx_and_no_redirects(deployment: Deployment) -> None:
    session_id = deployment.session_ids[0]
    base = f"/api/environments/{TEAM}"
    with (
        serve(deployment.settings) as url,
        httpx.Client(base_url=url, headers=deployment.headers, follow_redirects=False) as http,
    ):
        # The listing, a page at a time: its `next` link is the same on both forms.
        listings = [
            http.get(f"{base}/session_recordings{slash}", params={"limit": 1})
            for slash in ("", "/")
        ]
        for listing in listings:
            assert listing.status_code == 200, listing.text
        assert listings[0].json() == listings[1].json()
        assert listings[0].json()["next"] is not None

        recordings = [
            http.get(f"{base}/session_recordings/{session_id}{slash}") for slash in ("", "/")
        ]
        for recording in recordings:
            assert recording.status_code == 200, recording.text
            assert recording.json()["id"] == session_id
        assert recordings[0].json() == recordings[1].json()

        # A POST that fails validation: 400 on both forms, with the same error.
        batch = f"{base}/session_summaries/create_session_summaries_individually"
        posts = [http.post(batch + slash, json={"session_ids": []}) for slash in ("", "/")]
        for post in posts:
            assert post.status_code == 400, post.text
        assert posts[0].json() == posts[1].json()

        # The operator's endpoints answer on both forms too.
        for path in ("/healthz", "/healthz/"):
            assert http.get(path).status_code == 200
        assert http.get("/no-such-route").status_code == 404
        assert http.get("/no-such-route/").status_code == 404
