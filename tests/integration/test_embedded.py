"""The embedded stack's guards: taken ports and missing pieces give clear errors, and a
model server that crashes on this CPU is restarted with safe flags."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from recap.core.config import Settings
from recap.embedded.errors import EmbeddedStackError, PortInUse
from recap.embedded.flag_memory import ServerFlagMemory, cpu_signature
from recap.embedded.model_server import start_llama_server
from recap.embedded.ports import ensure_port_free, free_port
from recap.embedded.processes import ManagedProcess
from recap.embedded.temporal import start_temporal, temporal_binary


def test_taken_port_gives_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUse) as error:
            ensure_port_free("127.0.0.1", port, "the Temporal dev server", "RECAP_TEMPORAL_ADDRESS")
    message = str(error.value)
    assert f"port {port}" in message and "RECAP_TEMPORAL_ADDRESS" in message


async def test_temporal_refuses_to_start_on_a_taken_port(settings: Settings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        taken = settings.model_copy(update={"temporal_address": f"127.0.0.1:{port}"})
        with pytest.raises(PortInUse):
            await start_temporal(taken, settings.data_dir / "taken")


def test_temporal_cli_is_installed() -> None:
    assert temporal_binary().is_file()


# -- the model server on CPUs whose fast paths crash it ----------------------------------

STANDIN = Path(__file__).resolve().parents[1] / "support" / "llama_standin.py"


@pytest.fixture
def standin(tmp_path: Path, settings: Settings) -> Settings:
    """Settings that start the stand-in llama-server in place of the real one."""
    binary = tmp_path / "bin" / "llama-server"
    binary.parent.mkdir()
    binary.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" "$@"\n')
    binary.chmod(0o755)
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    return settings.model_copy(
        update={
            "data_dir": tmp_path / "data",
            "llm_server_binary": binary,
            "llm_server_model": model,
            "llm_server_port": free_port(),
        }
    )


@pytest.fixture
def launches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "launches.jsonl"
    monkeypatch.setenv("STANDIN_LAUNCHES", str(path))
    return path


def launched(path: Path) -> list[list[str]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def start(settings: Settings, **options: Any) -> ManagedProcess:
    return await start_llama_server(settings, settings.data_dir / "dev", **options)


@pytest.mark.parametrize("crash", ["load", "completion"])
async def test_a_server_that_crashes_restarts_with_safe_flags_and_remembers(
    standin: Settings,
    launches: Path,
    monkeypatch: pytest.MonkeyPatch,
    crash: str,
) -> None:
    monkeypatch.setenv("STANDIN_CRASH", crash)
    with capture_logs() as logs:
        server = await start(standin)
    try:
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"http://127.0.0.1:{standin.llm_server_port}/health")
        assert answer.status_code == 200
    finally:
        server.stop()
    first, second = launched(launches)
    assert "--no-repack" not in first and "--no-repack" in second
    memory = json.loads((standin.data_dir / "llama-server-flags.json").read_text())
    (entry,) = memory["servers"].values()
    assert entry["flags"] == ["--no-repack"] and "SIGILL" in entry["reason"]
    crash_log = standin.data_dir / "dev" / "logs" / "llama-server.crashed.log"
    assert "standin: loading model" in crash_log.read_text()
    # one log line says what happened and where the choice is kept
    (line,) = [entry for entry in logs if "--no-repack" in entry["event"]]
    assert line["log_level"] == "warning"
    assert "SIGILL" in line["event"] and "llama-server-flags.json" in line["event"]

    # The next start uses the remembered flags at once: one launch, no crash.
    before = len(launched(launches))
    server = await start(standin)
    server.stop()
    assert [args.count("--no-repack") for args in launched(launches)[before:]] == [1]


async def test_a_rebuilt_binary_is_tried_without_the_remembered_flags(
    standin: Settings, launches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_CRASH", "never")
    binary = standin.llm_server_binary
    assert binary is not None
    ServerFlagMemory(standin.data_dir / "llama-server-flags.json").remember(
        binary, ["--no-repack"], "test"
    )
    os.utime(binary, ns=(0, binary.stat().st_mtime_ns + 10**9))  # as a rebuild would
    server = await start(standin)
    server.stop()
    assert ["--no-repack" in args for args in launched(launches)] == [False]


async def test_a_second_crash_is_a_clear_error_naming_the_logs_and_the_flag(
    standin: Settings, launches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_CRASH", "always")
    with pytest.raises(EmbeddedStackError) as error:
        await start(standin)
    message = str(error.value)
    logs = standin.data_dir / "dev" / "logs"
    assert str(logs / "llama-server.crashed.log") in message
    assert str(logs / "llama-server.log") in message
    assert "restarted with --no-repack" in message and "SIGILL" in message
    assert "RECAP_LLM_SERVER_ARGS" in message
    assert len(launched(launches)) == 2
    assert not (standin.data_dir / "llama-server-flags.json").exists()


async def test_server_args_setting_reaches_the_server(
    standin: Settings, launches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_CRASH", "load")
    configured = standin.model_copy(
        update={"llm_server_args": "--no-repack --system-prompt 'be brief'"}
    )
    server = await start(configured, extra_args=["--api-key", "k"])
    server.stop()
    (args,) = launched(launches)  # no crash: the safe flag came from the setting
    assert args[-5:] == ["--no-repack", "--system-prompt", "be brief", "--api-key", "k"]


async def test_a_crash_with_the_safe_flags_given_is_not_retried(
    standin: Settings, launches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_CRASH", "always")
    configured = standin.model_copy(update={"llm_server_args": "--no-repack"})
    with pytest.raises(EmbeddedStackError, match="no safer flags to try"):
        await start(configured)
    assert len(launched(launches)) == 1


async def test_unreadable_server_args_are_refused(standin: Settings) -> None:
    configured = standin.model_copy(update={"llm_server_args": "--system-prompt 'open"})
    with pytest.raises(EmbeddedStackError, match="RECAP_LLM_SERVER_ARGS"):
        await start(configured)


def test_cpu_signature_names_the_cpu() -> None:
    signature = cpu_signature()
    assert signature and signature == cpu_signature()


def test_a_killed_parent_leaves_no_server_behind(tmp_path: Path) -> None:
    # recap dev, the demo and the benchmarks start servers in their own session; when the
    # parent is killed (a timeout, kill -9) the servers must not keep running.
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from recap.embedded.processes import spawn\n"
        "child = spawn('sleeper', [sys.executable, '-c', 'import time; time.sleep(120)'],"
        f" Path({str(tmp_path)!r}))\n"
        "print(child.process.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    os.kill(child_pid, 0)  # running
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            return
        with open(f"/proc/{child_pid}/stat") as stat:
            if stat.read().split(") ")[1].startswith("Z"):
                return  # dead, waiting for init to reap it
        time.sleep(0.1)
    os.kill(child_pid, 9)
    raise AssertionError("the child outlived its killed parent")
