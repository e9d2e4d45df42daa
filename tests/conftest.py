"""Shared fixtures: an isolated data directory and database, and the real Temporal dev server.

Settings are read from the environment, so the session points RECAP_* at a temporary
directory before anything reads them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from recap.core.config import Settings, get_settings
from tests.support.recordings import CHALK, RECORDINGS
from tests.support.temporal import start_dev_server

__all__ = ["CHALK", "POSTHOG", "RECORDINGS"]

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="recap-tests-"))
os.environ["RECAP_DATA_DIR"] = str(_SESSION_DIR / "data")
os.environ["RECAP_DATABASE_URL"] = f"sqlite:///{_SESSION_DIR / 'data' / 'recap.db'}"
os.environ["RECAP_LOG_FORMAT"] = "console"
# Workflows in tests name their sources (temporary directories, the real recordings, the
# PostHog double): the workers may read those, and only those.
os.environ["RECAP_ALLOWED_SOURCES"] = ",".join(
    ["posthog", f"files:{tempfile.gettempdir()}", f"files:{RECORDINGS}"]
)
# Most tests use many team ids against one deployment source; the team isolation tests
# (tests/security/test_team_isolation.py) set RECAP_SOURCE_TEAMS themselves.
os.environ["RECAP_SOURCE_TEAMS"] = "*"
for _name in (
    "RECAP_LLM_BASE_URL",
    "RECAP_LLM_API_KEY",
    "RECAP_SOURCE",
    "RECAP_TEAM_ID",
    "RECAP_SECRET_KEY",
):
    os.environ.pop(_name, None)
get_settings.cache_clear()

POSTHOG = RECORDINGS / "posthog"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@pytest.fixture
def settings() -> Iterator[Settings]:
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server()
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client
