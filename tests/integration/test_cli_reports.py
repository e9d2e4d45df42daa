"""`recap report …` (issue 18): `show` and `list` over reports saved in the store (readable
text, Markdown, JSON), `create`'s refusals before anything starts, and one `create` run as a
real process against the dev server and a worker (it leaves through os._exit)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from recap.core.config import get_settings
from recap.reports import render_digest_markdown, render_markdown
from recap.reports.models import Digest, PatternReport
from recap.store.reports import ReportStore
from recap.store.repository import store_for
from tests.support import report_samples
from tests.support.api_stack import ApiStack, api_stack
from tests.support.report_fixtures import INVENTED_PATTERN, answering_reports

__all__ = ["api_stack"]

runner = CliRunner()
NEWER, OLDER = "rp_00000000000000f2", "rp_00000000000000f1"


def recap(*args: str) -> tuple[int, str, str]:
    from recap.cli.commands import app

    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def words(text: str) -> str:
    """Rich wraps at the runner's width: compare text with its whitespace made single."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Saved:
    team: str
    reports: dict[str, PatternReport]


@pytest.fixture(scope="module")
def saved() -> Saved:
    """Two reports of a team of this module's own, in the test session's database."""
    team = f"cli-reports-{uuid.uuid4().hex[:6]}"
    store = ReportStore(store_for(get_settings().resolved_database_url))
    newer = report_samples.report(team, report_id=NEWER, patterns=2)
    older = report_samples.report(team, report_id=OLDER, patterns=1)
    older.created_at -= timedelta(days=1)
    for report in (older, newer):
        store.save_report(report)
    return Saved(team, {NEWER: newer, OLDER: older})


def test_show_json_is_the_stored_report(saved: Saved) -> None:
    code, stdout, _ = recap("report", "show", NEWER, "--json", "--team", saved.team)
    assert code == 0
    assert PatternReport.model_validate_json(stdout) == saved.reports[NEWER]


def test_show_markdown_is_the_rendered_report(saved: Saved) -> None:
    code, stdout, _ = recap("report", "show", NEWER, "--markdown", "--team", saved.team)
    assert code == 0
    assert stdout == render_markdown(saved.reports[NEWER])


def test_show_prints_the_report_for_people(saved: Saved) -> None:
    code, stdout, _ = recap("report", "show", NEWER, "--team", saved.team)
    assert code == 0
    text = words(stdout)
    assert "Checkout sessions this week" in text
    assert "2 patterns across 40 summarized sessions; 3 requested sessions not reported" in text
    assert "1. Pattern number 1 (critical)" in text
    assert "9 sessions (22%), 5 failed, 28 occurrences" in text
    assert "2. Pattern number 2 (high)" in text
    # Three examples of each, with session, ref and time; the rest counted.
    assert "sess-00-0188aaaa e12 00:12: clicked Pay now and nothing happened" in text
    assert "sess-02-0188aaaa e14 00:14" in text and "sess-03-0188aaaa" not in text
    assert f"… 6 more (`recap report show {NEWER}`)" in text
    assert "not reported: gone-0: not_found" in text


def test_show_refuses_what_it_cannot_show(saved: Saved) -> None:
    code, _, stderr = recap("report", "show", NEWER, "--team", "someone-else")
    assert code == 1 and f"no report {NEWER} in team someone-else" in words(stderr)
    code, _, stderr = recap("report", "show", "rp_ffffffffffffffff", "--team", saved.team)
    assert code == 1 and "recap report list" in words(stderr)
    code, _, stderr = recap("report", "show", NEWER, "--json", "--markdown")
    assert code == 2 and "at most one of --markdown and --json" in words(stderr)


def test_show_prints_a_stored_digest() -> None:
    team = f"cli-digests-{uuid.uuid4().hex[:6]}"
    sample = report_samples.digest(team, digest_id="dg_00000000000000d7")
    ReportStore(store_for(get_settings().resolved_database_url)).save_digest(sample)
    code, stdout, _ = recap("report", "show", sample.digest_id, "--team", team)
    assert code == 0 and stdout == render_digest_markdown(sample)
    code, stdout, _ = recap("report", "show", sample.digest_id, "--json", "--team", team)
    assert code == 0 and Digest.model_validate_json(stdout) == sample
    code, _, stderr = recap("report", "show", sample.digest_id, "--team", "someone-else")
    assert code == 1 and f"no digest {sample.digest_id}" in words(stderr)


def test_list_shows_the_teams_reports_newest_first(saved: Saved) -> None:
    code, stdout, _ = recap("report", "list", "--json", "--team", saved.team)
    assert code == 0
    rows = json.loads(stdout)
    assert [row["report_id"] for row in rows] == [NEWER, OLDER]
    assert rows[0]["patterns"] == 2 and rows[1]["patterns"] == 1
    assert rows[0]["sessions_reported"] == 40 and rows[0]["not_reported"] == 3
    code, stdout, _ = recap("report", "list", "--team", saved.team)
    assert code == 0
    assert stdout.index(NEWER) < stdout.index(OLDER)  # ids are never wrapped
    code, stdout, _ = recap("report", "list", "--team", saved.team, "--limit", "1")
    assert NEWER in stdout and OLDER not in stdout and "1 older reports not shown" in stdout
    code, stdout, _ = recap("report", "list", "--team", "nobody-here")
    assert code == 0 and "no reports in team nobody-here yet" in words(stdout)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "exactly one of --sessions"),
        (["--sessions", "a,b", "--since", "7d"], "exactly one of --sessions"),
        (["--sessions", "a,b", "--playlist", "x1"], "go with --since"),
        (["--sessions", " , "], "no session ids found"),
        (["--since", "30s"], "from 1m to 366d"),
        (["--since", "7 days"], "is not a duration"),
        (["--sessions", ",".join(f"s{n}" for n in range(301))], "at most 300 sessions"),
    ],
)
def test_create_refuses_before_starting_anything(args: list[str], message: str) -> None:
    code, _, stderr = recap("report", "create", *args)
    assert code == 2
    assert message in words(stderr)


def test_create_runs_a_report_with_its_progress_and_prints_it(api_stack: ApiStack) -> None:
    sessions = api_stack.session_ids[:3]
    environment = {
        **os.environ,
        "RECAP_TEMPORAL_ADDRESS": api_stack.settings.temporal_address,
        "RECAP_TASK_QUEUE": api_stack.settings.task_queue,
        "RECAP_LLM_TASK_QUEUE": api_stack.settings.llm_task_queue,
        "RECAP_DATABASE_URL": api_stack.settings.resolved_database_url,
        "COLUMNS": "200",
    }
    with answering_reports(api_stack.model):
        ran = subprocess.run(
            [
                *(sys.executable, "-m", "recap.cli", "report", "create"),
                *("--sessions", ",".join(sessions), "--team", "team-a", "--focus", "checkout"),
            ],
            capture_output=True,
            text=True,
            check=False,
            env=environment,
            timeout=240,
        )
    assert ran.returncode == 0, ran.stderr
    assert "started report" in ran.stderr
    assert "summarizing" in ran.stderr or "done" in ran.stderr  # the progress bar's steps
    assert "/namespaces/" in ran.stderr  # the Temporal UI link
    text = words(ran.stdout)
    assert f"across {len(sessions)} summarized sessions" in text
    assert f"{INVENTED_PATTERN} (high)" in text
    listed = subprocess.run(
        [sys.executable, "-m", "recap.cli", "report", "list", "--json", "--team", "team-a"],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
        timeout=60,
    )
    assert any(row["sessions_reported"] == len(sessions) for row in json.loads(listed.stdout))
