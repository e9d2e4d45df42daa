"""The `recap timeline` command, as recap's CLI contract describes it (README, "Everyday use")."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from recap.cli.commands import app
from tests.conftest import CHALK

CHALK_FILE = CHALK / "30497eae-825d-433d-a484-4b75074332b2.json"
runner = CliRunner()


def test_timeline_text_is_what_the_model_sees() -> None:
    result = runner.invoke(app, ["timeline", str(CHALK_FILE)])
    assert result.exit_code == 0, result.output
    as_json = json.loads(runner.invoke(app, ["timeline", str(CHALK_FILE), "--json"]).output)
    assert result.output.rstrip("\n") == as_json["text"].rstrip("\n")
    assert "Urgent" in result.output


def test_timeline_json_matches_the_contract() -> None:
    result = runner.invoke(app, ["timeline", str(CHALK_FILE), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert set(document) >= {"session", "events", "text", "tokens", "stats"}
    assert document["session"]["session_id"] == "30497eae-825d-433d-a484-4b75074332b2"
    assert document["tokens"] > 0
    refs = [event["ref"] for event in document["events"]]
    assert refs == [f"e{index}" for index in range(1, len(refs) + 1)]
    for event in document["events"]:
        assert {"ref", "t_ms", "window", "kind", "target", "value", "flags", "effect"} <= set(event)
    clicks = [event for event in document["events"] if event["kind"] == "click"]
    assert clicks and all(event["target"] for event in clicks)


def test_timeline_max_tokens_shrinks_the_text() -> None:
    full = json.loads(runner.invoke(app, ["timeline", str(CHALK_FILE), "--json"]).output)
    budget = max(200, full["tokens"] // 3)
    small = json.loads(
        runner.invoke(
            app, ["timeline", str(CHALK_FILE), "--json", "--max-tokens", str(budget)]
        ).output
    )
    assert small["tokens"] <= budget < full["tokens"]
    assert small["stats"]["truncated_events"] > 0


def test_timeline_bad_file_is_a_clear_error(tmp_path: object) -> None:
    # Run as a real process: the error path exits through os._exit.
    result = subprocess.run(
        [sys.executable, "-m", "recap.cli", "timeline", "/nonexistent/recording.json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "recording.json" in result.stderr
