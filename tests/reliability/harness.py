"""What the reliability suite runs on: real worker processes (started and SIGKILLed), a
loopback model server that injects faults and counts calls, batches started as operators
start them, and the figures each test prints."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus

from recap.core.config import Settings, get_settings
from recap.jobs.client import batch_result, start_batch
from recap.store.repository import store_for
from tests.support.model_double import (
    ChatServer,
    Reply,
    chat_server,
    completion_body,
    grounded_reply,
)
from workflows.contracts import BatchProgress

ROOT = Path(__file__).resolve().parents[2]
MODEL_KEY = "sk-reliability-model-key-5f2c9e1d7b3a"


@dataclass
class FaultPlan:
    """Which share of model calls fail, and how; decided by a seeded RNG so a run is
    reproducible."""

    rate: float = 0.0
    kinds: tuple[str, ...] = ("rate_limited", "server_error", "timeout", "malformed")
    seed: int = 7
    timeout_delay: float = 6.0
    latency: float = 0.02


@dataclass
class FaultyModel:
    """The loopback model server with its fault plan and its counts."""

    server: ChatServer
    plan: FaultPlan
    calls: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def respond(self, body: dict[str, Any]) -> Reply:
        with self.lock:
            self.calls += 1
            rng = random.Random(f"{self.plan.seed}:{self.calls}")
            kind = rng.choice(self.plan.kinds) if rng.random() < self.plan.rate else None
            if kind is not None:
                self.faults[kind] += 1
        if kind == "rate_limited":
            return Reply(
                status=429,
                headers={"Retry-After": "1"},
                body={"error": {"message": "Rate limit reached", "type": "requests"}},
            )
        if kind == "server_error":
            return Reply(status=500, body={"error": {"message": "boom", "type": "server_error"}})
        if kind == "timeout":
            return Reply(delay=self.plan.timeout_delay, body=completion_body("{}"))
        if kind == "malformed":
            return Reply(body=completion_body('{"title": "cut off'))
        reply = grounded_reply(body)
        reply.delay = self.plan.latency
        return reply


@contextmanager
def faulty_model(plan: FaultPlan | None = None) -> Iterator[FaultyModel]:
    with chat_server() as server:
        model = FaultyModel(server=server, plan=plan or FaultPlan())
        server.responder = model.respond
        yield model


@dataclass
class Queues:
    main: str
    llm: str

    @classmethod
    def fresh(cls, name: str) -> Queues:
        suffix = uuid.uuid4().hex[:8]
        return cls(main=f"rel-{name}-{suffix}", llm=f"rel-{name}-llm-{suffix}")


def worker_environment(
    client: Client, queues: Queues, model: FaultyModel, source: str, **extra: str
) -> dict[str, str]:
    base = get_settings()
    return {
        **os.environ,
        "RECAP_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "RECAP_TASK_QUEUE": queues.main,
        "RECAP_LLM_TASK_QUEUE": queues.llm,
        "RECAP_LLM_BASE_URL": model.server.base_url,
        "RECAP_LLM_API_KEY": MODEL_KEY,
        "RECAP_LLM_MODEL": "served-model",
        "RECAP_LLM_TIMEOUT_SECONDS": "3",
        "RECAP_SOURCE": source,
        "RECAP_DATABASE_URL": base.resolved_database_url,
        "RECAP_DATA_DIR": str(base.data_dir),
        "RECAP_LOG_FORMAT": "json",
        "RECAP_LOG_LEVEL": "INFO",
        **extra,
    }


class WorkerProcess:
    """`python worker.py` as operators run it, with its output kept for inspection."""

    def __init__(self, environment: dict[str, str], log_path: Path) -> None:
        self.environment = environment
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(ROOT / "worker.py"),
                cwd=ROOT,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def kill(self) -> None:
        """SIGKILL: no graceful shutdown, in-flight tasks are simply gone."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@asynccontextmanager
async def workers(environment: dict[str, str], log_path: Path) -> AsyncIterator[WorkerProcess]:
    worker = WorkerProcess(environment, log_path)
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()


def settings_for(client: Client, queues: Queues, source: str) -> Settings:
    base = get_settings()
    return base.model_copy(
        update={
            "temporal_address": client.service_client.config.target_host,
            "task_queue": queues.main,
            "llm_task_queue": queues.llm,
            "source": source,
        }
    )


async def run_batch(
    client: Client,
    settings: Settings,
    team: str,
    session_ids: list[str],
    *,
    concurrency: int = 20,
) -> str:
    return await start_batch(
        client,
        settings,
        team_id=team,
        session_ids=session_ids,
        focus_area=None,
        source=settings.source,
        force=False,
        max_concurrency=concurrency,
    )


async def wait_batch(client: Client, workflow_id: str, within: float) -> BatchProgress:
    progress = await batch_result(client, workflow_id, within)
    assert progress is not None, f"batch {workflow_id} still running after {within} s"
    return progress


def summary_counts(database_url: str, team: str, session_ids: list[str]) -> tuple[int, int]:
    """(sessions without a summary, sessions with more than one summary row)."""
    store = store_for(database_url)
    counts = [store.count_summaries(team_id=team, session_id=sid) for sid in session_ids]
    return sum(1 for c in counts if c == 0), sum(1 for c in counts if c > 1)


async def running_workflows(client: Client, team: str) -> list[str]:
    """The team's workflows that are still open (none may be left stuck)."""
    found = []
    async for execution in client.list_workflows(f'RecapTeamId = "{team}"'):
        if execution.status == WorkflowExecutionStatus.RUNNING:
            found.append(execution.id)
    return found


async def histories_json(client: Client, team: str) -> list[str]:
    """Every workflow history of the team, exported as the UI or CLI would."""
    exported = []
    async for execution in client.list_workflows(f'RecapTeamId = "{team}"'):
        history = await client.get_workflow_handle(
            execution.id, run_id=execution.run_id
        ).fetch_history()
        exported.append(history.to_json())
    return exported


# Every figure line of the run, repeated in pytest's closing summary (see conftest.py) so
# CI's log shows them even though pytest captures the tests' output.
FIGURES: list[str] = []


def report(name: str, **figures: Any) -> None:
    """Each test prints its figures (sessions, calls, faults, lost, duplicated)."""
    line = f"RELIABILITY {name} " + json.dumps(figures, sort_keys=True)
    FIGURES.append(line)
    print("\n" + line, flush=True)
