"""How summary outcomes are shown to people: readable text, or JSON for scripts."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from recap.core.config import Settings
from recap.jobs.client import SessionOutcome
from recap.timeline.render import format_clock


def outcome_document(outcome: SessionOutcome) -> dict[str, Any]:
    from activities.models import SummarizeSessionResult

    document: dict[str, Any] = {
        "session_id": outcome.session_id,
        "workflow_id": outcome.workflow_id,
    }
    if isinstance(outcome.result, SummarizeSessionResult):
        stored = outcome.result.stored
        document.update(stored.model_dump(mode="json"))
        document["cited_events"] = [
            event.model_dump(mode="json")
            for event in (stored.summary.cited_events() if stored.summary else [])
        ]
    else:
        document.update(
            has_summary=False, error={"type": outcome.error_type, "message": outcome.error}
        )
    return document


def print_outcomes(
    outcomes: list[SessionOutcome], settings: Settings, out: Console, *, as_json: bool
) -> None:
    """Prints each session's stored summary (or its typed failure), as text or JSON."""
    from activities.models import SummarizeSessionResult

    if as_json:
        documents = [outcome_document(outcome) for outcome in outcomes]
        sys.stdout.write(json.dumps(documents, indent=2, ensure_ascii=False) + "\n")
        return
    for outcome in outcomes:
        link = settings.temporal_workflow_url(outcome.workflow_id)
        if not isinstance(outcome.result, SummarizeSessionResult):
            out.print(
                f"[bold red]✗[/] [bold]{outcome.session_id}[/] failed "
                f"([red]{outcome.error_type}[/]): {escape(outcome.error or '')}",
                highlight=False,
            )
            out.print(f"  {link}", style="dim", highlight=False)
            continue
        summary = outcome.result.stored.summary
        assert summary is not None
        success = summary.summary_outcome.success
        mark = "[green]✓ success[/]" if success else "[yellow]✗ not successful[/]"
        # The model's words are data, not rich markup: `[/b]` in a title would raise.
        out.print(f"\n[bold]{outcome.session_id}[/] — {escape(summary.title)}", highlight=False)
        out.print(
            f"  outcome: {mark} — {escape(summary.summary_outcome.description)}",
            highlight=False,
        )
        table = Table(show_header=True, header_style="bold", box=None, padding=(0, 1))
        table.add_column("ref", style="cyan")
        table.add_column("at")
        table.add_column("key action")
        for action in summary.key_actions:
            table.add_row(
                action.event.ref, format_clock(action.event.t_ms), Text(action.description)
            )
        if summary.key_actions:
            out.print(table)
        for issue in summary.issues:
            out.print(
                f"  [red]issue[/] {issue.kind.value} ({issue.severity}) at {issue.event.ref} "
                f"{format_clock(issue.event.t_ms)}: {escape(issue.description)}",
                highlight=False,
            )
        for note in summary.gate_notes:
            out.print(f"  [yellow]gate note[/] {escape(note)}", highlight=False)
        if summary.gate.dropped:
            out.print(
                f"  the gate dropped {len(summary.gate.dropped)} unsupported claim(s)",
                style="dim",
                highlight=False,
            )
        run = summary.run
        out.print(
            f"  model {run.model} · prompt {run.prompt_version} · {run.timeline_tokens} timeline "
            f"tokens · {run.latency_ms} ms",
            style="dim",
            highlight=False,
        )
        out.print(f"  {link}", style="dim", highlight=False)
