"""`recap fetch` rides out PostHog's rate limits and outages the way the workflows do:
Retry-After on 429, bounded retries with backoff on 5xx and cut answers, a one-line notice
each time, and the typed error once the attempts are spent."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from recap.demo.generator import generate_session
from recap.sources.files import load_recording_file
from recap.timeline import compile_timeline
from tests.support.posthog_double import Fault, PostHogDouble, posthog_double, served_from_document


@pytest.fixture
def double() -> Iterator[PostHogDouble]:
    with posthog_double() as server:
        yield server


@pytest.fixture
def session(double: PostHogDouble, tmp_path: Path) -> tuple[str, Path]:
    document = generate_session("checkout_failure", seed=5)
    session_id = document["data"]["id"]
    original = tmp_path / "original.json"
    original.write_text(json.dumps(document))
    double.add(served_from_document(document, session_id, blocks=4, compress=True))
    return session_id, original


def fetch(
    double: PostHogDouble, session_id: str, out: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        "RECAP_POSTHOG_HOST": double.base_url,
        "RECAP_POSTHOG_PROJECT_ID": str(double.project_id),
        "RECAP_POSTHOG_API_KEY": double.api_key,
        "RECAP_POSTHOG_BLOCKS_PER_REQUEST": "2",
        "PATH": "/usr/bin:/bin",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "recap.cli", "fetch", session_id, "--out", str(out)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )


def same_timeline(fetched: Path, original: Path) -> bool:
    return bool(
        compile_timeline(load_recording_file(fetched)).events
        == compile_timeline(load_recording_file(original)).events
    )


def test_fetch_waits_out_a_429_on_the_first_data_request(
    double: PostHogDouble, session: tuple[str, Path], tmp_path: Path
) -> None:
    session_id, original = session
    double.inject(Fault("source=blob_v2", status=429, headers={"Retry-After": "1"}))
    out = tmp_path / "fetched.json"
    started = time.monotonic()
    done = fetch(double, session_id, out)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started >= 1.0  # it waited as PostHog asked
    notices = [line for line in done.stderr.splitlines() if "trying again" in line]
    assert len(notices) == 1 and "rate-limited" in notices[0] and "1.0 s" in notices[0]
    assert same_timeline(out, original)
    blocks = [r for r in double.snapshot_requests() if "source=blob_v2" in r.target]
    assert len(blocks) == 1 + 2  # the refused range, then 4 blocks 2 at a time
    assert double.api_key not in done.stderr


def test_fetch_retries_5xx_and_a_cut_body_then_succeeds(
    double: PostHogDouble, session: tuple[str, Path], tmp_path: Path
) -> None:
    session_id, original = session
    double.inject(
        Fault(f"session_recordings/{session_id}/", status=503, times=1),
        Fault("start_blob_key=2", cut=True, times=1),
    )
    out = tmp_path / "fetched.json"
    done = fetch(double, session_id, out)
    assert done.returncode == 0, done.stderr
    notices = [line for line in done.stderr.splitlines() if "trying again" in line]
    assert len(notices) == 2
    assert "attempt 2 of 5" in notices[0] and "attempt 3 of 5" in notices[1]
    assert same_timeline(out, original)  # the cut attempt left nothing behind in the file


def test_fetch_gives_up_with_the_typed_error_after_its_attempts(
    double: PostHogDouble, session: tuple[str, Path], tmp_path: Path
) -> None:
    session_id, _ = session
    double.inject(Fault("source=blob_v2", status=500, times=100))
    out = tmp_path / "fetched.json"
    done = fetch(double, session_id, out, RECAP_RETRY_ATTEMPTS="3")
    assert done.returncode == 1
    assert len([line for line in done.stderr.splitlines() if "trying again" in line]) == 2
    assert "error:" in done.stderr and "500" in done.stderr
    assert not out.exists() and not list(tmp_path.glob(".*partial"))
    assert len([r for r in double.snapshot_requests() if "source=blob_v2" in r.target]) == 3


def test_fetch_does_not_retry_what_retrying_cannot_fix(
    double: PostHogDouble, session: tuple[str, Path], tmp_path: Path
) -> None:
    session_id, _ = session
    double.inject(Fault("source=blob_v2", status=403, times=100))
    done = fetch(double, session_id, tmp_path / "fetched.json")
    assert done.returncode == 1
    assert "trying again" not in done.stderr and "session_recording:read" in done.stderr
