"""What `recap demo` prints beside each summary: the facts code found, the known outcome,
and whether the model agrees; and the summary itself, with the model's text as written.

The facts are checked on the real sample sessions (generated, then compiled), and the
demo itself once end to end: `recap demo` as a user runs it, with the loopback model
double as its configured endpoint (so no llama-server is started).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from activities.models import SummarizeSessionResult
from recap.cli.outcomes import print_outcomes
from recap.core.config import Settings
from recap.demo.facts import (
    Fact,
    FactKind,
    facts_headline,
    outcome_agreement,
    print_session_facts,
    timeline_facts,
)
from recap.demo.generator import SCENARIOS, SampleSession, write_sample_sessions
from recap.demo.labelled import labelled_sessions
from recap.embedded.ports import free_port
from recap.jobs.client import SessionOutcome
from recap.llm.schema import (
    CitedEvent,
    GateReport,
    Issue,
    IssueKind,
    KeyAction,
    RunMetadata,
    SessionSummary,
    SummaryOutcome,
)
from recap.sources.files import load_recording_file
from recap.store.repository import StoredSummary
from recap.timeline import compile_timeline
from recap.timeline.models import ERROR_KINDS, SIGNAL_FLAGS, EventKind, Timeline
from recap.timeline.render import format_clock
from tests.support.model_double import chat_server, grounded_reply

ROOT = Path(__file__).resolve().parents[2]

Compiled = dict[str, tuple[SampleSession, Timeline]]


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Compiled:
    directory = tmp_path_factory.mktemp("samples")
    return {
        sample.scenario: (sample, compile_timeline(load_recording_file(sample.path)))
        for sample in write_sample_sessions(directory)
    }


def _of(facts: list[Fact], kind: FactKind) -> list[Fact]:
    return [fact for fact in facts if fact.kind is kind]


# --- known outcomes -------------------------------------------------------------------------


def test_the_generator_knows_each_samples_outcome(samples: Compiled) -> None:
    assert set(samples) == set(SCENARIOS)
    known = {scenario: sample.expected_success for scenario, (sample, _) in samples.items()}
    assert known == {"checkout_failure": False, "signup_success": True, "wanderer": False}
    for sample, _ in samples.values():
        verdict = "succeeded" if sample.expected_success else "failed"
        assert sample.known_outcome.startswith(f"{verdict}: ")


# --- the facts ------------------------------------------------------------------------------


def test_every_fact_is_a_timeline_event_at_its_time(samples: Compiled) -> None:
    for _, timeline in samples.values():
        facts = timeline_facts(timeline)
        assert facts
        assert [fact.t_ms for fact in facts] == sorted(fact.t_ms for fact in facts)
        for fact in facts:
            event = timeline.event(fact.ref)
            assert event is not None, fact
            assert fact.t_ms == event.t_ms
            assert set(fact.signals) == SIGNAL_FLAGS & set(event.flags)


def test_no_page_error_or_signal_is_left_out(samples: Compiled) -> None:
    for _, timeline in samples.values():
        cited = {fact.ref for fact in timeline_facts(timeline)}
        for event in timeline.events:
            telling = (
                event.kind is EventKind.NAVIGATION
                or event.kind in ERROR_KINDS
                or SIGNAL_FLAGS & set(event.flags)
            )
            assert (event.ref in cited) == bool(telling), event


def test_checkout_failure_facts_name_the_error_the_request_and_the_rage_click(
    samples: Compiled,
) -> None:
    _, timeline = samples["checkout_failure"]
    facts = timeline_facts(timeline)
    (error,) = _of(facts, FactKind.ERROR)
    assert "TypeError: Cannot read properties of undefined" in error.what
    assert timeline.event(error.ref) is not None
    (request,) = _of(facts, FactKind.FAILED_REQUEST)
    assert "POST /api/orders" in request.what and "500" in request.what
    # the order click that failed, then the clicks on it in frustration
    (failed,) = [fact for fact in facts if "error_after" in fact.signals]
    assert "Place order" in failed.what and "error_shown" in failed.signals
    assert failed.t_ms <= request.t_ms <= error.t_ms
    (rage,) = [fact for fact in facts if "rage" in fact.signals]
    assert "Place order" in rage.what and rage.t_ms > failed.t_ms
    assert timeline.event(rage.ref) is not None
    assert [fact.what for fact in _of(facts, FactKind.PAGE)] == [
        "https://shop.example.com/",
        "https://shop.example.com/products/trail-runner-2",
        "https://shop.example.com/cart",
        "https://shop.example.com/checkout",
    ]
    headline = facts_headline(facts)
    assert f"rage {rage.ref}" in headline and f"error_after {failed.ref}" in headline
    assert "1 error · 1 failed request · 0 abandoned inputs · 4 pages" in headline


def test_signup_success_facts_show_a_clean_signup(samples: Compiled) -> None:
    _, timeline = samples["signup_success"]
    facts = timeline_facts(timeline)
    assert not _of(facts, FactKind.ERROR) and not _of(facts, FactKind.FAILED_REQUEST)
    assert not _of(facts, FactKind.ABANDONED_INPUT)
    assert not [fact for fact in facts if {"rage", "dead", "error_after"} & set(fact.signals)]
    pages = [fact.what for fact in _of(facts, FactKind.PAGE)]
    assert pages[-1] == "https://app.example.org/welcome"


def test_wanderer_facts_show_the_dead_contact_sales_click(samples: Compiled) -> None:
    _, timeline = samples["wanderer"]
    facts = timeline_facts(timeline)
    (dead,) = [fact for fact in facts if "dead" in fact.signals]
    assert dead.kind is FactKind.SIGNAL and "Contact sales" in dead.what
    assert dead.ref == next(e.ref for e in timeline.events if "dead" in e.flags)
    assert len(_of(facts, FactKind.PAGE)) == 4
    assert facts_headline(facts).startswith(f"dead {dead.ref} · 0 errors")


def test_an_abandoned_input_is_its_own_fact(tmp_path: Path) -> None:
    (labelled,) = labelled_sessions(names=["abandoned_form"])
    timeline = compile_timeline(load_recording_file(labelled.write(tmp_path)))
    (abandoned,) = _of(timeline_facts(timeline), FactKind.ABANDONED_INPUT)
    event = timeline.event(abandoned.ref)
    assert event is not None and event.kind is EventKind.INPUT
    assert "abandoned" in abandoned.signals
    assert "1 abandoned input" in facts_headline(timeline_facts(timeline))


# --- the agreement line ---------------------------------------------------------------------


def test_the_agreement_line() -> None:
    assert (
        outcome_agreement(False, expected_success=False)
        == "model's outcome: success=False · known: failed · agrees ✓"
    )
    assert (
        outcome_agreement(True, expected_success=False)
        == "model's outcome: success=True · known: failed · disagrees ✗"
    )
    assert outcome_agreement(True, expected_success=True).endswith("known: succeeded · agrees ✓")
    assert "no summary" in outcome_agreement(None, expected_success=True)
    assert not outcome_agreement(None, expected_success=True).endswith("agrees ✓")


def _is_row_of(fact: Fact, line: str) -> bool:
    """The facts table's row for `fact`: its ref, clock and kind, in that order."""
    row = rf"\s+{fact.ref}\s+{format_clock(fact.t_ms)}\s+{re.escape(fact.kind.value)}\s"
    return re.match(row, line) is not None


def _printed(sample: SampleSession, timeline: Timeline, model_success: bool | None) -> str:
    out = Console(file=io.StringIO(), width=200, record=True)
    print_session_facts(
        out,
        timeline_facts(timeline),
        known_outcome=sample.known_outcome,
        expected_success=sample.expected_success,
        model_success=model_success,
    )
    return out.export_text()


def test_the_printout_shows_facts_verbatim_and_the_verdict(samples: Compiled) -> None:
    sample, timeline = samples["checkout_failure"]
    text = _printed(sample, timeline, model_success=True)
    for fact in timeline_facts(timeline):
        line = next(line for line in text.splitlines() if _is_row_of(fact, line))
        # page text such as `input[email]` or `[rage, …]` survives rich's markup parser
        assert fact.what[:60] in line, (fact, line)
        if fact.signals:
            assert f"[{', '.join(fact.signals)}]" in line
    assert f"known outcome: {sample.known_outcome}" in text
    assert "model's outcome: success=True · known: failed · disagrees ✗" in text


def test_the_summary_beside_the_facts_prints_the_models_brackets_as_written(
    samples: Compiled,
) -> None:
    """Model text is data: `[/b]` would make rich raise, `[rage]` would vanish as a tag."""
    sample, timeline = samples["checkout_failure"]
    odd = "clicked [rage] then [/b] left"
    event = timeline.events[0]
    cited = CitedEvent(ref=event.ref, t_ms=event.t_ms, kind=event.kind.value, window="w1")
    summary = SessionSummary(
        session_id=sample.session_id,
        title=f"Title {odd}",
        segments=[],
        key_actions=[KeyAction(event=cited, description=f"action {odd}")],
        issues=[
            Issue(kind=IssueKind.OTHER, event=cited, description=f"issue {odd}", severity="low")
        ],
        summary_outcome=SummaryOutcome(description=f"outcome {odd}", success=False),
        gate=GateReport(cited_refs=2),
        gate_notes=[f"note {odd}"],
        run=RunMetadata(
            model="m", prompt_version="p", timeline_hash="h", timeline_tokens=1, latency_ms=1
        ),
    )
    stored = StoredSummary(
        team_id="t",
        session_id=sample.session_id,
        focus_area=None,
        has_summary=True,
        summary_outcome=summary.summary_outcome,
        summary=summary,
        updated_at=datetime.now(UTC),
    )
    outcome = SessionOutcome(
        session_id=sample.session_id,
        status="summarized",
        workflow_id="wf",
        result=SummarizeSessionResult(workflow_id="wf", stored=stored),
    )
    out = Console(file=io.StringIO(), width=200, record=True)
    print_outcomes([outcome], Settings(), out, as_json=False)
    text = out.export_text()
    for part in ("Title", "action", "issue", "outcome", "note"):
        assert f"{part} {odd}" in text, text


# --- `recap demo`, end to end against the model double ---------------------------------------


def test_recap_demo_prints_facts_and_agreement_for_every_sample(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("RECAP_") or key == "RECAP_LOG_FORMAT"
    }
    with chat_server() as double:
        # cites the timeline's first refs and always says success=True
        double.responder = grounded_reply
        env.update(
            RECAP_DATA_DIR=str(data),
            RECAP_DATABASE_URL=f"sqlite:///{data / 'recap.db'}",
            RECAP_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}",
            RECAP_TEMPORAL_UI_PORT=str(free_port()),
            RECAP_API_PORT=str(free_port()),
            RECAP_LLM_BASE_URL=double.base_url,
            RECAP_LLM_MODEL="served-model",
            COLUMNS="200",
        )
        completed = subprocess.run(
            [sys.executable, "-m", "recap.cli", "demo"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        summarized = len(double.requests)
    output = completed.stdout
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert summarized == len(SCENARIOS)
    samples = write_sample_sessions(tmp_path / "again")  # deterministic: the demo's samples
    blocks = _blocks_by_session(output, [sample.session_id for sample in samples])
    for sample in samples:
        block = blocks[sample.session_id]
        timeline = compile_timeline(load_recording_file(sample.path))
        assert "facts code found:" in block, block
        assert facts_headline(timeline_facts(timeline)) in block, block
        for fact in timeline_facts(timeline):
            assert any(_is_row_of(fact, line) for line in block.splitlines()), (fact, block)
        assert f"known outcome: {sample.known_outcome}" in block, block
        agreement = outcome_agreement(True, sample.expected_success)
        assert agreement in block, block
    assert "agrees ✓" in blocks[samples[1].session_id]  # the signup: success, as the double says
    assert "disagrees ✗" in blocks[samples[0].session_id]
    # The pages of the three sessions (issue 19).
    pages = re.search(r"^Pages (http://\S+)/ui/(\S+)/sessions$", output, re.MULTILINE)
    assert pages is not None, output
    for sample in samples:
        assert f"{pages[1]}/ui/{pages[2]}/sessions/{sample.session_id}" in output
    hint = output.strip().splitlines()[-1]
    assert "RECAP_LLM_BASE_URL" in hint and "RECAP_LLM_MODEL" in hint
    assert "RECAP_LLM_API_KEY" in hint and "http://localhost:11434/v1" in hint


def _blocks_by_session(output: str, session_ids: list[str]) -> dict[str, str]:
    """The demo's text from each session's summary heading to the next heading."""
    lines = output.splitlines()
    starts = {
        session_id: next(
            index
            for index, line in enumerate(lines)
            if line.startswith(session_id) and " — " in line
        )
        for session_id in session_ids
    }
    ordered = sorted(starts.items(), key=lambda item: item[1])
    blocks = {}
    for (session_id, start), (_, end) in zip(
        ordered, [*ordered[1:], ("", len(lines))], strict=True
    ):
        blocks[session_id] = "\n".join(lines[start:end])
    return blocks
