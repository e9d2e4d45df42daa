"""Serving the API with uvicorn, alone (`recap api`) or beside the worker (`recap dev`,
`recap demo`) in the same event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import uvicorn

from recap.api.app import create_app
from recap.core.config import Settings


class _EmbeddedServer(uvicorn.Server):
    """Leaves signals to the caller, which stops the server through `should_exit`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def api_url(settings: Settings, port: int | None = None) -> str:
    host = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::") else settings.api_host
    return f"http://{host}:{port or settings.api_port}"


def api_config(settings: Settings, port: int | None = None) -> uvicorn.Config:
    # recap logs each request itself (method, path, status, key id): never a body or a query.
    return uvicorn.Config(
        create_app(settings),
        host=settings.api_host,
        port=port or settings.api_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )


async def serve_api(settings: Settings, stop: asyncio.Event, port: int | None = None) -> None:
    """Serves until `stop` is set; raises OSError when the port cannot be bound."""
    server = _EmbeddedServer(api_config(settings, port))
    serving = asyncio.create_task(server.serve())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    stopping.cancel()
    await serving
    if not server.started:
        raise OSError(
            f"the API could not listen on {settings.api_host}:{port or settings.api_port}"
        )


def run_api(settings: Settings) -> None:
    """`recap api`: serve in the foreground; Ctrl+C stops it."""
    uvicorn.Server(api_config(settings)).run()
