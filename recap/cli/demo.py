"""`recap demo`: the whole product on a fresh machine, in one command.

Starts the embedded stack, generates sample sessions, summarizes them through Temporal
and the model, prints the results and stops everything it started. Beside each summary
it prints what code found in the session and whether the model's outcome matches the
sample's known outcome, since the default local model is tiny.
"""

from __future__ import annotations

import asyncio
import signal
from contextlib import suppress
from urllib.parse import quote

import httpx
from rich.console import Console

from recap.api.server import api_url, serve_api
from recap.cli.outcomes import print_outcomes
from recap.core.config import Settings
from recap.demo.facts import print_session_facts, timeline_facts
from recap.demo.generator import SampleSession, write_sample_sessions
from recap.embedded.errors import PortInUse
from recap.embedded.ports import ensure_port_free, free_port
from recap.embedded.stack import EmbeddedStack
from recap.jobs.client import SessionOutcome, connect, summarize_sessions
from recap.services.bootstrap import summary_store
from recap.sources.files import load_recording_file
from recap.store.keys import READ_SCOPE, WRITE_SCOPE, KeyStore
from recap.timeline import compile_timeline
from recap.timeline.models import Timeline

OLLAMA_EXAMPLE = "RECAP_LLM_BASE_URL=http://localhost:11434/v1 RECAP_LLM_MODEL=qwen2.5:7b"


async def run_demo(
    settings: Settings, out: Console, err: Console, *, keep_running: bool = False
) -> list[SessionOutcome]:
    from worker import run_worker

    stack = EmbeddedStack(settings)
    starting = "the Temporal dev server" + (
        " and the local model server" if stack.runs_model_server else ""
    )
    with err.status(f"starting {starting}…"):
        await stack.start()
    stop = asyncio.Event()
    recordings = settings.data_dir / "demo" / "recordings"
    # The demo's worker reads the sample sessions, whatever RECAP_SOURCE says: those it is
    # named, and those the pages and the API ask it to summarize (they name no source).
    demo_source = f"files:{recordings.resolve()}"
    allowed = ",".join(filter(None, [settings.allowed_sources, demo_source]))
    worker_settings = settings.model_copy(
        update={"allowed_sources": allowed, "source": demo_source}
    )
    worker_task = asyncio.create_task(run_worker(worker_settings, stop))
    api_task: asyncio.Task[None] | None = None
    demo_key: tuple[str, str] | None = None
    try:
        samples = write_sample_sessions(recordings)
        out.print(f"[bold]recap demo[/] — {len(samples)} sample sessions in {recordings}")
        for sample in samples:
            out.print(
                f"  • {sample.session_id} ({sample.scenario}): {sample.description}",
                highlight=False,
            )
        client = await connect(settings)
        with err.status(f"summarizing {len(samples)} sessions through Temporal and the model…"):
            outcomes = await summarize_sessions(
                client,
                settings,
                team_id=settings.team_id,
                session_ids=[sample.session_id for sample in samples],
                focus_area=None,
                source=f"files:{recordings.resolve()}",
            )
        _print_results(settings, samples, outcomes, out)
        api_settings = settings.model_copy(update={"source": f"files:{recordings.resolve()}"})
        api_task, url = await _start_api(api_settings, stop)
        demo_key = await _show_api(
            api_settings, url, [sample.session_id for sample in samples], out
        )
        _show_pages(settings, url, [sample.session_id for sample in samples], out, keep_running)
        out.print(f"\nTemporal UI: {settings.temporal_ui_url}", highlight=False)
        if not keep_running:
            out.print(
                "The dev server keeps its history: run `recap dev` to browse these workflows "
                "in the UI later.",
                style="dim",
            )
        # soft wrap: rich's own line breaks would split the variables people copy
        out.print(capable_model_hint(settings), style="bold", highlight=False, soft_wrap=True)
        if keep_running:
            out.print("The stack keeps running; press Ctrl+C to stop.", style="dim")
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            out.print(
                f"Try the API: curl -H 'Authorization: Bearer {demo_key[1]}' "
                f"{url}/api/projects/{settings.team_id}/session_recordings/",
                highlight=False,
            )
            out.print(
                f"Read the pages: {url}/ui/ (the sign-in form's 'recap key' field takes"
                f" {demo_key[1]})",
                highlight=False,
                soft_wrap=True,
            )
            await stop.wait()
        return outcomes
    finally:
        stop.set()
        if demo_key is not None:
            KeyStore(summary_store(settings)).revoke(demo_key[0])
        with suppress(Exception):
            await asyncio.wait_for(worker_task, timeout=30)
        if api_task is not None:
            with suppress(Exception):
                await asyncio.wait_for(api_task, timeout=10)
        stack.stop()


def _print_results(
    settings: Settings,
    samples: list[SampleSession],
    outcomes: list[SessionOutcome],
    out: Console,
) -> None:
    """Each sample's stored summary, then the facts code found and the known outcome."""
    from activities.models import SummarizeSessionResult

    by_session = {outcome.session_id: outcome for outcome in outcomes}
    for sample in samples:
        outcome = by_session[sample.session_id]
        print_outcomes([outcome], settings, out, as_json=False)
        summary = (
            outcome.result.stored.summary
            if isinstance(outcome.result, SummarizeSessionResult)
            else None
        )
        timeline = _sample_timeline(
            settings, sample, summary.run.timeline_hash if summary else None
        )
        print_session_facts(
            out,
            timeline_facts(timeline),
            known_outcome=sample.known_outcome,
            expected_success=sample.expected_success,
            model_success=summary.summary_outcome.success if summary else None,
        )


def _sample_timeline(
    settings: Settings, sample: SampleSession, timeline_hash: str | None
) -> Timeline:
    """The timeline the model read, as stored with its summary; a session that has no
    summary is compiled from its file (refs are the same: the budget keeps numbers)."""
    if timeline_hash is not None:
        stored = summary_store(settings).load_timeline(timeline_hash)
        if stored is not None:
            return stored.timeline
    return compile_timeline(load_recording_file(sample.path), settings.timeline)


def capable_model_hint(settings: Settings) -> str:
    """One line on where the summaries came from and how to use a capable model instead."""
    if settings.uses_embedded_model:
        source = f"the tiny local model ({settings.llm_model})"
    else:
        source = f"{settings.llm_model} at {settings.effective_llm_base_url}"
    return (
        f"Summaries by {source}. For a capable model set RECAP_LLM_BASE_URL, "
        f"RECAP_LLM_MODEL and RECAP_LLM_API_KEY (OpenAI or any OpenAI-compatible "
        f"endpoint), or use Ollama: {OLLAMA_EXAMPLE} recap demo"
    )


async def _start_api(settings: Settings, stop: asyncio.Event) -> tuple[asyncio.Task[None], str]:
    """The API beside the worker, on RECAP_API_PORT or, when that is taken, a free port."""
    try:
        ensure_port_free(settings.api_host, settings.api_port, "the recap API", "RECAP_API_PORT")
        port = settings.api_port
    except PortInUse:
        port = free_port()
    task = asyncio.create_task(serve_api(settings, stop, port))
    url = api_url(settings, port)
    async with httpx.AsyncClient() as http:
        for _ in range(100):
            with suppress(httpx.HTTPError):
                if (await http.get(f"{url}/healthz")).status_code == 200:
                    break
            if task.done():
                task.result()
            await asyncio.sleep(0.1)
    return task, url


def _show_pages(
    settings: Settings, url: str, session_ids: list[str], out: Console, keep_running: bool
) -> None:
    """Where people read the summaries: the pages of the three sessions."""
    team = quote(settings.team_id, safe="")
    out.print(f"\n[bold]Pages[/] {url}/ui/{team}/sessions", highlight=False)
    for session_id in session_ids:
        out.print(f"  {url}/ui/{team}/sessions/{session_id}", highlight=False)
    if keep_running:
        out.print("  Sign in with the demo's key (below).", style="dim")
    else:
        out.print(
            "  The pages are served while recap runs: `recap demo --keep-running` keeps them"
            " up (sign in with the key it prints).",
            style="dim",
        )


async def _show_api(
    settings: Settings, url: str, session_ids: list[str], out: Console
) -> tuple[str, str]:
    """Reads the summaries back the way an API caller would; returns the demo key
    (id, token), revoked when the demo ends."""
    key, token = KeyStore(summary_store(settings)).create(
        team_id=settings.team_id, scopes=[READ_SCOPE, WRITE_SCOPE], label="recap demo"
    )
    listing_url = f"{url}/api/projects/{settings.team_id}/session_recordings/"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        response = await http.get(listing_url, params={"has_summary": "true"})
    response.raise_for_status()
    listed = {item["id"]: item for item in response.json()["results"]}
    out.print(f"\n[bold]HTTP API[/] {url}/docs", highlight=False)
    for session_id in session_ids:
        item = listed.get(session_id)
        outcome = item["summary_outcome"] if item else None
        out.print(
            f"  GET …/session_recordings/{session_id}/ → has_summary="
            f"{bool(item and item['has_summary'])}"
            + (f", success={outcome['success']}" if outcome else ""),
            highlight=False,
        )
    return key.id, token
