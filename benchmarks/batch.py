"""Benchmark a batch of session summaries: how close the sliding window gets to ideal.

On a local Temporal dev server with the real workflows and the real worker code
(`worker.build_workers`: main queue plus the model's own queue), N sessions go through
`SummarizeSessionsIndividuallyWorkflow`. The model call is a same-named activity that sleeps
(2 s by default); compile and store are fast same-named stand-ins too, since at this scale
compiling real recordings would measure the compiler, not the orchestration. Prints one
JSON object: wall time against ideal (sessions / concurrency x sleep), their ratio, the
history length of every run (each continue-as-new and the last one), and the orchestration
cost: the CPU-seconds (user + system) the worker (this process: the Python workers and the
SDK's Rust core) and the Temporal dev server spent over the batch, per summarized session.

    uv run python benchmarks/batch.py [--sessions 1000] [--concurrency 100] [--sleep 2]
    uv run python benchmarks/batch.py --big 10000   # only the history lengths matter here
    uv run python benchmarks/batch.py --singles     # and the same sessions without a batch
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

WORK = Path(tempfile.mkdtemp(prefix="recap-bench-batch-"))
os.environ["RECAP_DATA_DIR"] = str(WORK / "data")
os.environ["RECAP_DATABASE_URL"] = f"sqlite:///{WORK / 'data' / 'recap.db'}"
os.environ.setdefault("RECAP_LOG_LEVEL", "WARNING")

from temporalio import activity  # noqa: E402
from temporalio.common import SearchAttributeKey  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from activities.models import (  # noqa: E402
    CompiledTimeline,
    CompileTimelineInput,
    StoreSummaryInput,
    SummarizeTimelineInput,
)
from recap.core.config import Settings, get_settings  # noqa: E402
from recap.core.logging import configure_logging  # noqa: E402
from recap.core.naming import (  # noqa: E402
    SEARCH_ATTRIBUTES,
    batch_workflow_id,
    summary_workflow_id,
)
from recap.demo.generator import write_sample_sessions  # noqa: E402
from recap.jobs.client import start_summary  # noqa: E402
from recap.llm.gate import gate  # noqa: E402
from recap.llm.prompts import load_prompt  # noqa: E402
from recap.llm.schema import ModelSummary, RunMetadata, SessionSummary, SummaryOutcome  # noqa: E402
from recap.sources.files import load_recording_file  # noqa: E402
from recap.store.repository import StoredSummary  # noqa: E402
from recap.timeline import compile_timeline as compile_recording  # noqa: E402
from worker import build_activities, build_workers  # noqa: E402
from workflows.batch_summaries import SummarizeSessionsIndividuallyWorkflow  # noqa: E402
from workflows.contracts import SummarizeSessionsInput  # noqa: E402


def worker_cpu_seconds() -> float:
    """User + system CPU of this process, every thread: the worker, its Rust core, the client."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_cpu_seconds() -> float:
    """User + system CPU of the dev server: this process's `temporal` children, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # exited meanwhile
        # "pid (comm) state ppid ... utime stime ...": comm may hold spaces, so split after it.
        command = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[1]) == os.getpid() and command.startswith("temporal"):
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def summary_template() -> SessionSummary:
    """One real, gated summary, copied for every session the stand-in model 'summarizes'."""
    (sample,) = write_sample_sessions(WORK / "recordings", scenarios=["signup_success"])
    timeline = compile_recording(load_recording_file(sample.path))
    answer = ModelSummary(
        title="Benchmark",
        segments=[],
        key_actions=[],
        issues=[],
        summary_outcome=SummaryOutcome(description="Benchmark.", success=True),
    )
    run = RunMetadata(
        model="sleep",
        prompt_version=load_prompt().version,
        timeline_hash="bench",
        timeline_tokens=0,
        latency_ms=0,
        focus_area=None,
    )
    return gate(answer, timeline, run, focus_area=None)


def stand_ins(sleep_seconds: float) -> tuple[list[Any], list[Any]]:
    template = summary_template()

    @activity.defn(name="compile_timeline")
    async def compile_timeline(request: CompileTimelineInput) -> CompiledTimeline:
        return CompiledTimeline(
            session_id=request.session_id,
            timeline_hash=f"bench-{request.session_id}",
            tokens=100,
            events=10,
            duration_ms=1000,
        )

    @activity.defn(name="summarize_session")
    async def summarize_session(request: SummarizeTimelineInput) -> SessionSummary:
        await asyncio.sleep(sleep_seconds)
        return template.model_copy(update={"session_id": request.session_id})

    @activity.defn(name="store_summary")
    async def store_summary(request: StoreSummaryInput) -> StoredSummary:
        return StoredSummary(
            team_id=request.team_id,
            session_id=request.summary.session_id,
            focus_area=None,
            has_summary=True,
            summary_outcome=request.summary.summary_outcome,
            summary=None,  # keep the child's result small; the real store returns the row
            updated_at=datetime.now(UTC),
        )

    batch = build_activities(get_settings()).batch  # the batch's own activities are real
    main = [compile_timeline, store_summary, batch.find_existing_summaries]
    return [*main, batch.await_summary_workflow], [summarize_session]


def bench_settings(concurrency: int) -> Settings:
    """The worker's settings on fresh queues, the model queue `concurrency` wide."""
    return get_settings().model_copy(
        update={
            "task_queue": f"bench-{uuid.uuid4().hex[:8]}",
            "llm_task_queue": f"bench-llm-{uuid.uuid4().hex[:8]}",
            "llm_max_concurrent_activities": concurrency,
        }
    )


@asynccontextmanager
async def bench_workers(
    env: WorkflowEnvironment, settings: Settings, sleep_seconds: float
) -> AsyncIterator[None]:
    """The real workers (main queue and model queue) with the stand-ins, until the block ends."""
    pipeline, model = stand_ins(sleep_seconds)
    with ThreadPoolExecutor(max_workers=8) as executor:
        main, llm = build_workers(
            env.client,
            settings,
            executor,
            pipeline_activities=pipeline,
            model_activities=model,
        )
        async with main, llm:
            yield


def cost(
    sessions: int,
    concurrency: int,
    sleep_seconds: float,
    wall: float,
    cpu: tuple[float, float],
    summarized: int,
) -> dict[str, float | dict[str, float]]:
    """Wall time against ideal for `sessions`, and CPU-seconds per summarized session, from
    the (worker, server) CPU spent over the run."""
    worker_cpu, server_cpu = cpu
    ideal = sessions / concurrency * sleep_seconds
    total = worker_cpu + server_cpu
    return {
        "wall_seconds": round(wall, 2),
        "ideal_seconds": round(ideal, 2),
        "ratio": round(wall / ideal, 3),
        "cpu_seconds": {
            "worker": round(worker_cpu, 2),
            "server": round(server_cpu, 2),
            "total": round(total, 2),
        },
        "cpu_seconds_per_session": round(total / max(1, summarized), 4),
        # The share of the machine's cores the run kept busy: near 1.0, it is CPU-bound.
        "cpu_load": round(total / wall / (os.cpu_count() or 1), 3),
    }


async def run_batch(
    env: WorkflowEnvironment, sessions: int, concurrency: int, sleep_seconds: float
) -> dict[str, Any]:
    settings = bench_settings(concurrency)
    team = f"bench-{uuid.uuid4().hex[:8]}"
    session_ids = [str(uuid.uuid4()) for _ in range(sessions)]
    async with bench_workers(env, settings, sleep_seconds):
        started = time.monotonic()
        worker_cpu, server_cpu = worker_cpu_seconds(), server_cpu_seconds()
        handle = await env.client.start_workflow(
            SummarizeSessionsIndividuallyWorkflow.run,
            SummarizeSessionsInput(
                team_id=team,
                session_ids=session_ids,
                max_concurrency=concurrency,
                llm_task_queue=settings.llm_task_queue,
            ),
            id=batch_workflow_id(team, "bench"),
            task_queue=settings.task_queue,
        )
        result = await handle.result()
        wall = time.monotonic() - started
        worker_cpu = worker_cpu_seconds() - worker_cpu
        server_cpu = server_cpu_seconds() - server_cpu
    last = await env.client.get_workflow_handle(handle.id).fetch_history()
    # What one session costs Temporal, counted in its summary workflow's history.
    child = await env.client.get_workflow_handle(
        summary_workflow_id(team, session_ids[0])
    ).fetch_history()
    per_session = {
        "events": len(child.events),
        "workflow_tasks": sum(
            e.HasField("workflow_task_completed_event_attributes") for e in child.events
        ),
        "activity_tasks": sum(
            e.HasField("activity_task_started_event_attributes") for e in child.events
        ),
        "local_activities": sum(
            e.HasField("marker_recorded_event_attributes")
            and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
            for e in child.events
        ),
    }
    history_lengths = [*result.history_lengths, len(last.events)]
    return {
        "sessions": sessions,
        "concurrency": concurrency,
        "model_sleep_seconds": sleep_seconds,
        "summarized": result.summarized,
        "failed": result.failed,
        **cost(
            sessions,
            concurrency,
            sleep_seconds,
            wall,
            (worker_cpu, server_cpu),
            summarized=result.summarized,
        ),
        "runs": len(history_lengths),
        "history_length_per_run": history_lengths,
        "largest_history_length": max(history_lengths),
        "summary_workflow_history": per_session,
    }


async def run_singles(
    env: WorkflowEnvironment, sessions: int, concurrency: int, sleep_seconds: float
) -> dict[str, Any]:
    """The same number of sessions as single summaries, each started and awaited by a
    client as the API does (`start_summary`), `concurrency` at a time: what a session costs
    without a batch around it."""
    settings = bench_settings(concurrency)
    team = f"bench-{uuid.uuid4().hex[:8]}"
    slots = asyncio.Semaphore(concurrency)

    async def one(session_id: str) -> None:
        async with slots:
            handle = await start_summary(
                env.client,
                settings,
                team_id=team,
                session_id=session_id,
                focus_area=None,
                source=None,
            )
            await handle.result()

    async with bench_workers(env, settings, sleep_seconds):
        started = time.monotonic()
        worker_cpu, server_cpu = worker_cpu_seconds(), server_cpu_seconds()
        await asyncio.gather(*(one(str(uuid.uuid4())) for _ in range(sessions)))
        wall = time.monotonic() - started
        cpu = (worker_cpu_seconds() - worker_cpu, server_cpu_seconds() - server_cpu)
    return {
        "sessions": sessions,
        "concurrency": concurrency,
        "model_sleep_seconds": sleep_seconds,
        # Every one was summarized: a failed one raises from `handle.result()`.
        **cost(sessions, concurrency, sleep_seconds, wall, cpu, summarized=sessions),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--sleep", type=float, default=2.0)
    parser.add_argument("--big", type=int, default=None, help="also run a batch this large")
    parser.add_argument(
        "--singles",
        action="store_true",
        help="then run as many single summaries, started by a client as the API does",
    )
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
        report: dict[str, Any] = {
            "benchmark": "batch",
            "stand_ins": "compile_timeline, summarize_session (sleeps), store_summary; "
            "find_existing_summaries and the workflows are the real ones",
            "cores": os.cpu_count(),
            "run": await run_batch(env, args.sessions, args.concurrency, args.sleep),
        }
        if args.big:
            report["big"] = await run_batch(env, args.big, args.concurrency, args.sleep)
        if args.singles:
            report["singles"] = await run_singles(env, args.sessions, args.concurrency, args.sleep)
    finally:
        await env.shutdown()
    report_out.write(json.dumps(report, indent=2) + "\n")
    report_out.flush()


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
