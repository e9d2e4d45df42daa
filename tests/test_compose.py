"""docker-compose.yml is checked statically (no Docker engine here): it parses, the commands
it runs exist, and the environment it sets matches recap's settings."""

from __future__ import annotations

from pathlib import Path

import yaml

from recap.cli import app
from recap.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_compose_services_and_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"temporal", "temporal-ui", "postgres", "worker"} <= set(services)
    worker = services["worker"]
    assert (ROOT / worker["build"] / "Dockerfile").is_file()
    command = worker["command"]
    assert command[0] == "recap"
    commands = {
        info.name or (info.callback.__name__ if info.callback else "")
        for info in app.registered_commands
    }
    assert command[1] in commands
    known = {f"RECAP_{name.upper()}" for name in Settings.model_fields}
    for variable in worker["environment"]:
        assert variable in known, f"{variable} is not a recap setting"
    for dependency in worker["depends_on"]:
        assert dependency in services


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
