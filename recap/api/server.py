"""Serving the API with uvicorn, alone (`recap api`) or beside the worker (`recap dev`,
`recap demo`) in the same event loop, and recap's metrics on RECAP_METRICS_PORT when it is
set (off the API's port, so publishing the API does not publish them)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import uvicorn

from recap.api.app import create_app
from recap.core import metrics
from recap.core.config import Settings
from recap.core.logging import get_logger

log = get_logger(__name__)


class _EmbeddedServer(uvicorn.Server):
    """Leaves signals to the caller, which stops the server through `should_exit`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def api_url(settings: Settings, port: int | None = None) -> str:
    host = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::") else settings.api_host
    return f"http://{host}:{port or settings.api_port}"


# The longest request line and headers read: the listing's filters (300 session ids, as
# JSON and percent-encoded) fit, where h11's default of 16 KiB resets the connection.
MAX_REQUEST_HEAD_BYTES = 64 * 1024


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
        http="h11",
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
    )


def serve_metrics(settings: Settings) -> None:
    """Prometheus metrics on RECAP_METRICS_HOST:RECAP_METRICS_PORT, when the port is set
    and RECAP_API_METRICS allows it (a worker in the same process serves the same registry
    there: one server). OSError names the setting when the port is taken."""
    if settings.metrics_port is not None and settings.api_metrics:
        metrics.serve(settings.metrics_host, settings.metrics_port)


async def serve_api(settings: Settings, stop: asyncio.Event, port: int | None = None) -> None:
    """Serves until `stop` is set; raises OSError when the port cannot be bound."""
    serve_metrics(settings)
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
    try:
        serve_metrics(settings)
    except OSError as error:
        # As uvicorn does when the API's own port is taken: one line, exit status 1.
        log.error("the API cannot start", error=str(error))
        raise SystemExit(1) from None
    uvicorn.Server(api_config(settings)).run()
