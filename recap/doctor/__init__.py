"""`recap doctor`: checks everything a user configures (Temporal, the model endpoint,
PostHog or the recordings directory, the database, free disk, each team's daily model
budget) and says, for each, what it used, whether it works and how to fix it.

Each check is a plain async function returning `CheckResult`s, in a module per part it
checks; `run_doctor` runs them concurrently, each bounded in time, and removes every
configured secret from the text.

A face beside the API (the CLI prints it): may import the starter, services, domain and
base; only `recap.cli` imports it.
"""

from __future__ import annotations

from recap.doctor.budget import check_model_budget
from recap.doctor.local import DEFAULT_MIN_FREE_BYTES, check_database, check_disk, check_recordings
from recap.doctor.model import check_model
from recap.doctor.posthog import check_posthog
from recap.doctor.report import MARKS, CheckResult, DoctorReport, Status, describe
from recap.doctor.runner import (
    BUDGET,
    DATABASE,
    DEFAULT_TIMEOUT_SECONDS,
    DISK,
    GROUPS,
    MODEL,
    SOURCE,
    TEMPORAL,
    run_doctor,
)
from recap.doctor.temporal import check_temporal

__all__ = [
    "BUDGET",
    "DATABASE",
    "DEFAULT_MIN_FREE_BYTES",
    "DEFAULT_TIMEOUT_SECONDS",
    "DISK",
    "GROUPS",
    "MARKS",
    "MODEL",
    "SOURCE",
    "TEMPORAL",
    "CheckResult",
    "DoctorReport",
    "Status",
    "check_database",
    "check_disk",
    "check_model",
    "check_model_budget",
    "check_posthog",
    "check_recordings",
    "check_temporal",
    "describe",
    "run_doctor",
]
