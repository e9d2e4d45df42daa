"""`recap funnel` checks its steps and its selection before anything starts (exit 2 with the
parser's message), and a stored funnel report reads back through `recap report show`."""

from __future__ import annotations

import uuid

from typer.testing import CliRunner

from recap.core.config import get_settings
from recap.reports.models import FunnelFactor, FunnelSection, FunnelStepCounts
from recap.store.reports import ReportStore
from recap.store.repository import store_for
from tests.support import report_samples

runner = CliRunner()


def recap(*args: str) -> tuple[int, str, str]:
    from recap.cli.commands import app

    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def words(text: str) -> str:
    return " ".join(text.split())


def test_a_bad_step_exits_2_with_the_parsers_message() -> None:
    code, _, stderr = recap("funnel", "--step", "url:/cart", "--step", "hover:Buy", "--since", "7d")
    assert code == 2
    assert "funnel step 'hover:Buy': unknown kind 'hover'" in words(stderr)


def test_one_step_is_not_a_funnel() -> None:
    code, _, stderr = recap("funnel", "--step", "url:/cart", "--since", "7d")
    assert code == 2
    assert "a funnel needs at least two steps, got 1" in words(stderr)


def test_the_sessions_come_from_exactly_one_of_since_and_sessions() -> None:
    steps = ("--step", "url:/cart", "--step", 'click:"Checkout"')
    code, _, stderr = recap("funnel", *steps)
    assert code == 2 and "exactly one of --since" in words(stderr)
    code, _, stderr = recap("funnel", *steps, "--since", "7d", "--sessions", "a,b")
    assert code == 2 and "exactly one of --since" in words(stderr)
    code, _, stderr = recap("funnel", *steps, "--sessions", "a", "--playlist", "p")
    assert code == 2 and "go with --since" in words(stderr)


def test_a_stored_funnel_report_shows_its_funnel_as_markdown() -> None:
    team = f"cli-funnel-{uuid.uuid4().hex[:6]}"
    report = report_samples.report(team, report_id="rp_00000000000000fa", patterns=1)
    report.funnel = FunnelSection(
        steps=[
            FunnelStepCounts(step=1, spec="url:/cart", reached=60),
            FunnelStepCounts(step=2, spec='click:"Checkout"', reached=40, went_on=40, stopped=20),
        ],
        factors=[
            FunnelFactor(
                factor_id="s2f1",
                step=2,
                manifestations=["failed request POST /api/cart 500"],
                stopped_with=14,
                stopped_total=20,
                went_on_with=0,
                went_on_total=40,
                stopped_rate=0.7,
                went_on_rate=0.0,
                p_value=1.0e-7,
                adjusted_p=2.0e-6,
                pattern_id="p1",
            )
        ],
    )
    ReportStore(store_for(get_settings().resolved_database_url)).save_report(report)
    code, stdout, _ = recap("report", "show", report.report_id, "--markdown", "--team", team)
    assert code == 0
    assert "## Funnel" in stdout
    assert '| 2. click:"Checkout" | 40 | 40 | 20 |' in stdout
    assert (
        "| 2 | failed request POST /api/cart 500 | 14/20 (70%) | 0/40 (0%) | 1e-07 | 2e-06 |"
        in (stdout)
    )
