"""The summary-quality harness: labelled sessions, their scoring, and the benchmark itself.

The labels are checked against the compiled timelines (each labelled problem is really
there, and nothing is labelled that is not), the scoring against hand-made summaries,
and `benchmarks/quality.py` end to end: through a configured OpenAI-compatible endpoint
(the loopback model double), and once against the real embedded model server.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from recap.demo.labelled import (
    LABELLED_SESSIONS,
    LabelledSession,
    labelled_sessions,
    score_summary,
)
from recap.llm.schema import (
    CitedEvent,
    GateReport,
    Issue,
    IssueKind,
    KeyAction,
    RunMetadata,
    Segment,
    SegmentOutcome,
    SessionSummary,
    SummaryOutcome,
)
from recap.sources.files import load_recording_file
from recap.timeline import compile_timeline, render_event
from recap.timeline.models import ACTION_KINDS, ERROR_KINDS, SIGNAL_FLAGS, EventKind, Timeline
from tests.support.model_double import Reply, chat_server, error_body, grounded_reply

ROOT = Path(__file__).resolve().parents[2]
BENCHMARK = ROOT / "benchmarks" / "quality.py"


@pytest.fixture(scope="module")
def compiled(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[LabelledSession, Timeline]]:
    directory = tmp_path_factory.mktemp("labelled")
    result = {}
    for labelled in labelled_sessions():
        path = labelled.write(directory)
        assert path.suffix == ".jsonl"
        result[labelled.name] = (labelled, compile_timeline(load_recording_file(path)))
    return result


def _timeline(compiled: dict[str, tuple[LabelledSession, Timeline]], name: str) -> Timeline:
    return compiled[name][1]


# --- the labelled sessions ------------------------------------------------------------------


def test_at_least_five_sessions_with_both_outcomes() -> None:
    sessions = labelled_sessions()
    assert [s.name for s in sessions] == list(LABELLED_SESSIONS)
    assert len(sessions) >= 5
    assert {s.expected_success for s in sessions} == {True, False}
    assert len({s.session_id for s in sessions}) == len(sessions)


def test_sessions_are_deterministic() -> None:
    first, again = labelled_sessions(), labelled_sessions()
    assert [s.session.events for s in first] == [s.session.events for s in again]
    other = labelled_sessions(seed=1)
    assert [s.session.events for s in first] != [s.session.events for s in other]


def test_every_labelled_problem_is_in_its_timeline(
    compiled: dict[str, tuple[LabelledSession, Timeline]],
) -> None:
    for labelled, timeline in compiled.values():
        assert timeline.session.session_id == labelled.session_id
        for problem in labelled.problems:
            assert problem.refs_in(timeline), (labelled.name, problem.description)


def test_purchase_is_clean(compiled: dict[str, tuple[LabelledSession, Timeline]]) -> None:
    labelled, timeline = compiled["purchase"]
    assert labelled.expected_success and not labelled.problems
    assert not [e for e in timeline.events if e.kind in ERROR_KINDS]
    assert not [e for e in timeline.events if SIGNAL_FLAGS & set(e.flags)]
    assert timeline.events[-1].url == "https://shop.example.com/orders/confirmed"


def test_failed_checkout_has_the_payment_error_and_banner(
    compiled: dict[str, tuple[LabelledSession, Timeline]],
) -> None:
    timeline = _timeline(compiled, "failed_checkout")
    (failure,) = [e for e in timeline.events if e.kind is EventKind.NETWORK_ERROR]
    assert "POST /api/payments 500" in render_event(failure)
    (pay,) = [e for e in timeline.events if e.kind is EventKind.SUBMIT]
    assert {"error_after", "error_shown"} <= set(pay.flags)
    assert "Something went wrong" in (pay.effect or "")


def test_abandoned_form_has_an_input_flagged_abandoned(
    compiled: dict[str, tuple[LabelledSession, Timeline]],
) -> None:
    timeline = _timeline(compiled, "abandoned_form")
    abandoned = [e for e in timeline.events if "abandoned" in e.flags]
    assert [e.kind for e in abandoned] == [EventKind.INPUT]
    assert not [e for e in timeline.events if e.kind is EventKind.SUBMIT]


def test_confusion_loop_has_rage_and_thrash(
    compiled: dict[str, tuple[LabelledSession, Timeline]],
) -> None:
    timeline = _timeline(compiled, "confusion_loop")
    (rage,) = [e for e in timeline.events if "rage" in e.flags]
    assert rage.kind is EventKind.CLICK and rage.target and "Size guide" in rage.target
    assert "dead" in rage.flags
    assert [e.kind for e in timeline.events if "thrash" in e.flags] == [EventKind.NAVIGATION]


def test_console_error_has_no_user_impact(
    compiled: dict[str, tuple[LabelledSession, Timeline]],
) -> None:
    labelled, timeline = compiled["console_error_no_impact"]
    assert labelled.expected_success
    errors = [e for e in timeline.events if e.kind in ERROR_KINDS]
    assert [e.kind for e in errors] == [EventKind.CONSOLE_ERROR]
    # no action is blamed for it, and the order goes through
    actions = [e for e in timeline.events if e.kind in ACTION_KINDS]
    assert not [e for e in actions if SIGNAL_FLAGS & set(e.flags)]
    assert timeline.events[-1].url == "https://shop.example.com/orders/confirmed"


# --- scoring --------------------------------------------------------------------------------


def _cite(timeline: Timeline, ref: str) -> CitedEvent:
    event = timeline.event(ref)
    assert event is not None
    return CitedEvent(
        ref=ref, t_ms=event.t_ms, kind=event.kind.value, window=event.window, flags=event.flags
    )


def _summary(
    timeline: Timeline,
    *,
    success: bool,
    issues: Sequence[tuple[IssueKind, str]] = (),
    actions: Sequence[str] = (),
) -> SessionSummary:
    # the opening segment only: its bounds cite no labelled problem
    first, last = timeline.events[0].ref, timeline.events[2].ref
    return SessionSummary(
        session_id=timeline.session.session_id,
        title="A visit to the shop",
        segments=[
            Segment(
                name="visit",
                start=_cite(timeline, first),
                end=_cite(timeline, last),
                outcome=SegmentOutcome(success=success, summary="the visit"),
            )
        ],
        key_actions=[
            KeyAction(event=_cite(timeline, ref), description="did something") for ref in actions
        ],
        issues=[
            Issue(kind=kind, event=_cite(timeline, ref), description="a problem", severity="high")
            for kind, ref in issues
        ],
        summary_outcome=SummaryOutcome(description="what happened", success=success),
        gate=GateReport(cited_refs=2 + len(actions) + len(issues)),
        run=RunMetadata(
            model="hand-made",
            prompt_version="test",
            timeline_hash="0",
            timeline_tokens=1,
            latency_ms=1,
        ),
    )


def test_a_perfect_summary_scores_one(
    compiled: dict[str, tuple[LabelledSession, Timeline]],
) -> None:
    labelled, timeline = compiled["confusion_loop"]
    rage, thrash = (problem.refs_in(timeline)[0] for problem in labelled.problems)
    summary = _summary(
        timeline,
        success=False,
        issues=[(IssueKind.RAGE_CLICK, rage), (IssueKind.CONFUSION, thrash)],
    )
    score = score_summary(labelled, timeline, summary)
    assert score.outcome_correct
    assert score.recall == 1.0
    assert all(problem.found_as_issue for problem in score.problems)


def test_a_wrong_outcome_scores_zero(
    compiled: dict[str, tuple[LabelledSession, Timeline]],
) -> None:
    labelled, timeline = compiled["failed_checkout"]
    (refs,) = (problem.refs_in(timeline) for problem in labelled.problems)
    summary = _summary(timeline, success=True, issues=[(IssueKind.ERROR, refs[0])])
    score = score_summary(labelled, timeline, summary)
    assert not score.outcome_correct
    assert score.recall == 1.0  # the error is still cited


def test_a_missing_citation_lowers_recall(
    compiled: dict[str, tuple[LabelledSession, Timeline]],
) -> None:
    labelled, timeline = compiled["confusion_loop"]
    rage = labelled.problems[0].refs_in(timeline)[0]
    only_rage = _summary(timeline, success=False, issues=[(IssueKind.RAGE_CLICK, rage)])
    assert score_summary(labelled, timeline, only_rage).recall == 0.5
    neither = _summary(timeline, success=False, actions=["e4"])
    assert score_summary(labelled, timeline, neither).recall == 0.0


def test_a_key_action_citation_counts_but_not_as_an_issue(
    compiled: dict[str, tuple[LabelledSession, Timeline]],
) -> None:
    labelled, timeline = compiled["abandoned_form"]
    (ref,) = labelled.problems[0].refs_in(timeline)
    summary = _summary(timeline, success=False, actions=[ref], issues=[(IssueKind.OTHER, ref)])
    (problem,) = score_summary(labelled, timeline, summary).problems
    assert problem.found and not problem.found_as_issue


def test_a_session_without_problems_has_no_recall(
    compiled: dict[str, tuple[LabelledSession, Timeline]],
) -> None:
    labelled, timeline = compiled["purchase"]
    score = score_summary(labelled, timeline, _summary(timeline, success=True))
    assert score.outcome_correct and score.recall is None


def _benchmark_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("recap_quality_benchmark", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_failed_sessions_count_against_accuracy_and_recall() -> None:
    quality = _benchmark_module()
    stored: dict[str, Any] = {
        "outcome_correct": True,
        "problems": [{"cited": True, "as_issue": False}],
        "claims": 4,
        "dropped_claims": 1,
        "dropped_flags": 2,
        "cited_refs": 8,
        "missing_refs": 0,
        "stored_refs": 5,
        "stored_refs_existing": 5,
        "gate_notes": [],
        "prompt_tokens": 900,
        "completion_tokens": 300,
        "latency_ms": 2_000,
    }
    failed: dict[str, Any] = {
        "outcome_correct": False,
        "problems": [{"cited": False, "as_issue": False}],
        "error": {"code": "summary_invalid", "message": "3 of 4 cited refs do not exist"},
        "cited_refs": 4,
        "missing_refs": 3,
    }
    report = quality.aggregate([stored, failed])
    assert report["outcome_accuracy"] == 0.5
    assert report["problem_recall"] == 0.5 and report["issue_recall"] == 0.0
    assert report["gate_drop_rate"] == 0.25
    assert report["cited_ref_existence"] == round(9 / 12, 4)
    assert report["stored_ref_existence"] == 1.0
    assert report["failures"] == {"summary_invalid": 1}
    assert report["latency_ms"]["mean"] == 2_000


def test_the_endpoint_follows_the_settings() -> None:
    from recap.core.config import Settings

    quality = _benchmark_module()
    embedded = quality.choose_endpoint(Settings(), None, None)
    assert embedded.embedded and embedded.schema_limits
    openai = quality.choose_endpoint(Settings(llm_api_key="sk-test"), None, "gpt-4o-mini")
    assert not openai.embedded and openai.base_url is None and not openai.schema_limits
    given = quality.choose_endpoint(Settings(), "http://127.0.0.1:9/v1", "m")
    assert (given.base_url, given.model, given.embedded) == ("http://127.0.0.1:9/v1", "m", False)


# --- the benchmark, through a configured endpoint (the loopback model double) ----------------

DOUBLE_KEY = "sk-quality-double"


@pytest.mark.parametrize("configured_by", ["environment", "flags", "rate-limited"])
def test_benchmark_through_a_configured_endpoint(configured_by: str) -> None:
    """RECAP_LLM_BASE_URL/RECAP_LLM_MODEL/RECAP_LLM_API_KEY, or --base-url/--model, send
    every labelled session to that endpoint; nothing embedded is started. A 429 with
    Retry-After is waited out, as Temporal would, with a notice."""
    env = {**os.environ}
    for name in ("RECAP_LLM_BASE_URL", "RECAP_LLM_API_KEY", "RECAP_LLM_MODEL"):
        env.pop(name, None)
    with chat_server() as double:
        double.responder = grounded_reply  # says success=True, citing two refs
        if configured_by == "rate-limited":
            slow_down = error_body("Rate limit reached", type_="rate_limit_error")
            double.script(Reply(status=429, body=slow_down, headers={"retry-after": "1"}))
        args = [sys.executable, str(BENCHMARK)]
        if configured_by != "flags":
            env["RECAP_LLM_BASE_URL"] = double.base_url
            env["RECAP_LLM_MODEL"] = "served-model"
            env["RECAP_LLM_API_KEY"] = DOUBLE_KEY
        else:
            args += ["--base-url", double.base_url, "--model", "served-model"]
        completed = subprocess.run(
            args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        requests = list(double.requests)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    assert report["endpoint"] == {
        "base_url": double.base_url,
        "model": "served-model",
        "embedded": False,
        "schema_limits": False,
    }
    assert "starting the embedded model server" not in completed.stderr
    labelled = labelled_sessions()
    assert report["sessions"] == report["summarized"] == len(labelled)
    assert report["failures"] == {}
    # the double says success=True for every session: right only for the successful ones
    expected = sum(s.expected_success for s in labelled) / len(labelled)
    assert report["outcome_accuracy"] == round(expected, 4)
    assert [row["outcome_correct"] for row in report["per_session"]] == [
        s.expected_success for s in labelled
    ]
    assert report["stored_ref_existence"] == 1.0 and report["cited_ref_existence"] == 1.0
    assert report["prompt_tokens"]["total"] == 120 * len(labelled)  # the double's usage
    # one chat completion per session, all to the configured model with the schema
    refused = int(configured_by == "rate-limited")
    assert len(requests) == len(labelled) + refused
    notices = [line for line in completed.stderr.splitlines() if "trying again" in line]
    assert len(notices) == refused
    for request in requests:
        assert request["path"] == "/v1/chat/completions"
        assert request["body"]["model"] == "served-model"
        assert request["body"]["response_format"]["type"] == "json_schema"
        if configured_by != "flags":
            assert request["headers"]["authorization"] == f"Bearer {DOUBLE_KEY}"
    assert DOUBLE_KEY not in completed.stdout + completed.stderr


# --- the benchmark, against the real embedded model -----------------------------------------

SESSION_KEYS = {
    "name",
    "session_id",
    "expected_success",
    "outcome_correct",
    "problems",
    "timeline_tokens",
    "wall_ms",
}
STORED_KEYS = {
    "success",
    "claims",
    "dropped_claims",
    "cited_refs",
    "missing_refs",
    "stored_refs",
    "stored_refs_existing",
    "prompt_tokens",
    "completion_tokens",
    "latency_ms",
}


def test_benchmark_against_the_embedded_model() -> None:
    env = {**os.environ, "RECAP_LLM_TIMEOUT_SECONDS": "300"}
    for name in ("RECAP_LLM_BASE_URL", "RECAP_LLM_API_KEY", "RECAP_LLM_MODEL"):
        env.pop(name, None)
    completed = subprocess.run(
        [sys.executable, str(BENCHMARK), "--sessions", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    assert {
        "endpoint",
        "prompt_version",
        "sessions",
        "summarized",
        "outcome_accuracy",
        "problem_recall",
        "issue_recall",
        "gate_drop_rate",
        "cited_ref_existence",
        "stored_ref_existence",
        "prompt_tokens",
        "completion_tokens",
        "latency_ms",
        "failures",
        "per_session",
    } <= set(report)
    assert report["endpoint"]["embedded"] is True
    assert report["sessions"] == 2 and len(report["per_session"]) == 2
    assert 0.0 <= report["outcome_accuracy"] <= 1.0
    for row in report["per_session"]:
        assert set(row) >= SESSION_KEYS, row
        if "error" in row:
            assert row["error"]["code"], row
            continue
        assert set(row) >= STORED_KEYS, row
        # after the gate, every ref a stored summary cites exists in the timeline
        assert row["stored_refs_existing"] == row["stored_refs"], row
        # llama-server enforces the refs enum, so none was invented before the gate either
        assert row["missing_refs"] == 0, row
        assert row["latency_ms"] > 0 and row["prompt_tokens"] > 0
    assert report["summarized"] >= 1, report["failures"]
    assert report["stored_ref_existence"] in (None, 1.0)
