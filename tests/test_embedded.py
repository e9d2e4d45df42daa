"""The embedded stack's guards: taken ports and missing pieces give clear errors."""

from __future__ import annotations

import socket

import pytest

from recap.config import Settings
from recap.embedded import PortInUse, ensure_port_free, start_temporal, temporal_binary


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
