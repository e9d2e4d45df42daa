"""Decompression bombs: a few hundred KB that expand to hundreds of MB must fail as
`invalid_recording` once they pass RECAP_TIMELINE__MAX_DECODED_BYTES, before the memory
is spent, in the CLI, the worker's compile step and the API (issue 16, finding 1).

Each process's peak RSS is compared with the same process on a harmless recording: the bomb
may cost at most the limit plus 64 MiB more.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from recap.demo.generator import SCENARIOS, write_sample_sessions
from recap.embedded.ports import free_port
from recap.llm.client import ChatModel, MalformedModelOutput
from recap.llm.transport import MODEL_ANSWER_BYTES
from recap.recording.decode import DecodedTooLarge, SizeMeter, decompress_field, gunzip_bounded
from recap.recording.models import InvalidRecording
from recap.sources.posthog import PostHogClient, PostHogConfig, PostHogSource
from recap.sources.posthog.errors import PostHogBadResponse
from recap.store.keys import READ_SCOPE, KeyStore
from recap.store.repository import store_for
from tests.support.model_double import Reply, chat_server, completion_body
from tests.support.posthog_double import (
    Fault,
    PostHogDouble,
    posthog_double,
    served_from_document,
)

LIMIT = 10 * 1024 * 1024
SLACK = 64 * 1024 * 1024
EXPANDS_TO_MIB = 256
ROOT = Path(__file__).resolve().parents[2]
BOMB_ID = "0190b0b0-0000-7000-8000-00000000b0b0"
LINE_BOMB_ID = "0190b0b0-0000-7000-8000-00000000b0b1"


def _gzip_of_spaces(prefix: bytes, mib: int, suffix: bytes) -> bytes:
    """gzip of `prefix + mib MiB of spaces + suffix`, built without holding the spaces."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(prefix)]
    block = b" " * (1024 * 1024)
    parts.extend(packer.compress(block) for _ in range(mib))
    parts += [packer.compress(suffix), packer.flush()]
    return b"".join(parts)


def _events(snapshot: object) -> list[dict[str, object]]:
    start = 1_700_000_000_000
    return [
        {"type": 4, "timestamp": start, "data": {"href": "https://shop.example/", "width": 1280}},
        {"type": 2, "timestamp": start + 100, "data": snapshot, "cv": "2024-10"},
        {"type": 3, "timestamp": start + 5_000, "data": {"source": 2, "type": 2, "id": 1}},
    ]


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with a cv-field bomb (JSON), an endless-line bomb (gzipped JSONL) and a
    harmless sample session."""
    directory = tmp_path_factory.mktemp("bombs")
    field = _gzip_of_spaces(b'{"node":', EXPANDS_TO_MIB, b"1}").decode("latin-1")
    (directory / f"{BOMB_ID}.json").write_text(json.dumps(_events(field)))
    line = _gzip_of_spaces(b'[{"type":4,"timestamp":1,"data":{"x":"', EXPANDS_TO_MIB, b'"}}]\n')
    (directory / f"{LINE_BOMB_ID}.jsonl.gz").write_bytes(line)
    write_sample_sessions(directory, scenarios=SCENARIOS[:1])
    return directory


def _harmless(directory: Path) -> Path:
    return next(p for p in directory.iterdir() if "b0b0" not in p.name)


def _bounded_env(tmp_path: Path, directory: Path) -> dict[str, str]:
    return {
        **os.environ,
        "RECAP_TIMELINE__MAX_DECODED_BYTES": str(LIMIT),
        "RECAP_SOURCE": f"files:{directory}",
        "RECAP_DATABASE_URL": f"sqlite:///{tmp_path / 'bombs.db'}",
    }


# Linux counts a child's peak RSS from the moment it was forked, so a child of the (large)
# test process would report at least the test process's size: the command is started from
# this small intermediary instead, which reports the command's own peak.
_MEASURE = """
import json, os, subprocess, sys
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(process.pid, 0)
print(json.dumps([os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024]))
"""


def _peak_rss(command: list[str], env: dict[str, str]) -> tuple[int, int, str]:
    """(exit code, peak RSS in bytes, stderr) of one command, measured for it alone."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    code, peak = json.loads(done.stdout)
    return int(code), int(peak), done.stderr


def test_a_cv_field_bomb_stops_at_what_the_meter_has_left() -> None:
    field = _gzip_of_spaces(b'{"node":', EXPANDS_TO_MIB, b"1}").decode("latin-1")
    meter = SizeMeter(LIMIT)
    meter.add(LIMIT // 2)
    tracemalloc.start()
    try:
        with pytest.raises(DecodedTooLarge, match="RECAP_TIMELINE__MAX_DECODED_BYTES"):
            decompress_field(field, meter)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # What the meter had left (half the limit) and zlib's growing buffer, not 256 MiB.
    assert peak < 2 * LIMIT
    # Within the bound the same stream expands as before.
    assert decompress_field(_small_field(), SizeMeter(LIMIT)) == {"node": 1}


def test_bounded_gunzip_reads_gzip_as_the_standard_library_does() -> None:
    one, two = gzip.compress(b'{"a":1}'), gzip.compress(b"[2]")
    for stream in (one, one + two, one + b"\0\0\0"):
        assert gunzip_bounded(stream, 100) == gzip.decompress(stream)
    # The bound counts every member together, to the byte.
    assert gunzip_bounded(one + two, 10) == b'{"a":1}[2]'
    assert gunzip_bounded(one + two, 9) is None
    assert gunzip_bounded(one, 6) is None
    for cut in (one[:-3], one + two[:5]):
        with pytest.raises(EOFError):
            gunzip_bounded(cut, 100)
    with pytest.raises(zlib.error):
        gunzip_bounded(b"not gzip at all", 100)


def _small_field() -> str:
    return _gzip_of_spaces(b'{"node":', 1, b"1}").decode("latin-1")


@pytest.mark.parametrize("bomb", [BOMB_ID + ".json", LINE_BOMB_ID + ".jsonl.gz"])
def test_recap_timeline_fails_a_bomb_within_the_bound(
    recordings: Path, tmp_path: Path, bomb: str
) -> None:
    env = _bounded_env(tmp_path, recordings)
    command = [sys.executable, "-m", "recap.cli", "timeline"]
    code, harmless_peak, _ = _peak_rss([*command, str(_harmless(recordings))], env)
    assert code == 0
    code, bomb_peak, stderr = _peak_rss([*command, str(recordings / bomb)], env)
    assert code == 1
    assert "RECAP_TIMELINE__MAX_DECODED_BYTES" in stderr
    assert bomb_peak - harmless_peak < LIMIT + SLACK, (bomb_peak, harmless_peak)


_WORKER_COMPILE = """
import sys
from recap.core.config import get_settings
from recap.recording.models import InvalidRecording
from recap.services.bootstrap import open_source, summary_store
from recap.services.summary import compile_session

settings = get_settings()
try:
    compile_session(
        team_id="bombs", session_id=sys.argv[1], source=open_source(settings.source, settings),
        store=summary_store(settings), max_tokens=4000, config=settings.timeline,
    )
except InvalidRecording as error:
    print(f"invalid_recording: {error}", file=sys.stderr)
    sys.exit(3)
"""


def test_the_workers_compile_step_fails_a_bomb_within_the_bound(
    recordings: Path, tmp_path: Path
) -> None:
    # The compile activity's body (activities/summary.py) without Temporal around it: the
    # source from the composition root, then compile_session.
    env = _bounded_env(tmp_path, recordings)
    command = [sys.executable, "-c", _WORKER_COMPILE]
    harmless = _harmless(recordings).name.split(".")[0]
    code, harmless_peak, stderr = _peak_rss([*command, harmless], env)
    assert code == 0, stderr
    for bomb in (BOMB_ID, LINE_BOMB_ID):
        code, bomb_peak, stderr = _peak_rss([*command, bomb], env)
        assert code == 3 and "invalid_recording" in stderr, stderr
        assert bomb_peak - harmless_peak < LIMIT + SLACK, (bomb, bomb_peak, harmless_peak)


def _high_water_mark(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/PID/status")


@pytest.fixture
def api_process(recordings: Path, tmp_path: Path) -> Iterator[tuple[str, int, str]]:
    env = _bounded_env(tmp_path, recordings)
    _, token = KeyStore(store_for(env["RECAP_DATABASE_URL"])).create(
        team_id="team-a", scopes=[READ_SCOPE]
    )
    port = free_port()
    env["RECAP_API_PORT"] = str(port)
    env["RECAP_TEMPORAL_ADDRESS"] = f"127.0.0.1:{free_port()}"  # metadata needs no Temporal
    process = subprocess.Popen(
        [sys.executable, "-m", "recap.cli", "api"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
            time.sleep(0.1)
        yield url, process.pid, token
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_api_describes_a_bomb_within_the_bound(
    api_process: tuple[str, int, str], recordings: Path
) -> None:
    url, pid, token = api_process
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{url}/api/projects/team-a/session_recordings"
    harmless = _harmless(recordings).name.split(".")[0]
    assert httpx.get(f"{base}/{harmless}/", headers=headers, timeout=60).status_code == 200
    # An unknown id takes the same path as an unreadable one (the store's index): warm it.
    missing = httpx.get(f"{base}/0190b0b0-0000-7000-8000-000000000000/", headers=headers)
    assert missing.status_code == 404
    before = _high_water_mark(pid)
    for _ in range(3):  # the old API paid again on every request
        for bomb in (BOMB_ID, LINE_BOMB_ID):
            answer = httpx.get(f"{base}/{bomb}/", headers=headers, timeout=60)
            assert answer.status_code == 404, answer.text  # unreadable, and not in the store
    assert _high_water_mark(pid) - before < LIMIT + SLACK


# -- PostHog's answers ------------------------------------------------------------------


def _posthog_config(double: PostHogDouble) -> PostHogConfig:
    return PostHogConfig(
        host=double.base_url,
        project_id=double.project_id,
        api_key=SecretStr(double.api_key),
        max_decoded_bytes=LIMIT,
    )


def _traced_peak(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_gzipped_snapshot_bomb_from_posthog_stops_at_the_bound() -> None:
    # httpx inflates each network chunk whole; recap decodes PostHog's bodies itself.
    with posthog_double() as double:
        double.add(served_from_document(_events({"node": 1}), BOMB_ID))
        bomb = _gzip_of_spaces(b"[", EXPANDS_TO_MIB, b"]\n")
        double.inject(
            Fault(match="source=", status=200, headers={"Content-Encoding": "gzip"}, body=bomb)
        )
        source = PostHogSource(_posthog_config(double))

        def load() -> None:
            with pytest.raises(InvalidRecording, match="MAX_DECODED_BYTES"):
                list(source.load(BOMB_ID).events)

        assert _traced_peak(load) < 2 * LIMIT


def test_a_gzipped_json_bomb_from_posthog_stops_at_the_bound() -> None:
    async def describe(config: PostHogConfig) -> None:
        async with PostHogClient(config) as client:
            with pytest.raises(PostHogBadResponse, match="too large"):
                await client.get_recording(BOMB_ID)

    with posthog_double() as double:
        bomb = _gzip_of_spaces(b'{"id":', EXPANDS_TO_MIB, b'"x"}')
        double.inject(
            Fault(match=BOMB_ID, status=200, headers={"Content-Encoding": "gzip"}, body=bomb)
        )
        config = _posthog_config(double)
        assert _traced_peak(lambda: asyncio.run(describe(config))) < 2 * LIMIT


def test_gzipped_answers_within_the_bound_read_as_before() -> None:
    events = _events({"node": 1, "childNodes": []})
    loaded = []
    for compress in (False, True):
        with posthog_double(compress=compress) as double:
            double.add(served_from_document(events, BOMB_ID))
            source = PostHogSource(_posthog_config(double))
            loaded.append([(e.type, e.timestamp, e.data) for e in source.load(BOMB_ID).events])
            if compress:
                assert any("gzip" in r.headers.get("accept-encoding", "") for r in double.requests)
    assert loaded[0] == loaded[1] and len(loaded[0]) == 3


# -- the model's answers ----------------------------------------------------------------


def _chat_model(base_url: str) -> ChatModel:
    return ChatModel(
        base_url=base_url,
        model="served-model",
        api_key="sk-test",
        timeout_seconds=30,
        max_output_tokens=100,
        temperature=0,
    )


async def _ask(model: ChatModel) -> str:
    try:
        answer = await model.complete_json(
            [{"role": "user", "content": "hi"}], schema_name="s", schema={"type": "object"}
        )
        return answer.content
    finally:
        await model.close()


def test_a_gzipped_bomb_from_the_model_stops_at_the_bound() -> None:
    bomb = _gzip_of_spaces(b'{"choices":', EXPANDS_TO_MIB, b"[]}")
    with chat_server(Reply(body=bomb, headers={"Content-Encoding": "gzip"})) as server:

        def ask() -> None:
            with pytest.raises(MalformedModelOutput, match="more than 16 MiB"):
                asyncio.run(_ask(_chat_model(server.base_url)))

        assert _traced_peak(ask) < 2 * MODEL_ANSWER_BYTES


def test_a_gzipped_answer_within_the_bound_reads_as_before() -> None:
    body = gzip.compress(json.dumps(completion_body('{"title": "zipped"}')).encode())
    with chat_server(Reply(body=body, headers={"Content-Encoding": "gzip"})) as server:
        assert asyncio.run(_ask(_chat_model(server.base_url))) == '{"title": "zipped"}'
        assert "gzip" in server.requests[-1]["headers"]["accept-encoding"]
