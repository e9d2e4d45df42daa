"""The docker compose stack, its Dockerfile and the operations page, checked without a
Docker engine: the file parses, its commands and RECAP_* settings exist in recap, every
image is pinned, start-up order and health checks hold together, and no secret is written
down. The Temporal init job's script runs for real against a dev server."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import shlex
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from pydantic import BaseModel
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from recap.cli.commands import app
from recap.core.config import Settings
from recap.core.naming import SEARCH_ATTRIBUTES
from tests.support.temporal import DEV_SERVER_STARTUP, temporal_cli

ROOT = Path(__file__).resolve().parents[2]

# Compose interpolation: ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, …
INTERPOLATION = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
)
SECRET_NAME = re.compile(r"PASSWORD|PWD|SECRET|TOKEN|API_KEY")
HEALTHY_TARGETS = {"temporal-postgres", "temporal", "postgres", "worker", "api", "llm"}
STORE_INIT_TARGET = "/docker-entrypoint-initdb.d/10-recap-role.sql"
# Settings compose gives no recap service: the embedded stack's (`recap dev`), and the data
# directory, which the image sets (Dockerfile: RECAP_DATA_DIR).
OUTSIDE_COMPOSE = {
    "RECAP_DATA_DIR",
    "RECAP_TEMPORAL_UI_PORT",
    "RECAP_LLM_SERVER_PORT",
    "RECAP_LLM_SERVER_THREADS",
    "RECAP_LLM_SERVER_CTX_SIZE",
    "RECAP_LLM_SERVER_ARGS",
    "RECAP_LLM_SERVER_BINARY",
    "RECAP_LLM_SERVER_MODEL",
}


@cache
def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


def services() -> dict[str, dict[str, Any]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def _declared(service: dict[str, Any]) -> dict[str, Any]:
    value = service.get("environment") or {}
    if isinstance(value, list):
        value = dict(item.split("=", 1) if "=" in item else (item, None) for item in value)
    assert isinstance(value, dict)
    return value


def environment(service: dict[str, Any]) -> dict[str, str]:
    """The variables a service's `environment` gives a value, in either of compose's forms."""
    return {str(key): str(item) for key, item in _declared(service).items() if item is not None}


def passed_by_name(service: dict[str, Any]) -> set[str]:
    """The variables a service declares without a value: compose takes each from .env or
    the shell when set there, and leaves it out of the container otherwise."""
    return {str(key) for key, item in _declared(service).items() if item is None}


def resolve(value: str) -> str:
    """What compose makes of a value with no .env: defaults apply, required ones are set."""
    value = value.replace("$$", "\0")

    def substitute(match: re.Match[str]) -> str:
        if match["op"] in (":-", "-"):
            return match["arg"]
        return f"<{match['name']}>"

    return INTERPOLATION.sub(substitute, value).replace("\0", "$")


def is_interpolation(value: str) -> bool:
    """A value that is exactly one variable from .env, with no default written down."""
    match = INTERPOLATION.fullmatch(value)
    return match is not None and match["op"] in (None, ":?", "?")


def nested_fields(annotation: Any) -> list[str] | None:
    """The field names of a settings group (a model or a dataclass); None for a value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return [f.name for f in dataclasses.fields(annotation)]
    return None


def is_setting(name: str) -> bool:
    """RECAP_X is field x of Settings; RECAP_X__Y is field y of the group in field x."""
    if not name.startswith("RECAP_"):
        return False
    parts = name.removeprefix("RECAP_").lower().split("__")
    field = Settings.model_fields.get(parts[0])
    if field is None:
        return False
    if len(parts) == 1:
        return True
    nested = nested_fields(field.annotation)
    return len(parts) == 2 and nested is not None and parts[1] in nested


def is_pinned(image: str) -> bool:
    """A digest, or a tag naming a release: not `latest`, not a bare major like `16`, not a
    rolling name like `server`."""
    if "$" in image:
        return False
    name, _, digest = image.partition("@")
    if digest:
        return re.fullmatch(r"sha256:[0-9a-f]{64}", digest) is not None
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    tag = last.split(":", 1)[1]
    return tag != "latest" and re.search(r"\d+\.\d+|(?:^|-)b\d{3,}", tag) is not None


def recap_command(words: list[str]) -> Any:
    """The command `recap WORDS…` runs (sub-apps included); fails if there is none.

    Typer ships its own copy of click, so groups are recognised by their `commands`."""
    command: Any = typer.main.get_command(app)
    for word in words:
        if word.startswith("-") or not hasattr(command, "commands"):
            break
        found = command.commands.get(word)
        if found is None:
            # A group that runs itself (`recap batch --sessions …`) takes options, not words.
            assert command.invoke_without_command, f"`recap {' '.join(words)}`: no {word!r}"
            break
        command = found
    assert not hasattr(command, "commands") or command.invoke_without_command, (
        f"`recap {' '.join(words)}` names a group, not a command"
    )
    return command


def assert_recap_command_exists(words: list[str]) -> None:
    command = recap_command(words)
    known = {"--help"} | {opt for param in command.params for opt in param.opts}
    known |= {opt for param in command.params for opt in param.secondary_opts}
    for word in words:
        if word.startswith("--"):
            option = word.split("=", 1)[0]
            assert option in known, f"`recap {' '.join(words)}`: {command.name} has no {option}"


def recap_service_names() -> list[str]:
    return [
        name for name, service in services().items() if service.get("command", [""])[0] == "recap"
    ]


def settings_of(service: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """recap's settings as the service's environment gives them (no .env)."""
    for name in list(os.environ):
        if name.startswith("RECAP_"):
            monkeypatch.delenv(name)
    for name, value in environment(service).items():
        monkeypatch.setenv(name, resolve(value))
    return Settings(_env_file=None)  # type: ignore[call-arg]


def healthcheck_port(service: dict[str, Any]) -> int:
    test = " ".join(service["healthcheck"]["test"])
    match = re.search(r"127\.0\.0\.1:(\d+)", test)
    assert match, f"no local port in {test!r}"
    return int(match[1])


def test_checkers_themselves() -> None:
    assert is_pinned("postgres:16.13") and is_pinned("temporalio/server:1.32.0")
    assert is_pinned("ghcr.io/ggml-org/llama.cpp:server-b11434")
    assert is_pinned("python:3.11.15-slim") and is_pinned("ghcr.io/astral-sh/uv:0.13.9")
    assert is_pinned("redis@sha256:" + "a" * 64)
    for floating in ("postgres", "postgres:16", "postgres:latest", "postgres:16-alpine"):
        assert not is_pinned(floating), floating
    assert not is_pinned("ghcr.io/ggml-org/llama.cpp:server")
    assert not is_pinned("localhost:5000/recap") and not is_pinned("postgres:${TAG:-16.6}")
    assert is_setting("RECAP_TASK_QUEUE") and is_setting("RECAP_TIMELINE__DEAD_CLICK_MS")
    assert not is_setting("RECAP_NOPE") and not is_setting("RECAP_TIMELINE__NOPE")
    assert not is_setting("RECAP_TASK_QUEUE__X") and not is_setting("TASK_QUEUE")
    assert resolve("${A:-x}:${B:?set B}:$${C}") == "x:<B>:${C}"
    assert is_interpolation("${A}") and is_interpolation("${A:?set A}")
    assert not is_interpolation("${A:-hunter2}") and not is_interpolation("pw${A}")


def test_the_stack_has_its_services() -> None:
    found = services()
    required = {"temporal-postgres", "temporal-schema", "temporal", "temporal-init"}
    required |= {"temporal-ui", "postgres", "worker", "api", "llm"}
    assert required <= set(found)
    # The core stack starts without profiles; only the model server is optional.
    assert found["llm"].get("profiles") == ["llm"]
    for name, service in found.items():
        if name != "llm":
            assert "profiles" not in service, f"{name} is behind a profile"
    assert "llama.cpp" in found["llm"]["image"]
    assert found["temporal"]["image"].startswith("temporalio/server:")
    assert found["temporal-ui"]["image"].startswith("temporalio/ui:")


def test_every_image_is_pinned_and_every_build_has_a_dockerfile() -> None:
    for name, service in services().items():
        build = service.get("build")
        if build is None:
            assert is_pinned(service["image"]), f"{name}: {service['image']} is not pinned"
            continue
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        assert (ROOT / context / dockerfile).is_file(), f"{name}: no {dockerfile} in {context}"
    for instruction, argument in dockerfile_instructions():
        if instruction == "FROM":
            image = argument.split()[0]
            assert is_pinned(image), f"Dockerfile: FROM {image} is not pinned"


def test_recap_commands_exist() -> None:
    names = recap_service_names()
    assert {"worker", "api"} <= set(names)
    for name in names:
        assert_recap_command_exists(services()[name]["command"][1:])
    assert services()["worker"]["command"] == ["recap", "worker"]
    assert services()["api"]["command"] == ["recap", "api"]
    with pytest.raises(AssertionError):
        assert_recap_command_exists(["keys", "rotate"])
    with pytest.raises(AssertionError):
        assert_recap_command_exists(["batch", "cancel", "--all"])


def test_recap_variables_are_settings() -> None:
    for name, service in services().items():
        for variable in [*environment(service), *passed_by_name(service)]:
            if variable.startswith("RECAP_"):
                assert is_setting(variable), f"{name}: {variable} is not a recap setting"
    for variable in env_example(with_commented=True):
        if variable.startswith("RECAP_"):
            assert is_setting(variable), f".env.example: {variable} is not a recap setting"
    for instruction, argument in dockerfile_instructions():
        if instruction == "ENV":
            for variable in re.findall(r"\b(RECAP_[A-Z0-9_]+)=", argument):
                assert is_setting(variable), f"Dockerfile: {variable} is not a recap setting"


def test_recap_services_get_valid_settings_pointing_into_the_stack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = services()
    for name in recap_service_names():
        settings = settings_of(found[name], monkeypatch)
        assert settings.temporal_address.rsplit(":", 1)[0] in found
        assert settings.database_url is not None
        assert settings.database_url.startswith("postgresql+psycopg://")
        assert settings.source.startswith("files:/") or settings.source == "posthog"
        assert settings.metrics_host == "0.0.0.0" and settings.metrics_port is not None
    # The model server the worker's default points at is the llm service, on its port.
    worker = settings_of(found["worker"], monkeypatch)
    llm = re.fullmatch(r"http://([\w-]+):(\d+)/v1", worker.effective_llm_base_url)
    assert llm and llm[1] == "llm"
    command = [resolve(str(word)) for word in found["llm"]["command"]]
    assert command[command.index("--port") + 1] == llm[2]
    assert command[command.index("--alias") + 1] == worker.llm_model
    # Both sides of each task queue come from the same place, so starters and workers agree.
    for variable in ("RECAP_TASK_QUEUE", "RECAP_LLM_TASK_QUEUE", "RECAP_TEMPORAL_NAMESPACE"):
        assert environment(found["worker"])[variable] == environment(found["api"])[variable]

    api = settings_of(found["api"], monkeypatch)
    assert api.api_host == "0.0.0.0"
    assert healthcheck_port(found["api"]) == api.api_port
    assert any(str(port).endswith(f":{api.api_port}") for port in found["api"]["ports"])
    assert worker.temporal_metrics_port is not None
    assert healthcheck_port(found["worker"]) == worker.metrics_port


def test_databases_are_wired_consistently() -> None:
    found = services()
    url = environment(found["worker"])["RECAP_DATABASE_URL"]
    match = re.fullmatch(
        r"postgresql\+psycopg://(?P<user>\w+):(?P<password>\$\{[^}]+\})@(?P<host>[\w-]+):5432/(?P<db>\w+)",
        url,
    )
    assert match, url
    assert environment(found["api"])["RECAP_DATABASE_URL"] == url
    # recap's role and database come from the store's init script, with the URL's password.
    store = environment(found[match["host"]])
    assert store["POSTGRES_USER"] != match["user"]
    assert variable_of(store["STORE_DB_PASSWORD"]) == variable_of(match["password"])
    mounted = {config["target"]: config["source"] for config in found[match["host"]]["configs"]}
    script = (ROOT / compose()["configs"][mounted[STORE_INIT_TARGET]]["file"]).read_text()
    assert f"CREATE ROLE {match['user']} LOGIN" in script
    assert f"CREATE DATABASE {match['db']} OWNER {match['user']}" in script
    assert "\\getenv recap_password STORE_DB_PASSWORD" in script
    check = " ".join(found[match["host"]]["healthcheck"]["test"])
    assert f"-U {match['user']} -d {match['db']}" in check

    temporal = environment(found["temporal"])
    temporal_db = environment(found[temporal["POSTGRES_SEEDS"]])
    assert temporal["POSTGRES_SEEDS"] != match["host"], "recap's store needs its own database"
    assert temporal_db["POSTGRES_USER"] == temporal["POSTGRES_USER"]
    password = variable_of(temporal_db["POSTGRES_PASSWORD"])
    assert variable_of(temporal["POSTGRES_PWD"]) == password
    assert variable_of(environment(found["temporal-schema"])["SQL_PASSWORD"]) == password
    assert temporal["POSTGRES_SEEDS"] in " ".join(found["temporal-schema"]["command"])

    # The server's dynamic config file is the one compose mounts.
    mounted = {config["target"]: config["source"] for config in found["temporal"]["configs"]}
    source = mounted[temporal["DYNAMIC_CONFIG_FILE_PATH"]]
    assert isinstance(yaml.safe_load(compose()["configs"][source]["content"]), dict)


def test_start_up_order_waits_for_health_and_for_jobs() -> None:
    found = services()
    for name, service in found.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions"
        for target, rule in depends_on.items():
            assert target in found, f"{name} depends on unknown {target}"
            condition = rule.get("condition")
            if "healthcheck" in found[target]:
                assert condition == "service_healthy", f"{name} -> {target}: {condition}"
            else:
                assert condition == "service_completed_successfully", f"{name} -> {target}"
                job = found[target]
                assert str(job.get("restart", "no")).startswith(("no", "on-failure")), target
                assert "ports" not in job, target
    # recap starts once Temporal has recap's search attributes and its store answers.
    for name in ("worker", "api"):
        depends_on = found[name]["depends_on"]
        assert depends_on["temporal-init"]["condition"] == "service_completed_successfully"
        assert depends_on["postgres"]["condition"] == "service_healthy"
    assert "temporal-schema" in found["temporal"]["depends_on"]
    # Nothing in the core stack needs the optional model server.
    for name, service in found.items():
        if "llm" not in service.get("profiles", []):
            assert "llm" not in service.get("depends_on", {}), f"{name} depends on llm"


def test_long_running_services_have_health_checks() -> None:
    for name in sorted(HEALTHY_TARGETS):
        healthcheck = services()[name].get("healthcheck")
        assert healthcheck, f"{name} has no healthcheck"
        assert healthcheck["test"][0] in ("CMD", "CMD-SHELL"), name
        assert services()[name].get("restart") == "unless-stopped", name


def test_workers_scale() -> None:
    for name, service in services().items():
        assert "container_name" not in service, f"{name}: container_name blocks --scale"
    worker = services()["worker"]
    assert "ports" not in worker
    assert worker.get("stop_grace_period")


def test_no_secret_is_written_down() -> None:
    for name, service in services().items():
        for variable, value in environment(service).items():
            if SECRET_NAME.search(variable):
                assert is_interpolation(value), f"{name}: {variable} must come from .env"
            for password in re.findall(r"://[^/@:\s]+:([^@]+)@", value):
                assert is_interpolation(password), f"{name}: {variable} has a literal password"
    for variable, value in env_example().items():
        if SECRET_NAME.search(variable):
            assert value == "", f".env.example: {variable} has a value"
    for instruction, argument in dockerfile_instructions():
        if instruction in ("ENV", "ARG"):
            assert not re.search(r"(KEY|PASSWORD|SECRET|TOKEN)\w*=", argument), argument
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git", "data/"} <= set(ignored)


def test_configuration_comes_from_the_env_file() -> None:
    documented = env_example(with_commented=True)
    active = env_example()
    for variable, operator in interpolated_variables():
        assert variable in documented, f"{variable} is used by compose but not in .env.example"
        if operator in (":?", "?"):
            assert variable in active, f"{variable} is required: .env.example must set it"
    # No service gets .env whole: each takes the variables it names (tests/security/
    # test_compose_secrets.py says which may not reach whom).
    for name, service in services().items():
        assert "env_file" not in service, f"{name} would see every secret in its env_file"


def test_every_setting_reaches_the_recap_service_that_reads_it() -> None:
    """A setting in .env reaches recap only if compose names it: each one is named, or is
    one compose has no use for. A new setting fails here until it is placed."""
    settings: set[str] = set()
    for name, field in Settings.model_fields.items():
        nested = nested_fields(field.annotation)
        if nested is not None:
            settings |= {f"RECAP_{name}__{part}".upper() for part in nested}
        else:
            settings.add(f"RECAP_{name}".upper())
    given: set[str] = set()
    for name in recap_service_names():
        given |= set(environment(services()[name])) | passed_by_name(services()[name])
    missing = settings - given - OUTSIDE_COMPOSE
    assert not missing, f"no recap service gets {sorted(missing)}"
    assert not given & OUTSIDE_COMPOSE
    for variable in env_example(with_commented=True):
        if variable.startswith("RECAP_") and variable not in OUTSIDE_COMPOSE:
            assert variable in given, f".env.example documents {variable}; compose drops it"


def test_dockerfile_builds_from_the_lockfile_as_a_user() -> None:
    instructions = dockerfile_instructions()
    runs = " ".join(argument for instruction, argument in instructions if instruction == "RUN")
    assert "uv sync --locked --no-dev" in runs
    assert "--extra" not in runs and "embedded" not in runs
    final_stage = instructions[
        max(i for i, (kind, _) in enumerate(instructions) if kind == "FROM") :
    ]
    users = [argument for instruction, argument in final_stage if instruction == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0"), "the image must not run as root"
    assert not any(
        instruction == "COPY" and ".env" in argument for instruction, argument in instructions
    )


def test_init_job_registers_recaps_search_attributes() -> None:
    job = services()["temporal-init"]
    env = environment(job)
    assert env["SEARCH_ATTRIBUTES"].split() == list(SEARCH_ATTRIBUTES)
    assert env["NAMESPACE"] == environment(services()["worker"])["RECAP_TEMPORAL_NAMESPACE"]
    assert resolve(env["TEMPORAL_ADDRESS"]) == "temporal:7233"


async def test_init_job_script_creates_namespace_and_attributes_idempotently() -> None:
    job = services()["temporal-init"]
    assert job["entrypoint"] == ["/bin/sh", "-c"]
    script = job["command"][0].replace("$$", "$")
    cli = Path(temporal_cli())
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(cli),
        dev_server_log_level="warn",
        dev_server_startup_timeout=DEV_SERVER_STARTUP,
    )
    try:
        namespace = "recap-compose"
        variables = {
            **os.environ,
            "PATH": f"{cli.parent}{os.pathsep}{os.environ['PATH']}",
            "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "NAMESPACE": namespace,
            "RETENTION": resolve(environment(job)["RETENTION"]),
            "SEARCH_ATTRIBUTES": environment(job)["SEARCH_ATTRIBUTES"],
        }
        for attempt in (1, 2):  # the second run, as on every `up`, finds everything there
            done = await asyncio.to_thread(
                subprocess.run,
                ["sh", "-c", script],
                env=variables,
                capture_output=True,
                text=True,
                timeout=240,
            )
            assert done.returncode == 0, f"run {attempt}: {done.stdout}\n{done.stderr}"
        listed = await env.client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        for name in SEARCH_ATTRIBUTES:
            assert listed.custom_attributes[name] == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    finally:
        await env.shutdown()


def test_operations_page_covers_queues_attributes_batches_keys_and_scaling() -> None:
    page = (ROOT / "docs" / "operations.md").read_text()
    for needed in (
        "RECAP_TASK_QUEUE",
        "RECAP_LLM_TASK_QUEUE",
        "RECAP_LLM_MAX_CONCURRENT_ACTIVITIES",
        "RECAP_METRICS_PORT",
        "RECAP_TEMPORAL_METRICS_PORT",
        "RECAP_OTEL_ENABLED",
        "recap batch cancel",
        "recap keys revoke",
        "--scale worker=",
        *SEARCH_ATTRIBUTES,
    ):
        assert needed in page, f"docs/operations.md does not mention {needed}"
    for variable in set(re.findall(r"\bRECAP_[A-Z0-9_]+\b", page)):
        assert is_setting(variable), f"docs/operations.md: {variable} is not a setting"


def test_operations_page_commands_exist() -> None:
    page = (ROOT / "docs" / "operations.md").read_text()
    lines = [
        line
        for block in re.findall(r"```bash\n(.*?)```", page, re.S)
        for line in block.splitlines()
    ]
    lines += re.findall(r"`(recap [^`]+)`", page)
    checked = 0
    for line in lines:
        words = shlex.split(line, comments=True)
        for position, word in enumerate(words):
            if position == 2 and words[:2] == ["docker", "compose"] and word in ("exec", "run"):
                service = next(w for w in words[position + 1 :] if not w.startswith("-"))
                assert service in services(), f"{line}: no service {service}"
            if word == "recap" and (position == 0 or words[position - 1] in services()):
                assert_recap_command_exists(words[position + 1 :])
                checked += 1
    assert checked >= 8


def test_readme_documents_every_fixed_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in (
        "RECAP_TEMPORAL_ADDRESS",
        "RECAP_TEMPORAL_NAMESPACE",
        "RECAP_TASK_QUEUE",
        "RECAP_DATABASE_URL",
        "RECAP_LLM_BASE_URL",
        "RECAP_LLM_MODEL",
        "RECAP_LLM_API_KEY",
        "RECAP_SOURCE",
        "RECAP_LOG_FORMAT",
    ):
        assert name in readme


def variable_of(value: str) -> str:
    match = INTERPOLATION.fullmatch(value)
    assert match, f"{value!r} is not one variable"
    return match["name"]


def interpolated_variables() -> set[tuple[str, str | None]]:
    text = (ROOT / "docker-compose.yml").read_text().replace("$$", "")
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return {(match["name"], match["op"]) for match in INTERPOLATION.finditer(text)}


def env_example(*, with_commented: bool = False) -> dict[str, str]:
    """The assignments in .env.example (and, if asked, the commented-out examples)."""
    pattern = r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$"
    found: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(pattern, line.strip())
        if match and (with_commented or not match[1]):
            found.setdefault(match[2], match[3])
    return found


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, argument = line.partition(" ")
            instructions.append((instruction.upper(), argument.strip()))
    return instructions
