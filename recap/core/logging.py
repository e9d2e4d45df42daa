"""structlog, configured once per process: console output in dev, JSON in production.

The standard library's loggers (Temporal's `temporalio.workflow` and `temporalio.activity`
loggers among them) are routed through the same processors, so every line has one shape.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from recap.core.config import Settings, get_settings

_configured = False

# Keys that must never reach a log line, whatever a caller binds.
_SECRET_KEYS = frozenset({"api_key", "llm_api_key", "posthog_api_key", "authorization", "password"})


def _drop_secrets(_: Any, __: str, event_dict: structlog.typing.EventDict) -> Any:
    for key in _SECRET_KEYS.intersection(event_dict):
        event_dict[key] = "***"
    return event_dict


def configure_logging(settings: Settings | None = None, *, level: str | None = None) -> None:
    """Configure structlog and the stdlib root logger; safe to call more than once."""
    global _configured
    if _configured:
        return
    settings = settings or get_settings()
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_secrets,
    ]
    renderer: structlog.typing.Processor
    if settings.log_format == "json":
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or settings.log_level).upper())
    # httpx logs every request URL at INFO; keep that at WARNING so query strings stay out.
    for name in ("httpx", "httpx2", "httpcore", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    _configured = True


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
