"""recap reaches a secured Temporal (issue 16, finding 11): TLS with a private CA, mTLS and
an API key, through `recap.jobs.client.connect`, the one place the worker, the API and the
CLI connect.

The dev server has no TLS flags, so a TLS-terminating proxy (tests/support/tls_proxy.py)
stands in front of it. The API key is checked on the wire: the proxy decodes the HTTP/2
request headers clients send through it (HPACK, Huffman included), so the test sees the
`authorization: Bearer …` header the server would receive, not just the SDK's settings.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.testing import WorkflowEnvironment

from recap.core.config import Settings
from recap.doctor import check_temporal as doctor_check_temporal
from recap.embedded.ports import free_port
from recap.jobs.client import check_temporal, connect
from tests.support.tls_proxy import ThrowawayPki, TlsProxy, make_throwaway_pki

# A failed handshake is answered in milliseconds; this bounds a hang, were there one.
_WITHIN_SECONDS = 10.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayPki:
    return make_throwaway_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def dev_server(temporal_env: WorkflowEnvironment) -> str:
    """The dev server's plain gRPC address, behind the proxies."""
    return temporal_env.client.service_client.config.target_host


@pytest.fixture
def tls_proxy(dev_server: str, pki: ThrowawayPki) -> Iterator[TlsProxy]:
    with TlsProxy(dev_server, pki.server_context()) as proxy:
        yield proxy


@pytest.fixture
def mtls_proxy(dev_server: str, pki: ThrowawayPki) -> Iterator[TlsProxy]:
    with TlsProxy(dev_server, pki.server_context(require_client_certificate=True)) as proxy:
        yield proxy


def _settings(address: str, **values: Any) -> Settings:
    return Settings(temporal_address=address, **values)


async def _connect_fails(settings: Settings) -> ConnectionError:
    """recap's ConnectionError, within a bound (a hang fails the test)."""
    started = time.monotonic()
    with pytest.raises(ConnectionError) as failed:
        await asyncio.wait_for(connect(settings), _WITHIN_SECONDS)
    assert time.monotonic() - started < _WITHIN_SECONDS
    return failed.value


async def test_tls_with_a_private_ca_connects_and_calls(
    tls_proxy: TlsProxy, pki: ThrowawayPki
) -> None:
    settings = _settings(tls_proxy.address, temporal_tls=True, temporal_tls_server_ca_path=pki.ca)

    client = await connect(settings)
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace="default")
    )
    await check_temporal(client)

    assert described.namespace_info.name == "default"
    assert tls_proxy.handshakes >= 1 and tls_proxy.failed_handshakes == 0
    assert set(tls_proxy.alpn) == {"h2"}
    paths = [headers[":path"] for headers in tls_proxy.request_headers()]
    assert "/temporal.api.workflowservice.v1.WorkflowService/DescribeNamespace" in paths


async def test_mtls_needs_the_client_certificate(mtls_proxy: TlsProxy, pki: ThrowawayPki) -> None:
    without = _settings(mtls_proxy.address, temporal_tls=True, temporal_tls_server_ca_path=pki.ca)
    error = await _connect_fails(without)
    assert "over TLS" in str(error) and "RECAP_TEMPORAL_TLS_CERT_PATH" in str(error)
    # The proxy counts the refused handshake on its own task, which may run after the
    # client has already given up: wait for it, within a bound.
    for _ in range(100):
        if mtls_proxy.failed_handshakes:
            break
        await asyncio.sleep(0.05)
    assert mtls_proxy.handshakes == 0 and mtls_proxy.failed_handshakes >= 1

    with_certificate = _settings(
        mtls_proxy.address,
        temporal_tls_server_ca_path=pki.ca,
        temporal_tls_cert_path=pki.client_cert,
        temporal_tls_key_path=pki.client_key,
    )
    await check_temporal(await connect(with_certificate))
    assert mtls_proxy.handshakes >= 1

    checks = {check.name: check for check in await doctor_check_temporal(with_certificate, 5.0)}
    assert checks["temporal"].status == "pass", checks["temporal"]
    assert "TLS with a private server CA and a client certificate (mTLS)" in (
        checks["temporal"].detail
    )


async def test_a_server_certificate_from_another_ca_fails_fast_and_names_the_setting(
    tls_proxy: TlsProxy, pki: ThrowawayPki
) -> None:
    settings = _settings(tls_proxy.address, temporal_tls_server_ca_path=pki.other_ca)

    error = await _connect_fails(settings)

    assert f"cannot reach Temporal at {tls_proxy.address} over TLS" in str(error)
    assert "UnknownIssuer" in str(error)
    assert "RECAP_TEMPORAL_TLS_SERVER_CA_PATH" in str(error)
    assert tls_proxy.handshakes == 0


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"temporal_tls_cert_path": "client"}, ["TLS_CERT_PATH", "TLS_KEY_PATH"]),
        ({"temporal_tls_key_path": "client_key"}, ["TLS_CERT_PATH", "TLS_KEY_PATH"]),
        ({"temporal_tls_server_ca_path": "missing"}, ["TLS_SERVER_CA_PATH", "missing.pem"]),
        ({"temporal_tls_server_ca_path": "client_key"}, ["TLS_SERVER_CA_PATH", "PEM"]),
    ],
)
async def test_tls_settings_that_cannot_work_say_which_setting(
    pki: ThrowawayPki, values: dict[str, str], named: list[str]
) -> None:
    files = {
        "client": pki.client_cert,
        "client_key": pki.client_key,
        "missing": pki.ca.with_name("missing.pem"),
    }
    settings = _settings(
        f"127.0.0.1:{free_port()}", **{name: files[key] for name, key in values.items()}
    )

    error = await _connect_fails(settings)

    assert all(part in str(error) for part in named), str(error)
    assert "cannot reach" not in str(error)  # nothing was tried: the settings are wrong
    assert "BEGIN" not in str(error)  # the files' content stays out of the message


async def test_the_api_key_goes_as_a_bearer_token_over_tls_only_and_is_never_shown(
    tls_proxy: TlsProxy,
    dev_server: str,
    pki: ThrowawayPki,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = f"recap-test-key-{secrets.token_hex(12)}"
    # No RECAP_TEMPORAL_TLS: the key alone turns TLS on.
    settings = _settings(
        tls_proxy.address, temporal_tls_server_ca_path=pki.ca, temporal_api_key=key
    )

    client = await connect(settings)
    await check_temporal(client)

    requests = tls_proxy.request_headers()
    # The decoder reads the wire: the calls' paths come out of it in clear.
    assert "/grpc.health.v1.Health/Check" in [headers[":path"] for headers in requests]
    assert all(headers.get("authorization") == f"Bearer {key}" for headers in requests)
    assert client.service_client.config.api_key == key
    checks = {check.name: check for check in await doctor_check_temporal(settings, 5.0)}
    assert checks["temporal"].status == "pass", checks["temporal"]
    assert "TLS with a private server CA and an API key" in checks["temporal"].detail

    # Never in the clear: the dev server's plain port is refused a key.
    in_clear = await _connect_fails(_settings(dev_server, temporal_api_key=key))
    wrong_ca = await _connect_fails(
        _settings(tls_proxy.address, temporal_tls_server_ca_path=pki.other_ca, temporal_api_key=key)
    )
    printed = capsys.readouterr()
    shown = [
        str(in_clear),
        str(wrong_ca),
        repr(settings),
        caplog.text,
        printed.out,
        printed.err,
        json.dumps([check.model_dump() for check in checks.values()]),
    ]
    assert not [text for text in shown if key in text]


async def test_the_cli_connects_over_tls_with_the_api_key(
    tls_proxy: TlsProxy, pki: ThrowawayPki, tmp_path: Path
) -> None:
    key = f"recap-cli-key-{secrets.token_hex(12)}"
    environment = {name: value for name, value in os.environ.items() if name[:6] != "RECAP_"}
    environment |= {
        "RECAP_DATA_DIR": str(tmp_path),
        "RECAP_TEMPORAL_ADDRESS": tls_proxy.address,
        "RECAP_TEMPORAL_TLS": "true",
        "RECAP_TEMPORAL_TLS_SERVER_CA_PATH": str(pki.ca),
        "RECAP_TEMPORAL_API_KEY": key,
    }

    # The proxy runs on its own thread: waiting here blocks nothing it needs.
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "recap.cli", "schedule", "list", "--json"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout), list)
    assert tls_proxy.handshakes >= 1
    requests = tls_proxy.request_headers()
    assert any(headers[":path"].endswith("/ListSchedules") for headers in requests)
    assert all(headers.get("authorization") == f"Bearer {key}" for headers in requests)
    assert key not in done.stdout + done.stderr
