"""`recap destinations add|list|remove|test` through typer's CliRunner on a temporary
database: secrets are read from the environment or stdin, stored sealed, and never shown
again (a generated signing secret is shown once, when it is made)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pydantic import SecretStr
from typer.testing import CliRunner

from recap.cli.commands import app
from recap.core.config import get_settings
from recap.delivery.webhook import verify
from recap.services.bootstrap import summary_store
from recap.services.delivery import destination_store
from recap.store.secrets import SecretBox
from tests.support.receivers import Answer, receiving

SLACK_URL = "https://hooks.slack.com/services/T0AAAA/B0BBBB/slackSecretPart123"
GIVEN_SECRET = "given-secret-0123456789abcdef"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    environment = {
        "RECAP_DATABASE_URL": f"sqlite:///{tmp_path / 'recap.db'}",
        "RECAP_SECRET_KEY": SecretBox.generate(),
        "RECAP_TEAM_ID": "team-a",
        "COLUMNS": "220",
        "SLACK_HOOK": SLACK_URL,
        "HOOK_SECRET": GIVEN_SECRET,
    }
    get_settings.cache_clear()
    yield environment
    get_settings.cache_clear()


def _invoke(env: dict[str, Any], *args: str, input: str | None = None) -> Result:
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args), env=env, input=input)
    finally:
        get_settings.cache_clear()


def _database_text(env: dict[str, str]) -> bytes:
    path = Path(env["RECAP_DATABASE_URL"].removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())


def _listed(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    listed = _invoke(env, "destinations", "list", "--json", *args)
    assert listed.exit_code == 0, listed.output
    found: list[dict[str, Any]] = json.loads(listed.stdout)
    return found


def test_add_list_remove_keep_secrets_out_of_output_and_database(env: dict[str, str]) -> None:
    slack = _invoke(
        env, "destinations", "add", "slack", "--name", "#product", "--url-env", "SLACK_HOOK"
    )
    assert slack.exit_code == 0, slack.output
    from_stdin = _invoke(
        env,
        "destinations",
        "add",
        "slack",
        "--name",
        "#ops",
        "--team",
        "team-b",
        "--quiet",
        "silent",
        input=SLACK_URL.replace("123", "456") + "\n",
    )
    assert from_stdin.exit_code == 0, from_stdin.output
    made = _invoke(
        env,
        "destinations",
        "add",
        "webhook",
        "--name",
        "ops",
        "--url",
        "https://ops.example.com/in",
    )
    assert made.exit_code == 0, made.output
    generated = made.stdout.strip().splitlines()[-1]
    assert len(generated) >= 40 and "shown once" in made.stdout
    given = _invoke(
        env,
        "destinations",
        "add",
        "webhook",
        "--name",
        "given",
        "--url",
        "https://given.example.com/in",
        "--secret-env",
        "HOOK_SECRET",
    )
    assert given.exit_code == 0, given.output
    assert GIVEN_SECRET not in given.output and "shown once" not in given.output

    everything = _listed(env)
    assert [(d["team_id"], d["kind"], d["name"], d["quiet"]) for d in everything] == [
        ("team-a", "slack", "#product", "line"),
        ("team-a", "webhook", "ops", "line"),
        ("team-a", "webhook", "given", "line"),
        ("team-b", "slack", "#ops", "silent"),
    ]
    assert [d["name"] for d in _listed(env, "--team", "team-b")] == ["#ops"]
    table = _invoke(env, "destinations", "list")
    assert table.exit_code == 0 and "#product" in table.stdout and "not used yet" in table.stdout
    outputs = "".join(r.output for r in (slack, from_stdin, given, table)) + json.dumps(everything)
    raw = _database_text(env)
    for secret in ("slackSecretPart123", "slackSecretPart456", generated, GIVEN_SECRET):
        assert secret not in outputs
        assert secret.encode() not in raw
    assert b"ops.example.com" not in raw  # webhook URLs are sealed too

    removed = _invoke(env, "destinations", "remove", everything[0]["destination_id"])
    assert removed.exit_code == 0, removed.output
    assert [d["name"] for d in _listed(env, "--team", "team-a")] == ["ops", "given"]
    missing = _invoke(env, "destinations", "remove", everything[0]["destination_id"])
    assert missing.exit_code == 1 and "no destination" in missing.output


def test_secrets_are_never_arguments_and_need_the_secret_key(env: dict[str, str]) -> None:
    unset = _invoke(env, "destinations", "add", "slack", "--name", "x", "--url-env", "NOPE")
    assert unset.exit_code == 2 and "NOPE" in unset.output
    bad = _invoke(env, "destinations", "add", "slack", "--name", "x", input="not a url\n")
    assert bad.exit_code == 2 and "http(s)" in bad.output
    quiet = _invoke(env, "destinations", "add", "slack", "--name", "x", "--quiet", "loud")
    assert quiet.exit_code == 2
    no_key = _invoke(
        {**env, "RECAP_SECRET_KEY": None},
        "destinations",
        "add",
        "slack",
        "--name",
        "x",
        "--url-env",
        "SLACK_HOOK",
    )
    assert no_key.exit_code == 2 and "RECAP_SECRET_KEY" in no_key.output
    assert _listed(env) == []


def test_test_sends_a_signed_message_now_and_list_shows_a_failing_destination(
    env: dict[str, str],
) -> None:
    with receiving([Answer(200), Answer(400, body=b"no such hook")]) as receiver:
        added = _invoke(
            env,
            "destinations",
            "add",
            "webhook",
            "--name",
            "ops",
            "--url",
            receiver.url,
            "--secret-env",
            "HOOK_SECRET",
        )
        destination_id = _listed(env)[0]["destination_id"]
        ok = _invoke(env, "destinations", "test", destination_id)
        refused = _invoke(env, "destinations", "test", destination_id)
    assert added.exit_code == 0
    assert ok.exit_code == 0 and "answered 200" in ok.output, ok.output
    assert refused.exit_code == 1 and "answered 400: no such hook" in refused.output
    first = receiver.received[0]
    assert verify(first.body, GIVEN_SECRET, first.headers["x-recap-signature"])
    assert json.loads(first.body)["type"] == "recap.test"
    assert receiver.url not in ok.output + refused.output

    # Three deliveries in a row that gave up: the destination shows as failing.
    get_settings.cache_clear()
    settings = get_settings().model_copy(
        update={
            "database_url": env["RECAP_DATABASE_URL"],
            "secret_key": SecretStr(env["RECAP_SECRET_KEY"]),
        }
    )
    store = destination_store(settings, summary_store(settings))
    target = store.target("team-a", destination_id)
    assert target is not None
    for n in range(3):
        store.record(
            target,
            item_kind="report",
            item_id=f"rp_{n:016d}",
            idempotency_key=f"k{n}",
            status="rejected",
            attempts=1,
            http_status=410,
            error="slack answered 410",
            gave_up=True,
        )
    listed = _listed(env)[0]
    assert listed["failing"] is True and listed["consecutive_failures"] == 3
    assert listed["last_error"] == "slack answered 410"
    table = _invoke(env, "destinations", "list")
    assert "failing" in table.stdout and "slack answered 410" in table.stdout
