"""Benchmark a pattern report: model calls and tokens per 100 sessions, and wall time with
a 2 s model stand-in.

On a local Temporal dev server with the real workflows and the real worker code
(`worker.build_workers`), `PatternReportWorkflow` reports on N generated shop sessions
whose summaries are already stored (the labelled checkout-error, dead-coupon and fine
sessions of the report tests). The report's model steps (map, reduce, assign) go to a
loopback OpenAI-protocol server that sleeps (2 s by default) and answers from the prompt;
every token of every prompt it receives is counted with recap's tokenizer. Prints one
JSON object per size: calls per step, prompt tokens, wall time, and calls and tokens per
100 sessions.

    uv run python benchmarks/report.py [--sessions 100,300] [--sleep 2] [--chunk-tokens 6000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORK = Path(tempfile.mkdtemp(prefix="recap-bench-report-"))
os.environ["RECAP_DATA_DIR"] = str(WORK / "data")
os.environ["RECAP_DATABASE_URL"] = f"sqlite:///{WORK / 'data' / 'recap.db'}"
os.environ.setdefault("RECAP_LOG_LEVEL", "WARNING")

from temporalio.common import SearchAttributeKey  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from recap.core.config import get_settings  # noqa: E402
from recap.core.logging import configure_logging  # noqa: E402
from recap.core.naming import SEARCH_ATTRIBUTES  # noqa: E402
from recap.services.bootstrap import summary_store  # noqa: E402
from recap.timeline import count_tokens  # noqa: E402
from tests.support.model_double import Reply, chat_server  # noqa: E402
from tests.support.report_fixtures import (  # noqa: E402
    PatternDouble,
    copies,
    labels,
    report_cases,
    store_summaries,
)
from worker import build_workers  # noqa: E402
from workflows.contracts import PatternReportInput  # noqa: E402
from workflows.pattern_report import PatternReportWorkflow  # noqa: E402


@dataclass
class SlowCountingModel:
    """The report double, after a sleep; counts the prompt tokens it is sent per step."""

    sleep_seconds: float
    double: PatternDouble = field(default_factory=PatternDouble)
    prompt_tokens: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, body: dict[str, Any]) -> Reply:
        step = body["response_format"]["json_schema"]["name"]
        text = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        tokens = count_tokens(text)
        with self._lock:
            self.prompt_tokens[step] = self.prompt_tokens.get(step, 0) + tokens
            reply = self.double(body)
        time.sleep(self.sleep_seconds)  # the server answers each request on its own thread
        return reply


async def run_report(
    env: WorkflowEnvironment, sessions: int, sleep_seconds: float, chunk_tokens: int
) -> dict[str, Any]:
    cases = copies(report_cases(WORK / f"recordings-{sessions}", labels()), sessions)
    team = f"bench-{uuid.uuid4().hex[:8]}"
    model = SlowCountingModel(sleep_seconds)
    with chat_server() as chat:
        chat.responder = model
        settings = get_settings().model_copy(
            update={
                "task_queue": f"bench-{uuid.uuid4().hex[:8]}",
                "llm_task_queue": f"bench-llm-{uuid.uuid4().hex[:8]}",
                "llm_base_url": chat.base_url,
                "llm_schema_limits": False,
                "report_chunk_tokens": chunk_tokens,
            }
        )
        store_summaries(summary_store(settings), team, cases)
        with ThreadPoolExecutor(max_workers=8) as executor:
            main, llm = build_workers(env.client, settings, executor)
            async with main, llm:
                started = time.monotonic()
                result = await env.client.execute_workflow(
                    PatternReportWorkflow.run,
                    PatternReportInput(
                        team_id=team,
                        session_ids=[case.session_id for case in cases],
                        llm_task_queue=settings.llm_task_queue,
                    ),
                    id=f"pattern-report:{team}:bench",
                    task_queue=settings.task_queue,
                )
                wall = time.monotonic() - started
    calls = dict(model.double.calls)
    total_calls = sum(calls.values())
    total_tokens = sum(model.prompt_tokens.values())
    per_100 = 100 / sessions
    return {
        "sessions": sessions,
        "patterns": result.patterns,
        "sessions_reported": result.sessions_reported,
        "model_sleep_seconds": sleep_seconds,
        "chunk_tokens": chunk_tokens,
        "calls": calls,
        "prompt_tokens": model.prompt_tokens,
        "wall_seconds": round(wall, 2),
        "calls_per_100_sessions": round(total_calls * per_100, 2),
        "prompt_tokens_per_100_sessions": round(total_tokens * per_100),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", default="100,300")
    parser.add_argument("--sleep", type=float, default=2.0)
    parser.add_argument("--chunk-tokens", type=int, default=6000)
    args = parser.parse_args()
    # The dev server prints its banner to the stdout it inherits: keep ours for the JSON.
    report_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    configure_logging(get_settings())
    temporal = Path(sys.executable).parent / "temporal"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal),
        data_converter=pydantic_data_converter,
        search_attributes=[SearchAttributeKey.for_keyword(name) for name in SEARCH_ATTRIBUTES],
        dev_server_log_level="error",
    )
    try:
        runs = [
            await run_report(env, int(size), args.sleep, args.chunk_tokens)
            for size in args.sessions.split(",")
        ]
    finally:
        await env.shutdown()
    report = {
        "benchmark": "report",
        "stand_ins": "the report's model steps (a loopback server that sleeps and answers "
        "from the prompt); summaries stored beforehand; workflows and activities are real",
        "cores": os.cpu_count(),
        "runs": runs,
    }
    report_out.write(json.dumps(report, indent=2) + "\n")
    report_out.flush()


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
