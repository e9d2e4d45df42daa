"""Bad recordings: 10,000 generated, corrupted or truncated recordings through the
compiler, and a handful through full workflows. Only typed errors, no stuck workflows."""

from __future__ import annotations

import shutil
import uuid
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.client import Client

from recap.demo.generator import write_sample_sessions
from recap.recording.models import RecordingError
from recap.sources.files import load_recording_file
from recap.timeline import compile_timeline
from tests.reliability.harness import (
    FaultPlan,
    Queues,
    faulty_model,
    report,
    run_batch,
    running_workflows,
    settings_for,
    wait_batch,
    worker_environment,
    workers,
)
from tests.unit.test_properties import SLOW, check_timeline, damaged_recording

EXAMPLES = 10_000
# What a recording can be refused with, as the activities report it.
TYPED = {"invalid_recording", "no_events_or_too_short", "recording_not_found"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bad-recordings")


def test_ten_thousand_damaged_recordings_compile_or_fail_typed(workdir: Path) -> None:
    outcomes: Counter[str] = Counter()

    @settings(SLOW, max_examples=EXAMPLES)
    @given(data=st.data())
    def one(data: st.DataObject) -> None:
        path = damaged_recording(workdir, data)
        try:
            timeline = compile_timeline(load_recording_file(path))
        except RecordingError as error:
            assert error.code in TYPED, error.code
            assert str(error)
            outcomes[error.code] += 1
            return
        check_timeline(timeline)
        outcomes["compiled"] += 1

    one()
    report("bad_recordings_compiler", examples=sum(outcomes.values()), outcomes=dict(outcomes))
    assert sum(outcomes.values()) >= EXAMPLES
    assert outcomes["compiled"] > 0 and outcomes["invalid_recording"] > 0


async def test_damaged_recordings_in_a_batch_fail_typed_and_nothing_is_stuck(
    temporal_client: Client, tmp_path: Path
) -> None:
    directory = tmp_path / "recordings"
    samples = write_sample_sessions(directory, seed=4242)
    good = samples[0]
    damaged: dict[str, bytes] = {}
    content = good.path.read_bytes()
    damaged["truncated-half"] = content[: len(content) // 2]
    damaged["truncated-early"] = content[:200]
    damaged["not-json"] = b"\x00\xff garbage \x89PNG"
    damaged["empty"] = b""
    damaged["wrong-shape"] = b'{"version": "2023-04-28", "data": {"id": 5, "snapshots": "x"}}'
    damaged["no-events"] = b"[]"
    for name, body in damaged.items():
        (directory / f"{name}.json").write_bytes(body)
    shutil.copy(good.path, directory / "intact-copy.json")
    session_ids = [*damaged, good.session_id]
    team = f"rel-bad-{uuid.uuid4().hex[:6]}"
    queues = Queues.fresh("bad")
    source = f"files:{directory}"
    with faulty_model(FaultPlan()) as model:
        environment = worker_environment(temporal_client, queues, model, source)
        settings_ = settings_for(temporal_client, queues, source)
        async with workers(environment, tmp_path / "worker.log"):
            workflow_id = await run_batch(temporal_client, settings_, team, session_ids)
            progress = await wait_batch(temporal_client, workflow_id, within=300)
    failed = {failure.session_id: failure.error_type for failure in progress.failures}
    report(
        "bad_recordings_workflows",
        sessions=len(session_ids),
        summarized=progress.summarized,
        failed_typed=failed,
        model_calls=model.calls,
    )
    assert set(failed) == set(damaged), failed
    assert set(failed.values()) <= TYPED - {"recording_not_found"}, failed
    assert progress.summarized == 1
    assert await running_workflows(temporal_client, team) == []
