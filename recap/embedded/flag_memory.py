"""The flags that made the embedded model server start on this CPU, remembered per binary
and CPU in the data directory, so a later start gets them right the first time."""

from __future__ import annotations

import hashlib
import json
import platform
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def cpu_signature() -> str:
    """The CPU model and its feature flags, hashed: a remembered choice holds for one CPU."""
    cpuinfo = Path("/proc/cpuinfo")
    model = flags = ""
    with suppress(OSError):
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "CPU part") and not model:
                model = value.strip()
            elif key in ("flags", "Features") and not flags:
                flags = value.strip()
    if not model and not flags:
        model = f"{platform.machine()} {platform.processor()}"
    return f"{model} {hashlib.sha1(flags.encode()).hexdigest()[:12]}".strip()


@dataclass(frozen=True)
class ServerFlagMemory:
    """The flags that made the embedded model server start on this machine, per binary and
    CPU, kept in the data directory so later runs start it right the first time."""

    path: Path

    @staticmethod
    def key(binary: Path) -> str:
        resolved = binary.resolve()
        stat = resolved.stat()
        return f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}|{cpu_signature()}"

    def _entries(self) -> dict[str, Any]:
        try:
            document = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        entries = document.get("servers") if isinstance(document, dict) else None
        return entries if isinstance(entries, dict) else {}

    def flags_for(self, binary: Path) -> list[str]:
        entry = self._entries().get(self.key(binary))
        flags = entry.get("flags") if isinstance(entry, dict) else None
        return [str(flag) for flag in flags] if isinstance(flags, list) else []

    def remember(self, binary: Path, flags: list[str], reason: str) -> None:
        entries = self._entries()
        entries[self.key(binary)] = {"flags": flags, "reason": reason, "cpu": cpu_signature()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps({"servers": entries}, indent=2) + "\n")
        partial.replace(self.path)
