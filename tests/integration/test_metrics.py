"""Prometheus metrics and OpenTelemetry tracing: recap's own metrics from the functions the
activities call, the error mapping's counter, the worker's and the API's endpoints over
HTTP, the Temporal SDK's endpoint against the real dev server, and a real worker process
that summarizes a session with tracing on, exporting spans to a loopback OTLP receiver.

Tracing installs a process-wide tracer provider, so the traced worker runs in a child
process and this one never turns tracing on.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client import REGISTRY
from temporalio.testing import WorkflowEnvironment

import worker
from activities.errors import to_application_error
from recap.api.app import create_app
from recap.core import metrics
from recap.core.config import Settings
from recap.demo.generator import write_sample_sessions
from recap.embedded.ports import free_port
from recap.jobs.client import connect, temporal_runtime
from recap.llm.client import LLMRateLimited
from recap.llm.gate import gate
from recap.llm.schema import ModelSummary, RunMetadata, SessionSummary
from recap.recording.models import RecordingNotFound
from recap.timeline.models import EventKind, SessionInfo, Timeline, TimelineEvent, TimelineStats
from tests.support.model_double import chat_server, grounded_reply

ROOT = Path(__file__).resolve().parents[2]


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _summary() -> SessionSummary:
    """A gated summary: one key action cites a ref that does not exist and one issue claims
    a rage click the timeline never flagged, so the gate drops two claims."""
    timeline = Timeline(
        session=SessionInfo(
            session_id="s1",
            start_timestamp_ms=1_700_000_000_000,
            duration_ms=2500,
            start_url="https://shop.example/cart",
            windows=1,
        ),
        events=[
            TimelineEvent(ref="e1", t_ms=0, window="w1", kind=EventKind.NAVIGATION),
            TimelineEvent(
                ref="e2", t_ms=1500, window="w1", kind=EventKind.CLICK, target='button "Pay"'
            ),
            TimelineEvent(ref="e3", t_ms=1700, window="w1", kind=EventKind.CONSOLE_ERROR),
            TimelineEvent(ref="e4", t_ms=2500, window="w1", kind=EventKind.INPUT),
        ],
        stats=TimelineStats(raw_events=40, emitted_events=4),
    )
    answer = ModelSummary.model_validate(
        {
            "title": "Checkout fails",
            "segments": [
                {
                    "name": "Checkout",
                    "start_ref": "e1",
                    "end_ref": "e2",
                    "outcome": {"success": False, "summary": "Tried to pay."},
                }
            ],
            "key_actions": [
                {"ref": ref, "description": f"did {ref}", "flags": []}
                for ref in ("e1", "e2", "e3", "e4", "e99")
            ],
            "issues": [
                {"kind": "error", "ref": "e3", "description": "TypeError", "severity": "high"},
                {"kind": "rage_click", "ref": "e2", "description": "Rage", "severity": "low"},
            ],
            "summary_outcome": {"description": "Payment failed.", "success": False},
        }
    )
    run = RunMetadata(
        model="m",
        prompt_version="p",
        timeline_hash="h",
        timeline_tokens=10,
        prompt_tokens=1200,
        completion_tokens=300,
        latency_ms=1500,
    )
    return gate(answer, timeline, run, focus_area=None)


def test_a_summary_records_tokens_latency_gate_drops_and_its_outcome() -> None:
    summary = _summary()
    assert sorted(claim.part for claim in summary.gate.dropped) == ["issue", "key_action"]
    before = {
        "prompt": value("recap_llm_tokens_total", kind="prompt"),
        "completion": value("recap_llm_tokens_total", kind="completion"),
        "calls": value("recap_llm_latency_seconds_count", purpose="summary"),
        "seconds": value("recap_llm_latency_seconds_sum", purpose="summary"),
        "key_action": value("recap_gate_dropped_claims_total", part="key_action"),
        "issue": value("recap_gate_dropped_claims_total", part="issue"),
        "failure": value("recap_summaries_total", outcome="failure"),
        "success": value("recap_summaries_total", outcome="success"),
    }

    metrics.summary_generated(
        prompt_tokens=summary.run.prompt_tokens,
        completion_tokens=summary.run.completion_tokens,
        latency_ms=summary.run.latency_ms,
        dropped_parts=[dropped.part for dropped in summary.gate.dropped],
    )
    metrics.summary_stored(success=summary.summary_outcome.success)

    assert value("recap_llm_tokens_total", kind="prompt") - before["prompt"] == 1200
    assert value("recap_llm_tokens_total", kind="completion") - before["completion"] == 300
    assert value("recap_llm_latency_seconds_count", purpose="summary") - before["calls"] == 1
    assert value("recap_llm_latency_seconds_sum", purpose="summary") - before[
        "seconds"
    ] == pytest.approx(1.5)
    assert value("recap_gate_dropped_claims_total", part="key_action") - before["key_action"] == 1
    assert value("recap_gate_dropped_claims_total", part="issue") - before["issue"] == 1
    assert value("recap_summaries_total", outcome="failure") - before["failure"] == 1
    assert value("recap_summaries_total", outcome="success") == before["success"]


def test_a_compiled_session_is_counted_with_its_tokens() -> None:
    before = value("recap_sessions_compiled_total")
    tokens_before = value("recap_timeline_tokens_sum")
    metrics.session_compiled(700)
    assert value("recap_sessions_compiled_total") - before == 1
    assert value("recap_timeline_tokens_sum") - tokens_before == 700


def test_mapped_activity_errors_are_counted_by_type() -> None:
    missing = ("recording_not_found", "false")
    limited = ("llm_rate_limited", "true")
    before = {
        key: value("recap_errors_total", type=key[0], retryable=key[1])
        for key in (missing, limited)
    }

    not_found = to_application_error(RecordingNotFound("recording 0188 not found"))
    throttled = to_application_error(LLMRateLimited("slow down", retry_after_seconds=3))

    assert not_found.type == "recording_not_found" and not_found.non_retryable
    assert throttled.type == "llm_rate_limited" and not throttled.non_retryable
    for key in (missing, limited):
        assert value("recap_errors_total", type=key[0], retryable=key[1]) - before[key] == 1


async def test_the_worker_serves_recap_metrics_over_http() -> None:
    settings = Settings(metrics_host="127.0.0.1", metrics_port=free_port())
    worker.serve_metrics(settings)
    worker.serve_metrics(settings)  # once per process: a second call binds nothing new
    metrics.summary_stored(success=_summary().summary_outcome.success)
    async with httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{settings.metrics_port}/metrics")
    assert response.status_code == 200
    assert 'recap_summaries_total{outcome="failure"}' in response.text
    assert "recap_errors_total" in response.text


def test_a_taken_metrics_port_says_which_setting_to_change() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match="RECAP_METRICS_PORT"):
            metrics.serve("127.0.0.1", port)
        with pytest.raises(OSError, match="RECAP_TEMPORAL_METRICS_PORT"):
            temporal_runtime(Settings(metrics_host="127.0.0.1", temporal_metrics_port=port))


async def test_the_temporal_runtime_serves_sdk_metrics(temporal_env: WorkflowEnvironment) -> None:
    settings = Settings(
        temporal_address=temporal_env.client.service_client.config.target_host,
        metrics_host="127.0.0.1",
        temporal_metrics_port=free_port(),
    )
    client = await connect(settings, serve_temporal_metrics=True)
    assert temporal_runtime(settings) is temporal_runtime(settings)
    assert client.service_client.config.runtime is temporal_runtime(settings)
    await client.count_workflows()
    url = f"http://127.0.0.1:{settings.temporal_metrics_port}/metrics"
    async with httpx.AsyncClient() as http:
        for _ in range(50):
            text = (await http.get(url)).text
            if "temporal_request" in text:
                break
            await asyncio.sleep(0.1)
    assert "temporal_request" in text
    # Only the worker asks for the endpoint; other clients keep the default runtime.
    plain = await connect(settings)
    assert plain.service_client.config.runtime is not temporal_runtime(settings)


async def test_api_metrics_count_requests_by_route_template(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"api_metrics": True}))
    recording = "0188abcd-0000-7000-8000-000000000001"
    labels = {"method": "GET", "route": "/healthz", "status": "200"}
    template = "/api/projects/{project_id}/session_recordings/{recording_id}/"
    before = value("recap_api_requests_total", **labels)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as http:
        assert (await http.get("/healthz")).status_code == 200
        unauthenticated = await http.get(f"/api/projects/7/session_recordings/{recording}/")
        assert unauthenticated.status_code == 401
        assert (await http.get("/nowhere/12345")).status_code == 404
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert value("recap_api_requests_total", **labels) - before == 1
    assert 'route="/healthz",status="200"' in response.text
    assert f'route="{template}",status="401"' in response.text
    assert 'route="unmatched",status="404"' in response.text
    # Ids never become label values (numbers may hold any digits: only labels count).
    label_values = re.findall(r'\w+="([^"]*)"', response.text)
    assert label_values and not [v for v in label_values if recording in v or "12345" in v]
    assert "/metrics" not in app.openapi()["paths"]


async def test_api_metrics_off_answers_404(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"api_metrics": False}))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as http:
        assert (await http.get("/metrics")).status_code == 404


async def test_tracing_off_adds_no_interceptor(temporal_env: WorkflowEnvironment) -> None:
    settings = Settings(temporal_address=temporal_env.client.service_client.config.target_host)
    assert settings.otel_enabled is False
    client = await connect(settings)
    assert client.config()["interceptors"] == []


def test_tracing_off_loads_no_opentelemetry_sdk() -> None:
    """Importing the worker and the API and configuring tracing off costs no OTel import."""
    script = (
        "import sys, worker, recap.api.app\n"
        "from recap.core.config import Settings\n"
        "from recap.core.tracing import configure_tracing\n"
        "assert configure_tracing(Settings(otel_enabled=False)) is False\n"
        "print(sorted(m for m in sys.modules if m.startswith(("
        "'opentelemetry.sdk', 'opentelemetry.exporter', 'temporalio.contrib.opentelemetry'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


# -- a traced worker process ------------------------------------------------------------


@dataclass
class OtlpReceiver:
    """A loopback OTLP/HTTP trace receiver: records each exported span."""

    url: str
    spans: list[tuple[str, bytes, str]] = field(default_factory=list)  # name, trace, service


@contextmanager
def otlp_receiver() -> Iterator[OtlpReceiver]:
    port = free_port()
    receiver = OtlpReceiver(url=f"http://127.0.0.1:{port}/v1/traces")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path == "/v1/traces":
                request = ExportTraceServiceRequest.FromString(body)
                for resource_spans in request.resource_spans:
                    service = next(
                        (
                            a.value.string_value
                            for a in resource_spans.resource.attributes
                            if a.key == "service.name"
                        ),
                        "",
                    )
                    for scope_spans in resource_spans.scope_spans:
                        for span in scope_spans.spans:
                            receiver.spans.append((span.name, span.trace_id, service))
            self.send_response(200 if self.path == "/v1/traces" else 404)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# The worker (run_worker, as `python worker.py` runs it) and a traced client in one child
# process: summarize one session, report, wait for the test to read the metrics, stop.
TRACED_RUN = """
import asyncio, os, sys
from recap.jobs.client import connect, summarize_sessions
from recap.core.config import get_settings
from recap.core.tracing import flush_tracing
from worker import run_worker

async def main() -> None:
    settings = get_settings()
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, stop))
    client = await connect(settings)
    (outcome,) = await summarize_sessions(
        client, settings, team_id="metrics-team", session_ids=[sys.argv[1]],
        focus_area=None, source=None,
    )
    print("RESULT", outcome.error_type or "summarized", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    stop.set()
    await worker

asyncio.run(main())
print("FLUSHED", flush_tracing(), flush=True)
os._exit(0)
"""


async def test_a_traced_worker_exports_spans_and_serves_both_metrics_endpoints(
    temporal_env: WorkflowEnvironment, settings: Settings, tmp_path: Path
) -> None:
    (sample,) = write_sample_sessions(tmp_path, scenarios=["checkout_failure"])
    metrics_port, temporal_port = free_port(), free_port()
    with otlp_receiver() as receiver, chat_server() as model:
        model.responder = grounded_reply
        environment = {
            **os.environ,
            "RECAP_TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
            "RECAP_TASK_QUEUE": f"metrics-{uuid.uuid4().hex[:8]}",
            "RECAP_LLM_TASK_QUEUE": f"metrics-llm-{uuid.uuid4().hex[:8]}",
            "RECAP_LLM_BASE_URL": model.base_url,
            "RECAP_SOURCE": f"files:{tmp_path}",
            "RECAP_DATABASE_URL": settings.resolved_database_url,
            "RECAP_DATA_DIR": str(settings.data_dir),
            "RECAP_METRICS_HOST": "127.0.0.1",
            "RECAP_METRICS_PORT": str(metrics_port),
            "RECAP_TEMPORAL_METRICS_PORT": str(temporal_port),
            "RECAP_OTEL_ENABLED": "true",
            "RECAP_OTEL_ENDPOINT": receiver.url,
            "RECAP_OTEL_SERVICE_NAME": "recap-metrics-test",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            TRACED_RUN,
            sample.session_id,
            cwd=ROOT,
            env=environment,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert process.stdin is not None and process.stdout is not None
        output: list[str] = []
        try:
            async with asyncio.timeout(120):
                while not any(line.startswith("RESULT") for line in output):
                    line = (await process.stdout.readline()).decode()
                    assert line, "the traced run ended early:\n" + "".join(output)
                    output.append(line)
            assert output[-1].split() == ["RESULT", "summarized"], "".join(output)

            async with httpx.AsyncClient() as http:
                recap_text = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
                temporal_text = (await http.get(f"http://127.0.0.1:{temporal_port}/metrics")).text
        finally:
            process.stdin.write(b"\n")
            await process.stdin.drain()
            rest, _ = await asyncio.wait_for(process.communicate(), 60)
            output.append(rest.decode())
        assert process.returncode == 0, "".join(output)
        assert "FLUSHED True" in output[-1], "".join(output)

    # recap's metrics, recorded by the real activities in the worker process.
    assert "recap_sessions_compiled_total 1.0" in recap_text
    assert 'recap_summaries_total{outcome="success"} 1.0' in recap_text
    assert 'recap_llm_tokens_total{kind="prompt"} 120.0' in recap_text
    assert 'recap_llm_tokens_total{kind="completion"} 30.0' in recap_text
    assert 'recap_llm_latency_seconds_count{purpose="summary"} 1.0' in recap_text
    assert sample.session_id not in recap_text and "metrics-team" not in recap_text
    # The Temporal SDK's metrics, from the worker client's runtime.
    assert "temporal_workflow_completed" in temporal_text
    assert "temporal_activity_execution_latency" in temporal_text

    names = {name for name, _, _ in receiver.spans}
    expected = {
        "StartWorkflow:SummarizeSessionWorkflow",
        "RunWorkflow:SummarizeSessionWorkflow",
        "StartActivity:compile_timeline",
        "RunActivity:compile_timeline",
        "RunActivity:summarize_session",
        "RunActivity:store_summary",
    }
    assert expected <= names, sorted(names)
    assert {service for _, _, service in receiver.spans} == {"recap-metrics-test"}
    # The worker's spans continue the client's trace: the context crossed Temporal.
    traces = {trace for name, trace, _ in receiver.spans if name in expected}
    assert len(traces) == 1
