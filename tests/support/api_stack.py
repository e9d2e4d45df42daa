"""The API under test, for real: the Temporal dev server, `python worker.py` as a process
(real activities, the loopback model server), and the app served by uvicorn on a port."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from temporalio.testing import WorkflowEnvironment

from recap.api.server import api_config
from recap.core.config import Settings, get_settings
from recap.demo.generator import write_sample_sessions
from recap.embedded.ports import free_port
from recap.store.keys import READ_SCOPE, WRITE_SCOPE, KeyStore
from recap.store.repository import store_for
from tests.support.model_double import ChatServer, chat_server, grounded_reply

ROOT = Path(__file__).resolve().parents[2]
TOO_SHORT = "too-short-session"


@dataclass
class ApiStack:
    url: str
    settings: Settings
    recordings: Path
    session_ids: list[str]
    model: ChatServer
    # team -> scopes label -> token
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    worker_log: Path | None = None

    def headers(self, team: str = "team-a", scopes: str = "rw") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[team][scopes]}"}


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The app on a free loopback port, in a thread, until the block ends."""
    port = free_port()
    # The deployment's server settings (request limits), on loopback.
    server = uvicorn.Server(api_config(settings.model_copy(update={"api_host": "127.0.0.1"}), port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@asynccontextmanager
async def worker_process(environment: dict[str, str], log_path: Path) -> AsyncIterator[None]:
    """`python worker.py` with `environment` over the test session's, logging to `log_path`,
    stopped (terminated, killed after 20 s) when the block ends."""
    with log_path.open("wb") as log:
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "worker.py"),
            cwd=ROOT,
            env={**os.environ, **environment},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield
    finally:
        worker.terminate()
        try:
            await asyncio.wait_for(worker.wait(), 20)
        except TimeoutError:
            worker.kill()
            await worker.wait()


def _write_too_short(directory: Path) -> None:
    """A recording with one snapshot and nothing after it: nothing to summarize."""
    document = {
        "version": "2023-04-28",
        "data": {
            "id": TOO_SHORT,
            "person": None,
            "snapshots": [
                {
                    "type": 4,
                    "timestamp": 1_700_000_000_000,
                    "data": {"href": "https://shop.example/", "width": 1280, "height": 720},
                    "windowId": "w1",
                }
            ],
        },
    }
    (directory / f"{TOO_SHORT}.json").write_text(json.dumps(document), encoding="utf-8")


@pytest.fixture(scope="session")
async def api_stack(
    temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ApiStack]:
    directory = tmp_path_factory.mktemp("api-recordings")
    ids: list[str] = []
    for seed in range(2):
        ids.extend(sample.session_id for sample in write_sample_sessions(directory, seed=seed))
    _write_too_short(directory)
    get_settings.cache_clear()
    base = get_settings()
    with chat_server() as model:
        model.responder = grounded_reply
        environment = {
            "RECAP_TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
            "RECAP_TASK_QUEUE": f"api-{uuid.uuid4().hex[:8]}",
            "RECAP_LLM_TASK_QUEUE": f"api-llm-{uuid.uuid4().hex[:8]}",
            "RECAP_LLM_BASE_URL": model.base_url,
            "RECAP_LLM_MODEL": "served-model",
            "RECAP_SOURCE": f"files:{directory}",
            "RECAP_DATABASE_URL": base.resolved_database_url,
            "RECAP_DATA_DIR": str(base.data_dir),
            "RECAP_LOG_FORMAT": "json",
        }
        settings = Settings(
            temporal_address=environment["RECAP_TEMPORAL_ADDRESS"],
            task_queue=environment["RECAP_TASK_QUEUE"],
            llm_task_queue=environment["RECAP_LLM_TASK_QUEUE"],
            source=environment["RECAP_SOURCE"],
            database_url=base.resolved_database_url,
            data_dir=base.data_dir,
            api_wait_timeout_seconds=120,
            batch_max_concurrency=4,
        )
        log_path = directory.parent / "worker.log"
        async with worker_process(environment, log_path):
            keys = KeyStore(store_for(settings.resolved_database_url))
            tokens: dict[str, dict[str, str]] = {}
            for team in ("team-a", "team-b"):
                tokens[team] = {
                    label: keys.create(team_id=team, scopes=scopes, label=f"test {label}")[1]
                    for label, scopes in (
                        ("rw", [READ_SCOPE, WRITE_SCOPE]),
                        ("read", [READ_SCOPE]),
                        ("write", [WRITE_SCOPE]),
                    )
                }
            with serve(settings) as url:
                async with httpx.AsyncClient(timeout=10) as http:
                    for _ in range(200):
                        ready = await http.get(f"{url}/readyz")
                        if ready.status_code == 200:
                            break
                        await asyncio.sleep(0.1)
                yield ApiStack(
                    url=url,
                    settings=settings,
                    recordings=directory,
                    session_ids=ids,
                    model=model,
                    tokens=tokens,
                    worker_log=log_path,
                )
    get_settings.cache_clear()
