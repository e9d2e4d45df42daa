"""What goes wrong in the embedded stack: a part that is missing or cannot start, a port
that is taken, a model server that crashed."""

from __future__ import annotations

from pathlib import Path


class EmbeddedStackError(Exception):
    """Something the embedded stack needs is missing or cannot start."""


class PortInUse(EmbeddedStackError):
    pass


class ServerCrashed(EmbeddedStackError):
    """The model server died while loading or on its first completion."""

    def __init__(self, name: str, ended: str, log_path: Path, tail: str) -> None:
        super().__init__(f"{name} {ended} (log: {log_path}):\n{tail}")
        self.ended = ended  # e.g. "was killed by SIGILL before it was healthy"
        self.log_path = log_path
        self.tail = tail
