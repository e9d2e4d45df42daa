"""The embedded stack's child processes: started in their own session with a log file,
awaited until they listen or answer, stopped, and described when they die."""

from __future__ import annotations

import asyncio
import ctypes
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from recap.embedded.errors import EmbeddedStackError, ServerCrashed


@dataclass
class ManagedProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    def tail(self, lines: int = 20) -> str:
        with suppress(OSError):
            text = self.log_path.read_text(errors="replace").splitlines()
            return "\n".join(text[-lines:])
        return ""

    async def ended_within(self, seconds: float) -> bool:
        """Whether the process has ended, or ends within `seconds`."""
        deadline = time.monotonic() + seconds
        while self.process.poll() is None:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log_file.close()


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: Linux sends it SIGTERM when its parent dies, even by
    SIGKILL, so a killed `recap dev`, demo or benchmark leaves no server running."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _parent_death_hook() -> Callable[[], None] | None:
    # Linux ties the signal to the thread that forked: only the main thread lives as long
    # as the process, so a child started from any other thread is left alone.
    if sys.platform == "linux" and threading.current_thread() is threading.main_thread():
        return _die_with_parent
    return None


def spawn(
    name: str, args: list[str], log_dir: Path, env: dict[str, str] | None = None
) -> ManagedProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        args,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
        preexec_fn=_parent_death_hook(),
    )
    return ManagedProcess(name, process, log_path, log_file)


async def wait_for_port(managed: ManagedProcess, host: str, port: int, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if managed.process.poll() is not None:
            raise EmbeddedStackError(
                f"{managed.name} exited with code {managed.process.returncode}:\n{managed.tail()}"
            )
        with suppress(OSError):
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            return
        await asyncio.sleep(0.2)
    raise EmbeddedStackError(f"{managed.name} did not open port {port} in {within:.0f}s")


def how_it_ended(returncode: int) -> str:
    """`was killed by SIGILL`, `exited with code 1`: how a child process ended."""
    if returncode < 0:
        with suppress(ValueError):
            return f"was killed by {signal.Signals(-returncode).name}"
        return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def crashed(managed: ManagedProcess, stage: str) -> ServerCrashed:
    ended = f"{how_it_ended(managed.process.returncode)} {stage}"
    return ServerCrashed(managed.name, ended, managed.log_path, managed.tail())


async def wait_for_health(managed: ManagedProcess, url: str, within: float) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=5) as http:
        while time.monotonic() < deadline:
            if managed.process.poll() is not None:
                raise crashed(managed, "before it was healthy")
            with suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.5)
    raise EmbeddedStackError(
        f"{managed.name} was not healthy at {url} in {within:.0f}s (log: {managed.log_path})"
    )
