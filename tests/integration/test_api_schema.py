"""schemathesis against the committed `openapi.json`, on the running app (dev server and
worker behind it): no 5xx, and every response matches the document. Bounded: a dozen
examples per operation, a few hundred requests in all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks

from recap.store.keys import READ_SCOPE, WRITE_SCOPE, KeyStore
from recap.store.repository import store_for
from tests.support.api_stack import ApiStack, api_stack

__all__ = ["api_stack"]

ROOT = Path(__file__).resolve().parents[2]
schema = schemathesis.openapi.from_path(ROOT / "openapi.json")
SCHEMA_TEAM = "schema-team"


@schema.hook
def map_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> dict[str, Any] | None:
    # Address the key's own team, so requests get past the cross-team 404 into the
    # endpoints themselves (test_api covers other teams). A team of its own: the random
    # summaries configuration it PATCHes must not reach other tests' prompts.
    if path_parameters and "project_id" in path_parameters:
        path_parameters["project_id"] = SCHEMA_TEAM
    return path_parameters


@schema.hook
def map_body(context: schemathesis.HookContext, body: Any) -> Any:
    # Each generated id would start a real summary workflow: a few per request is enough
    # (test_api covers the 300-id bound).
    if isinstance(body, dict) and isinstance(body.get("session_ids"), list):
        body["session_ids"] = body["session_ids"][:3]
    return body


@pytest.fixture(scope="module")
def schema_token(api_stack: ApiStack) -> str:
    """A key of its own, so this run's rate budget is not shared with other tests."""
    keys = KeyStore(store_for(api_stack.settings.resolved_database_url))
    return keys.create(team_id=SCHEMA_TEAM, scopes=[READ_SCOPE, WRITE_SCOPE], label="schema")[1]


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(
    case: schemathesis.Case, api_stack: ApiStack, schema_token: str
) -> None:
    case.call_and_validate(
        base_url=api_stack.url,
        headers={"Authorization": f"Bearer {schema_token}"},
        timeout=150,
        # What the API promises: no server error, and answers as documented. (Unknown
        # query parameters are ignored, as PostHog's API ignores them.)
        checks=[
            checks.not_a_server_error,
            checks.status_code_conformance,
            checks.content_type_conformance,
            checks.response_schema_conformance,
            checks.response_headers_conformance,
        ],
    )
