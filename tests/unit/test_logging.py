"""structlog configuration: JSON lines in production, stdlib (Temporal) loggers bridged in."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

import recap.core.logging as recap_logging
from recap.core.config import Settings


def test_json_logs_bridge_stdlib_loggers_and_hide_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recap_logging, "_configured", False)
    previous = logging.getLogger().handlers[:]
    try:
        recap_logging.configure_logging(Settings(log_format="json"))
        recap_logging.get_logger("recap.test").info(
            "compiled", session_id="s1", api_key="sk-secret-value"
        )
        # Temporal's activity logger is a stdlib logger; its records must come out as JSON too.
        logging.getLogger("temporalio.activity").warning("activity retried", extra={"attempt": 2})
        lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    finally:
        logging.getLogger().handlers[:] = previous
        structlog.reset_defaults()
        monkeypatch.setattr(recap_logging, "_configured", False)
    ours, temporal = lines[-2], lines[-1]
    assert ours["event"] == "compiled" and ours["session_id"] == "s1"
    assert ours["api_key"] == "***"
    assert "sk-secret-value" not in json.dumps(lines)
    assert temporal["logger"] == "temporalio.activity"
    assert temporal["attempt"] == 2 and temporal["level"] == "warning"
