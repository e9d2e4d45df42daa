"""Shows the reliability figures in pytest's closing summary."""

from __future__ import annotations

from _pytest.terminal import TerminalReporter

from tests.reliability.harness import FIGURES


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
