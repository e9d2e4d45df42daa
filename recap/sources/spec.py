"""A source spec as users write it (`RECAP_SOURCE`, `--source`, a schedule's request):
`posthog`, or `files:DIR`. Parsed here once; everything else takes a `SourceSpec`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

POSTHOG = "posthog"
FILES_PREFIX = "files:"


class SourceSpecError(ValueError):
    """The text names no source recap knows."""


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """`directory` is set for `files:DIR` and None for PostHog."""

    directory: Path | None = None

    @property
    def is_posthog(self) -> bool:
        return self.directory is None

    @classmethod
    def parse(cls, text: str) -> SourceSpec:
        if text == POSTHOG:
            return cls()
        if text.startswith(FILES_PREFIX) and text.removeprefix(FILES_PREFIX).strip():
            return cls(Path(text.removeprefix(FILES_PREFIX)).expanduser())
        raise SourceSpecError(f"unknown source {text!r}; use 'posthog' or 'files:DIR'")

    def absolute(self) -> SourceSpec:
        """The same source with the directory resolved, for a worker in another directory."""
        return self if self.directory is None else SourceSpec(self.directory.resolve())

    def __str__(self) -> str:
        return POSTHOG if self.directory is None else f"{FILES_PREFIX}{self.directory}"
