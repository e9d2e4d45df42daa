"""OpenTelemetry tracing for recap's processes: one tracer provider per process that sends
spans over OTLP/HTTP, installed only when RECAP_OTEL_ENABLED is set.

The spans themselves come from temporalio's TracingInterceptor, which `recap.jobs.client`
adds to the Temporal client (and so to the workers built from it).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from recap.core.config import Settings
from recap.core.logging import get_logger

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

log = get_logger(__name__)

_provider: TracerProvider | None = None
_lock = threading.Lock()


def configure_tracing(settings: Settings) -> bool:
    """Installs the global tracer provider the first time it is called with tracing on;
    says whether tracing is on. Later calls keep the first provider (OpenTelemetry allows
    one per process)."""
    global _provider
    if not settings.otel_enabled:
        return False
    with _lock:
        if _provider is None:
            # Imported here: with tracing off, no process pays for the SDK.
            from opentelemetry import trace
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import SERVICE_NAME, Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            provider = TracerProvider(
                resource=Resource.create({SERVICE_NAME: settings.otel_service_name})
            )
            # No endpoint: the exporter's own default (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
            # else http://localhost:4318/v1/traces).
            provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otel_endpoint))
            )
            trace.set_tracer_provider(provider)
            _provider = provider
            log.info(
                "tracing enabled",
                endpoint=settings.otel_endpoint,
                service_name=settings.otel_service_name,
            )
    return True


def flush_tracing(timeout_seconds: float = 10.0) -> bool:
    """Sends the spans still buffered (before a process exits); True when nothing is left."""
    if _provider is None:
        return True
    return _provider.force_flush(int(timeout_seconds * 1000))
