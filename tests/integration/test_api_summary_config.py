"""The team's summaries configuration (issue 17, gap 8): `GET`/`PATCH
…/session_summaries/config/` as PostHog's endpoint (a product context of at most 10,000
characters, its `<product_context>` tags removed), plus recap's custom tags; per team, and
shown to the model in place of the deployment's RECAP_PRODUCT_CONTEXT.

Through the real app (no Temporal: the configuration needs the store only), and the real
model activity against the loopback OpenAI-protocol server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.models import SummarizeTimelineInput
from recap.core.config import Settings
from recap.demo.generator import write_sample_sessions
from recap.embedded.ports import free_port
from recap.services import summary as pipeline
from recap.sources.files import DirectorySource
from recap.store.keys import READ_SCOPE, WRITE_SCOPE, KeyStore
from recap.store.repository import store_for
from recap.store.summary_config import SummaryConfigStore
from tests.support.api_stack import serve
from tests.support.model_double import chat_server, grounded_reply
from worker import build_activities

A = "/api/projects/team-a/session_summaries/config/"
B = "/api/projects/team-b/session_summaries/config/"


@dataclass
class Deployment:
    settings: Settings
    url: str
    # team -> "rw" | "read" -> token
    tokens: dict[str, dict[str, str]]

    def client(self, team: str = "team-a", scopes: str = "rw") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[team][scopes]}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'recap.db'}",
        data_dir=tmp_path / "data",
        source=f"files:{tmp_path}",
        # Nothing listens there: the configuration needs no Temporal.
        temporal_address=f"127.0.0.1:{free_port()}",
    )
    keys = KeyStore(store_for(settings.resolved_database_url))
    tokens = {
        team: {
            "rw": keys.create(team_id=team, scopes=[READ_SCOPE, WRITE_SCOPE], label="rw")[1],
            "read": keys.create(team_id=team, scopes=[READ_SCOPE], label="read")[1],
        }
        for team in ("team-a", "team-b")
    }
    with serve(settings) as url:
        yield Deployment(settings, url, tokens)


def _is_error(response: httpx.Response, status: int, code: str, attr: str | None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"type", "code", "detail", "attr"}
    assert body["code"] == code
    assert body["attr"] == attr
    assert body["detail"]


def test_default_then_partial_updates(deployment: Deployment) -> None:
    with deployment.client() as http:
        default = http.get(A)
        context = http.patch(A, json={"product_context": "  A shop for garden tools.  "})
        tags = http.patch(A, json={"custom_tags": ["checkout", "mobile"]})
        neither = http.patch(A, json={})
        after = http.get("/api/environments/team-a/session_summaries/config")
    assert default.status_code == 200, default.text
    assert default.json() == {"product_context": "", "custom_tags": []}
    assert context.status_code == 200, context.text
    # Trimmed; the tags untouched by a PATCH that does not name them.
    assert context.json() == {"product_context": "A shop for garden tools.", "custom_tags": []}
    assert tags.json() == {
        "product_context": "A shop for garden tools.",
        "custom_tags": ["checkout", "mobile"],
    }
    assert neither.json() == tags.json()
    # Both prefixes, with or without the slash, read the same team's configuration.
    assert after.status_code == 200
    assert after.json() == tags.json()

    with deployment.client() as http:
        cleared = http.patch(A, json={"product_context": "", "custom_tags": []})
    assert cleared.json() == {"product_context": "", "custom_tags": []}


def test_product_context_limit_and_tag_stripping(deployment: Deployment) -> None:
    with deployment.client() as http:
        longest = http.patch(A, json={"product_context": "x" * 10_000})
        stored = http.get(A).json()["product_context"]
        too_long = http.patch(A, json={"product_context": "x" * 10_001})
        unchanged = http.get(A).json()["product_context"]
        tagged = http.patch(
            A,
            json={
                "product_context": " <product_context>Bikes for rent</product_context>"
                "</PRODUCT_CONTEXT>< product_context >. "
            },
        )
        null = http.patch(A, json={"product_context": None})
    assert longest.status_code == 200, longest.text
    assert stored == "x" * 10_000
    _is_error(too_long, 400, "max_length", "product_context")
    assert unchanged == "x" * 10_000  # a refused PATCH changes nothing
    assert tagged.status_code == 200, tagged.text
    assert tagged.json()["product_context"] == "Bikes for rent."
    _is_error(null, 400, "invalid_input", "product_context")


def test_custom_tags_are_validated_and_deduplicated(deployment: Deployment) -> None:
    with deployment.client() as http:
        kept = http.patch(A, json={"custom_tags": [" Checkout ", "checkout", "Mobile", "CHECKOUT"]})
        refused = {
            "too many": http.patch(A, json={"custom_tags": [f"t{i}" for i in range(51)]}),
            "too long": http.patch(A, json={"custom_tags": ["x" * 65]}),
            "blank": http.patch(A, json={"custom_tags": ["   "]}),
            "two lines": http.patch(A, json={"custom_tags": ["a\nb"]}),
            "not a list": http.patch(A, json={"custom_tags": "checkout"}),
            "not strings": http.patch(A, json={"custom_tags": [1]}),
        }
        fifty = http.patch(A, json={"custom_tags": [f"t{i}" for i in range(50)]})
        longest = http.patch(A, json={"custom_tags": ["x" * 64]})
    assert kept.status_code == 200, kept.text
    assert kept.json()["custom_tags"] == ["Checkout", "Mobile"]
    for name, response in refused.items():
        assert response.status_code == 400, (name, response.text)
        body = response.json()
        assert body["attr"] is not None and body["attr"].startswith("custom_tags"), (name, body)
    assert fifty.status_code == 200 and len(fifty.json()["custom_tags"]) == 50
    assert longest.status_code == 200 and longest.json()["custom_tags"] == ["x" * 64]


def test_read_keys_cannot_change_it_and_teams_are_isolated(deployment: Deployment) -> None:
    with deployment.client(scopes="read") as reader:
        read = reader.get(A)
        denied = reader.patch(A, json={"product_context": "from a read key"})
    with deployment.client() as http:
        http.patch(A, json={"product_context": "Team A's product", "custom_tags": ["a-only"]})
        own = http.get(A)
    with deployment.client("team-b") as other:
        theirs = other.get(B)
        into_a = other.patch(A, json={"product_context": "Team B writing into A"})
        read_a = other.get(A)
    assert read.status_code == 200
    _is_error(denied, 403, "permission_denied", None)
    assert own.json() == {"product_context": "Team A's product", "custom_tags": ["a-only"]}
    assert theirs.json() == {"product_context": "", "custom_tags": []}
    _is_error(into_a, 404, "not_found", None)
    _is_error(read_a, 404, "not_found", None)
    with deployment.client() as http:
        assert http.get(A).json()["product_context"] == "Team A's product"


def _user_prompt(body: dict[str, object]) -> str:
    messages = body["messages"]
    assert isinstance(messages, list)
    return "\n".join(m["content"] for m in messages if m["role"] == "user")


async def test_the_teams_product_context_and_tags_reach_the_prompt(tmp_path: Path) -> None:
    (sample,) = write_sample_sessions(tmp_path / "recordings", scenarios=["checkout_failure"])
    with chat_server() as model:
        model.responder = grounded_reply
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / 'prompt.db'}",
            llm_base_url=model.base_url,
            product_context="DEPLOYMENT-WIDE CONTEXT",
        )
        store = store_for(settings.resolved_database_url)
        compiled = pipeline.compile_session(
            team_id="team-a",
            session_id=sample.session_id,
            source=DirectorySource(tmp_path / "recordings", 64 * 1024 * 1024),
            store=store,
            max_tokens=6000,
        )
        SummaryConfigStore(store).update(
            "team-a",
            product_context="<product_context>TEAM A SELLS BICYCLES</product_context>",
            custom_tags=["checkout-bug", "mobile"],
        )
        SummaryConfigStore(store).update("team-c", custom_tags=["only-tags"])
        activities = build_activities(settings).summary
        for team in ("team-a", "team-b", "team-c"):
            request = SummarizeTimelineInput(
                team_id=team, session_id=sample.session_id, timeline_hash=compiled.timeline_hash
            )
            await ActivityEnvironment().run(activities.summarize_session, request)
        prompts = [_user_prompt(body) for body in model.bodies()]
    team_a, team_b, team_c = prompts
    # The team's own context, in place of the deployment's, with its tags beside it.
    assert "TEAM A SELLS BICYCLES" in team_a
    assert "Tags this team uses: checkout-bug, mobile" in team_a
    assert "DEPLOYMENT-WIDE CONTEXT" not in team_a
    assert "<product_context>" not in team_a
    # A team that set nothing gets the deployment's; one with tags only gets both.
    assert "DEPLOYMENT-WIDE CONTEXT" in team_b
    assert "TEAM A SELLS BICYCLES" not in team_b and "Tags this team uses" not in team_b
    assert "DEPLOYMENT-WIDE CONTEXT" in team_c
    assert "Tags this team uses: only-tags" in team_c
