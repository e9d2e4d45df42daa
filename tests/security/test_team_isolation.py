"""Issue 16, finding 2: each team reads its own source. Two teams on two PostHog doubles
(two projects, two keys), served by one deployment — a worker process, the API, the
schedule and clustering activities — never see each other's recordings; person
properties stay hidden unless a team enables them; a team without a source gets a clear
error; the keys are sealed at rest.

Before this, every team read RECAP_SOURCE with the deployment's one PostHog key: team B
listed team A's recordings and every person's properties."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from typer.testing import CliRunner

from recap.cli.commands import app as cli_app
from recap.core.config import Settings, get_settings
from recap.demo.generator import write_sample_sessions
from recap.services.bootstrap import SourceUnavailable, source_opener, team_store
from recap.services.scheduled_run import ScheduledSummariesInput
from recap.store.keys import READ_SCOPE, WRITE_SCOPE, KeyStore
from recap.store.repository import store_for
from recap.store.secrets import SecretBox
from tests.support.api_stack import serve, worker_process
from tests.support.model_double import chat_server, grounded_reply
from tests.support.posthog_double import PostHogDouble, posthog_double

ROOT = Path(__file__).resolve().parents[2]
BATCH = "/session_summaries/create_session_summaries_individually/"
PERSON = {"email": "ann.lee@example.com", "name": "Ann Lee", "$ip": "203.0.113.7"}


@dataclass
class Deployment:
    url: str
    settings: Settings
    environment: dict[str, str]
    doubles: dict[str, PostHogDouble]
    sessions: dict[str, list[str]]
    tokens: dict[str, str]

    def headers(self, team: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[team]}"}


@pytest.fixture(scope="module")
def doubles() -> Iterator[dict[str, PostHogDouble]]:
    with (
        posthog_double(api_key="phx_team_alpha_key_0123456789", project_id="101") as alpha,
        posthog_double(api_key="phx_team_beta_key_9876543210", project_id="202") as beta,
    ):
        yield {"alpha": alpha, "beta": beta}


@pytest.fixture(scope="module")
async def deployment(
    temporal_env: WorkflowEnvironment,
    doubles: dict[str, PostHogDouble],
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Deployment]:
    root = tmp_path_factory.mktemp("two-teams")
    sessions: dict[str, list[str]] = {}
    for seed, team in enumerate(("alpha", "beta")):
        written = write_sample_sessions(root / team, seed=seed + 7, scenarios=["checkout_failure"])
        written += write_sample_sessions(root / team, seed=seed + 17, scenarios=["signup_success"])
        for sample in written:
            doubles[team].add_file(
                root / team / f"{sample.session_id}.json",
                distinct_id=PERSON["email"],
                person_properties=PERSON,
            )
        sessions[team] = sorted(sample.session_id for sample in written)
    assert not set(sessions["alpha"]) & set(sessions["beta"])
    secret_key = SecretBox.generate()
    with chat_server() as model:
        model.responder = grounded_reply
        environment = {
            "RECAP_TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
            "RECAP_TASK_QUEUE": f"teams-{uuid.uuid4().hex[:8]}",
            "RECAP_LLM_TASK_QUEUE": f"teams-llm-{uuid.uuid4().hex[:8]}",
            "RECAP_LLM_BASE_URL": model.base_url,
            "RECAP_LLM_MODEL": "served-model",
            "RECAP_DATABASE_URL": f"sqlite:///{root / 'recap.db'}",
            "RECAP_DATA_DIR": str(root / "data"),
            "RECAP_SECRET_KEY": secret_key,
            # No team reads the deployment's source: each reads its own or nothing.
            "RECAP_SOURCE_TEAMS": "",
            "RECAP_SOURCE": f"files:{root / 'nobody'}",
            "RECAP_ALLOWED_SOURCES": "",
            "RECAP_LOG_FORMAT": "json",
        }
        settings = Settings(
            temporal_address=environment["RECAP_TEMPORAL_ADDRESS"],
            task_queue=environment["RECAP_TASK_QUEUE"],
            llm_task_queue=environment["RECAP_LLM_TASK_QUEUE"],
            database_url=environment["RECAP_DATABASE_URL"],
            data_dir=Path(environment["RECAP_DATA_DIR"]),
            secret_key=secret_key,
            source_teams="",
            source=environment["RECAP_SOURCE"],
            allowed_sources="",
            api_wait_timeout_seconds=120,
        )
        teams = team_store(settings)
        for team, double in doubles.items():
            teams.create(team)
            teams.set_posthog_source(
                team, host=double.base_url, project_id=double.project_id, api_key=double.api_key
            )
        teams.create("gamma")  # registered, no source
        keys = KeyStore(store_for(settings.resolved_database_url))
        tokens = {
            team: keys.create(team_id=team, scopes=[READ_SCOPE, WRITE_SCOPE])[1]
            for team in ("alpha", "beta", "gamma")
        }
        try:
            async with worker_process(environment, root / "worker.log"):
                with serve(settings) as url:
                    yield Deployment(url, settings, environment, doubles, sessions, tokens)
        finally:
            get_settings.cache_clear()


def _keys_seen(double: PostHogDouble) -> set[str]:
    return {request.headers.get("authorization", "") for request in double.requests}


async def test_each_team_lists_and_reads_only_its_own_project(deployment: Deployment) -> None:
    alpha, beta = deployment.sessions["alpha"], deployment.sessions["beta"]
    async with httpx.AsyncClient(base_url=deployment.url, timeout=30) as http:
        listed = {}
        for team in ("alpha", "beta"):
            response = await http.get(
                f"/api/projects/{team}/session_recordings/", headers=deployment.headers(team)
            )
            assert response.status_code == 200, response.text
            listed[team] = sorted(item["id"] for item in response.json()["results"])
        other_project = await http.get(
            f"/api/projects/alpha/session_recordings/{beta[0]}/",
            headers=deployment.headers("alpha"),
        )
        own = await http.get(
            f"/api/projects/beta/session_recordings/{beta[0]}/", headers=deployment.headers("beta")
        )
        foreign_path = await http.get(
            f"/api/projects/beta/session_recordings/{beta[0]}/",
            headers=deployment.headers("alpha"),
        )
        no_source = await http.get(
            "/api/projects/gamma/session_recordings/", headers=deployment.headers("gamma")
        )
    assert listed == {"alpha": alpha, "beta": beta}
    assert other_project.status_code == 404, other_project.text
    assert own.status_code == 200 and own.json()["id"] == beta[0]
    assert foreign_path.status_code == 404
    assert no_source.status_code == 503
    assert no_source.json()["code"] == "team_has_no_source"
    assert "recap teams set-source" in no_source.json()["detail"]
    # Each project was read with its own team's key only.
    for team, double in deployment.doubles.items():
        assert _keys_seen(double) == {f"Bearer {double.api_key}"}, team


async def test_person_properties_are_hidden_unless_the_team_enables_them(
    deployment: Deployment,
) -> None:
    session_id = deployment.sessions["alpha"][0]
    path = f"/api/projects/alpha/session_recordings/{session_id}/"
    async with httpx.AsyncClient(
        base_url=deployment.url, headers=deployment.headers("alpha"), timeout=30
    ) as http:
        hidden = (await http.get(path)).json()
        listing = (await http.get("/api/projects/alpha/session_recordings/")).json()
        team_store(deployment.settings).set_person_properties("alpha", True)
        try:
            shown = (await http.get(path)).json()
        finally:
            team_store(deployment.settings).set_person_properties("alpha", False)
    person = hidden["person"]
    assert person["properties"] is None
    assert person["distinct_ids"] == [PERSON["email"]] and person["uuid"] and person["id"] == 1
    # The display name was the email address: redacted.
    assert PERSON["email"] not in (person["name"] or "")
    # The distinct id is the email here, and ids stay; the properties' other values do not.
    assert PERSON["name"] not in str(listing) and PERSON["$ip"] not in str(listing)
    assert PERSON["name"] not in str(hidden) and PERSON["$ip"] not in str(hidden)
    assert all(item["person"]["properties"] is None for item in listing["results"])
    assert shown["person"]["properties"] == PERSON


async def test_workers_summarize_from_the_callers_team_source(deployment: Deployment) -> None:
    alpha, beta = deployment.sessions["alpha"], deployment.sessions["beta"]
    async with httpx.AsyncClient(base_url=deployment.url, timeout=180) as http:
        mixed = await http.post(
            f"/api/projects/alpha{BATCH}",
            json={"session_ids": [alpha[0], beta[0]]},
            headers=deployment.headers("alpha"),
        )
        own = await http.post(
            f"/api/projects/beta{BATCH}",
            json={"session_ids": [beta[0]]},
            headers=deployment.headers("beta"),
        )
        sourceless = await http.post(
            f"/api/projects/gamma{BATCH}",
            json={"session_ids": [alpha[0]]},
            headers=deployment.headers("gamma"),
        )
    assert mixed.status_code == 200, mixed.text
    results = mixed.json()
    assert results[alpha[0]]["session_outcome"]["description"]
    # Team alpha's worker call looked in alpha's project only: beta's recording is not there.
    assert results[beta[0]]["error"] == "recording_not_found"
    assert own.json()[beta[0]]["session_outcome"]["description"]
    failed = sourceless.json()[alpha[0]]
    # PostHog's error names stay as they are; the message says what is wrong.
    assert failed["error"] == "summary_failed"
    assert "recap teams set-source" in failed["error_message"]
    store = store_for(deployment.settings.resolved_database_url)
    assert store.get_summary(team_id="alpha", session_id=beta[0]) is None
    assert store.get_summary(team_id="gamma", session_id=alpha[0]) is None
    beta_snapshots = [r for r in deployment.doubles["beta"].requests if "snapshots" in r.path]
    assert beta_snapshots and all(beta[0] in r.path for r in beta_snapshots)
    for team, double in deployment.doubles.items():
        assert _keys_seen(double) == {f"Bearer {double.api_key}"}, team


async def test_schedules_and_clusters_read_the_teams_own_source(deployment: Deployment) -> None:
    """The worker's schedule and clustering activities, built as the worker builds them."""
    from worker import build_activities

    settings = deployment.settings
    built = build_activities(settings)
    run = ScheduledSummariesInput(
        schedule_id=f"teams-{uuid.uuid4().hex[:6]}",
        team_id="beta",
        initial_lookback_seconds=20 * 365 * 86_400,
        settle_delay_seconds=0,
    )
    from activities.schedule import ListScheduledRecordingsInput

    listed = await ActivityEnvironment().run(
        built.schedule.list_scheduled_recordings,
        ListScheduledRecordingsInput(request=run, now=datetime.now(UTC) + timedelta(days=1)),
    )
    assert sorted(listed.session_ids) == deployment.sessions["beta"]
    with pytest.raises(ApplicationError, match="team gamma has no recording source") as refused:
        await ActivityEnvironment().run(
            built.schedule.list_scheduled_recordings,
            ListScheduledRecordingsInput(
                request=run.model_copy(update={"team_id": "gamma"}), now=datetime.now(UTC)
            ),
        )

    assert refused.value.type == "team_has_no_source" and refused.value.non_retryable

    from activities.clusters import ExtractSessionErrorsInput

    alpha_id, beta_id = deployment.sessions["alpha"][-1], deployment.sessions["beta"][-1]
    own = ActivityEnvironment().run(
        built.clusters.extract_session_errors,
        ExtractSessionErrorsInput(team_id="alpha", session_id=alpha_id),
    )
    assert own.compiled  # compiled from alpha's own project
    with pytest.raises(ApplicationError) as missing:
        ActivityEnvironment().run(
            built.clusters.extract_session_errors,
            ExtractSessionErrorsInput(team_id="alpha", session_id=beta_id),
        )
    assert missing.value.type == "recording_not_found"
    with pytest.raises(ApplicationError) as named:
        ActivityEnvironment().run(
            built.clusters.extract_session_errors,
            ExtractSessionErrorsInput(team_id="alpha", session_id=beta_id, source="posthog"),
        )
    assert named.value.type == "recording_not_found"  # "posthog" is alpha's own project
    for team, double in deployment.doubles.items():
        assert _keys_seen(double) == {f"Bearer {double.api_key}"}, team


def test_team_keys_are_sealed_at_rest_and_refused_without_a_secret_key(
    deployment: Deployment,
) -> None:
    database = Path(deployment.settings.resolved_database_url.removeprefix("sqlite:///"))
    raw = b"".join(
        path.read_bytes() for path in database.parent.glob(database.name + "*") if path.is_file()
    )
    for double in deployment.doubles.values():
        assert double.api_key.encode() not in raw
    get_settings.cache_clear()
    listed = CliRunner().invoke(cli_app, ["teams", "list", "--json"], env=deployment.environment)
    assert listed.exit_code == 0, listed.output
    assert "phx_team" not in listed.output and '"team_id": "alpha"' in listed.output
    # Without RECAP_SECRET_KEY nothing is stored, and a team's key cannot be opened.
    get_settings.cache_clear()
    refused = CliRunner().invoke(
        cli_app,
        ["teams", "set-source", "alpha", "--posthog-project-id", "101"],
        input="phx_new_key_0123456789\n",
        env={**deployment.environment, "RECAP_SECRET_KEY": None},
    )
    get_settings.cache_clear()
    assert refused.exit_code == 2, refused.output
    assert "RECAP_SECRET_KEY" in refused.output
    other_key = deployment.settings.model_copy(
        update={"secret_key": SecretStr(SecretBox.generate())}
    )
    with pytest.raises(SourceUnavailable, match="stored under another key"):
        source_opener(other_key).resolve("alpha")
    get_settings.cache_clear()
