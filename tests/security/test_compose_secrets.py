"""What the compose stack hands each container and publishes (issue 16, finding 10): the
API gets neither the model's key nor a database superuser's or Temporal's password, recap
connects to Postgres as a role of its own (created by an init script, checked here against a
real Postgres), and metrics and the browsable docs are not published with the API: metrics
have a port of their own, inside the network only.

docker-compose.yml is read statically (no Docker engine here); the API app and the metrics
server run for real.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import URL, make_url

from recap.api.app import create_app, metrics_on_api_port
from recap.api.server import serve_metrics
from recap.core.config import Settings
from recap.embedded.ports import free_port
from recap.store.keys import READ_SCOPE, KeyStore
from recap.store.repository import SummaryStore
from tests.support.postgres import PostgresServer, PostgresUnavailable
from tests.unit.test_compose import (
    INTERPOLATION,
    ROOT,
    compose,
    environment,
    passed_by_name,
    recap_service_names,
    resolve,
    services,
    settings_of,
    variable_of,
)

INIT_DIR = "/docker-entrypoint-initdb.d/"
# Variables that hold a credential one service needs and the API does not.
NOT_FOR_THE_API = {"RECAP_LLM_API_KEY", "TEMPORAL_DB_PASSWORD", "STORE_DB_ADMIN_PASSWORD"}


def referenced(service: dict[str, Any]) -> set[str]:
    """Every variable a service's definition takes from .env or the shell: interpolated
    anywhere in it, or passed by name."""
    text = repr(service).replace("$$", "")
    return {match["name"] for match in INTERPOLATION.finditer(text)} | passed_by_name(service)


def store_url() -> URL:
    """recap's database URL as compose gives it, the password a placeholder."""
    return make_url(resolve(environment(services()["worker"])["RECAP_DATABASE_URL"]))


def store_url_password_variable() -> str:
    """The .env variable recap's URL takes its password from."""
    written = environment(services()["worker"])["RECAP_DATABASE_URL"]
    password = re.search(r"://\w+:(\$\{[^}]+\})@", written)
    assert password, written
    return variable_of(password[1])


def init_script() -> tuple[dict[str, Any], Path]:
    """The store's init script: how the postgres service mounts it, and the file."""
    store = services()["postgres"]
    (mount,) = [c for c in store.get("configs", []) if c["target"].startswith(INIT_DIR)]
    assert mount["target"].endswith(".sql")
    return mount, ROOT / compose()["configs"][mount["source"]]["file"]


# What each container gets


def test_the_api_gets_neither_the_model_key_nor_the_other_databases_passwords() -> None:
    found = services()
    api = found["api"]
    assert "env_file" not in api and "env_file" not in found["worker"]
    given = referenced(api) | set(environment(api))
    assert not given & NOT_FOR_THE_API, given & NOT_FOR_THE_API
    assert not any(
        name.startswith("RECAP_LLM_") and name != "RECAP_LLM_TASK_QUEUE" for name in given
    )
    # The only secret in the API's definition: recap's own store password, in its URL.
    secrets = {name for name in referenced(api) if re.search(r"PASSWORD|PWD", name)}
    assert secrets == {"STORE_DB_PASSWORD"}
    # Temporal's database password reaches Temporal's own services only.
    temporal_password = variable_of(environment(found["temporal-postgres"])["POSTGRES_PASSWORD"])
    users = {name for name, service in found.items() if temporal_password in referenced(service)}
    assert users == {"temporal-postgres", "temporal-schema", "temporal"}
    # The worker keeps the model key.
    assert "RECAP_LLM_API_KEY" in passed_by_name(found["worker"])


def test_only_the_postgres_service_knows_the_superuser_password() -> None:
    found = services()
    store = environment(found["postgres"])
    superuser_password = variable_of(store["POSTGRES_PASSWORD"])
    users = {name for name, service in found.items() if superuser_password in referenced(service)}
    assert users == {"postgres"}
    for name in recap_service_names():
        assert superuser_password not in referenced(found[name])


def test_recap_connects_as_a_role_of_its_own_not_the_superuser() -> None:
    url = store_url()
    store = environment(services()["postgres"])
    assert url.username not in ("postgres", store["POSTGRES_USER"])
    _, script_path = init_script()
    script = script_path.read_text()
    create_role = re.search(r"CREATE ROLE (\w+) LOGIN(.*?);", script, re.S)
    assert create_role and create_role[1] == url.username
    options = create_role[2].split()
    for denied in ("NOSUPERUSER", "NOCREATEDB", "NOCREATEROLE"):
        assert denied in options
    assert "SUPERUSER" not in options and "CREATEROLE" not in options
    assert f"CREATE DATABASE {url.database} OWNER {url.username}" in script
    # The role's password is the one in recap's URL, from the same .env variable.
    env_name = re.search(r"\\getenv \w+ (\w+)", script)
    assert env_name is not None
    assert variable_of(store[env_name[1]]) == store_url_password_variable()


def test_metrics_have_their_own_port_and_nothing_but_the_api_is_published(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = services()
    for name in recap_service_names():
        settings = settings_of(found[name], monkeypatch)
        assert settings.metrics_port is not None
        internal = {str(settings.metrics_port), str(settings.temporal_metrics_port)}
        for mapping in found[name].get("ports", []):
            target = str(mapping).rsplit(":", 1)[-1]
            assert target not in internal, f"{name} publishes its metrics ({mapping})"
    api = settings_of(found["api"], monkeypatch)
    (published,) = found["api"]["ports"]
    assert str(published).endswith(f":{api.api_port}")
    # So the API's port serves neither the metrics nor the browsable docs.
    assert not metrics_on_api_port(api)
    assert api.api_docs is False
    assert "ports" not in found["worker"]


# The init script, run as the postgres image runs it, against a real Postgres


def _run_init(
    server: PostgresServer, script: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    # As docker-entrypoint.sh's docker_process_sql runs *.sql files, as the superuser.
    return subprocess.run(
        [
            str(server.bin_dir / "psql"),
            "-v",
            "ON_ERROR_STOP=1",
            "--username",
            "postgres",
            "--no-password",
            "--no-psqlrc",
            "--host",
            "127.0.0.1",
            "--port",
            str(server.port),
            "--dbname",
            "postgres",
            "-f",
            str(script),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_init_script_makes_a_plain_role_that_can_run_recaps_migrations() -> None:
    _, script = init_script()
    url = store_url()
    try:
        server = PostgresServer(database="scratch").start()
    except PostgresUnavailable as error:
        pytest.fail(f"cannot run the Postgres test: {error}", pytrace=False)
    try:
        base = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        missing = _run_init(
            server, script, {k: v for k, v in base.items() if k != "STORE_DB_PASSWORD"}
        )
        assert missing.returncode != 0 and "STORE_DB_PASSWORD is not set" in missing.stderr

        done = _run_init(server, script, {**base, "STORE_DB_PASSWORD": "s3cret-pw"})
        assert done.returncode == 0, done.stderr
        admin = psycopg.connect(
            host="127.0.0.1", port=server.port, user="postgres", dbname="postgres", autocommit=True
        )
        with admin:
            role = admin.execute(
                "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls,"
                " rolcanlogin, starts_with(rolpassword, 'SCRAM-SHA-256$')"
                " FROM pg_authid WHERE rolname = %s",
                (url.username,),
            ).fetchone()
            owner = admin.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                (url.database,),
            ).fetchone()
        assert role == (False, False, False, False, False, True, True)
        assert owner == (url.username,)

        # recap, as that role, migrates its schema and works in it ...
        own = f"postgresql+psycopg://{url.username}@127.0.0.1:{server.port}/{url.database}"
        store = SummaryStore(own)
        store.migrate()
        KeyStore(store).create(team_id="t", scopes=[READ_SCOPE])
        store.engine.dispose()
        # ... and can do nothing beyond it.
        with psycopg.connect(
            host="127.0.0.1",
            port=server.port,
            user=url.username,
            dbname=url.database,
            autocommit=True,
        ) as recap:
            for statement in (
                "CREATE ROLE intruder",
                "CREATE DATABASE other",
                "ALTER ROLE recap SUPERUSER",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    recap.execute(statement)
    finally:
        server.close()


# The published API


async def test_a_metrics_port_takes_metrics_off_the_api_port() -> None:
    port = free_port()
    settings = Settings(api_metrics=True, metrics_host="127.0.0.1", metrics_port=port)
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as http:
        assert (await http.get("/metrics")).status_code == 404
        assert (await http.get("/healthz")).status_code == 200
    serve_metrics(settings)
    async with httpx.AsyncClient() as http:
        served = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert served.status_code == 200 and "recap_api_requests_total" in served.text


async def test_an_api_listening_beyond_loopback_serves_no_metrics_unless_asked() -> None:
    async def metrics_status(**options: Any) -> int:
        app = create_app(Settings(**options))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api"
        ) as http:
            return (await http.get("/metrics")).status_code

    assert await metrics_status(api_host="0.0.0.0") == 404
    assert await metrics_status(api_host="recap.example.com") == 404
    assert await metrics_status(api_host="127.0.0.1") == 200  # `recap dev` on one machine
    assert await metrics_status(api_host="0.0.0.0", api_metrics=True) == 200  # asked for
    assert await metrics_status(api_host="127.0.0.1", api_metrics=False) == 404


async def test_the_browsable_docs_can_be_turned_off() -> None:
    for docs, expected in ((True, 200), (False, 404)):
        app = create_app(Settings(api_docs=docs))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api"
        ) as http:
            assert (await http.get("/docs")).status_code == expected
            assert (await http.get("/redoc")).status_code == expected
            # Clients keep the machine-readable document.
            assert (await http.get("/openapi.json")).status_code == 200
