"""What `recap doctor` reports: one `CheckResult` per line, the `DoctorReport` that holds
them, and how a line is built and printed as plain text."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel

Status = Literal["pass", "fail", "info", "skip"]


class CheckResult(BaseModel):
    """One line of the doctor's report. `value` is what was checked (never a secret),
    `detail` what was found, `fix` what to do when it failed."""

    name: str
    title: str
    status: Status
    ok: bool
    value: str
    detail: str = ""
    fix: str | None = None


class DoctorReport(BaseModel):
    ok: bool
    checks: list[CheckResult]

    @property
    def failing(self) -> list[CheckResult]:
        return [check for check in self.checks if not check.ok]


def result(
    name: str, title: str, status: Status, value: str, detail: str = "", fix: str | None = None
) -> CheckResult:
    """A line of the report; it is ok unless it failed, and only a failure keeps its fix."""
    return CheckResult(
        name=name,
        title=title,
        status=status,
        ok=status != "fail",
        value=value,
        detail=detail,
        fix=fix if status == "fail" else None,
    )


def why(error: BaseException) -> str:
    """An error on one line: its type, then its message with the white space folded."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


MARKS: Final[dict[Status, str]] = {"pass": "✓", "fail": "✗", "info": "•", "skip": "-"}


def describe(check: CheckResult) -> str:
    """One line per check (and a second with the fix when it failed), plain text."""
    text = f"{MARKS[check.status]} {check.title}: {check.value}"
    if check.detail:
        text += f" — {check.detail}"
    if check.fix:
        text += f"\n    fix: {check.fix}"
    return text
