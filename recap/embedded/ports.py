"""Loopback ports for the embedded stack's servers: refuse a taken one with the setting
that moves it, or pick a free one."""

from __future__ import annotations

import socket

from recap.embedded.errors import PortInUse


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
