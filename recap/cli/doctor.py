"""`recap doctor`: every check of what recap is configured to use, printed one line each
(or as JSON); and how `recap dev` and `recap demo` fail with what the doctor finds."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from recap.cli.console import err, exit_now, out, reject, run_async
from recap.core.config import Settings, get_settings

if TYPE_CHECKING:
    from recap.doctor import DoctorReport


def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="print the checks as JSON")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="seconds each network step may take")
    ] = 5.0,
) -> None:
    """Check everything recap is configured to use: Temporal, the model, PostHog or the
    recordings directory, the database, free disk. One line per check, with the fix when
    it fails; exit code 0 when none fails, 1 otherwise (docs/doctor.md)."""
    from pydantic import ValidationError

    from recap.doctor import run_doctor

    try:
        settings = get_settings()
    except ValidationError as error:
        reject(f"the settings do not load: {error}")
    from recap.core.logging import configure_logging

    # The report is the output; a warning logged by a client underneath would only repeat it.
    configure_logging(settings, level="ERROR")
    report = run_async(lambda: run_doctor(settings, timeout_seconds=timeout))
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        _print_report(report)
    exit_now(0 if report.ok else 1)


def _print_report(report: DoctorReport) -> None:
    """One coloured line per check, its fix beneath when it failed, then the verdict."""
    from rich.text import Text

    from recap.doctor import MARKS

    styles = {"pass": "green", "fail": "bold red", "info": "cyan", "skip": "dim"}
    for check in report.checks:
        line = Text(f"{MARKS[check.status]} ", style=styles[check.status])
        line.append(f"{check.title}: ", style="bold")
        line.append(check.value)
        if check.detail:
            line.append(f" — {check.detail}", style="dim" if check.ok else "")
        out.print(line, soft_wrap=True)
        if check.fix:
            out.print(Text(f"    fix: {check.fix}", style="yellow"), soft_wrap=True)
    failed = len(report.failing)
    out.print(
        "all checks passed" if report.ok else f"{failed} check{'s' * (failed != 1)} failed",
        style="green" if report.ok else "bold red",
    )


def fail_and_diagnose(
    message: str, settings: Settings, *, provided_by_stack: tuple[str, ...]
) -> NoReturn:
    """Fail `recap dev`/`recap demo` with the error, then what `recap doctor` finds wrong
    beyond the parts the embedded stack provides (it has just stopped them)."""
    from recap.doctor import describe, run_doctor

    err.print(f"[bold red]error:[/] {message}", highlight=False)
    try:
        report = run_async(lambda: run_doctor(settings, skip=provided_by_stack))
    except Exception as error:  # the doctor must never hide the error above
        err.print(f"(recap doctor could not run: {error})", highlight=False, markup=False)
    else:
        if report.failing:
            err.print("recap doctor also finds:", highlight=False)
        for check in report.failing:
            err.print(describe(check), highlight=False, markup=False, soft_wrap=True)
    exit_now(1)
