"""The composition root: `Settings` in, the parts recap runs with out (the summary store, the
model client, the PostHog configuration and the recording source a spec names).

The worker (building the activities), the API, the CLI and the doctor get their
dependencies here, so each setting is read in one place and every caller of a part
configures it the same way.
"""

from __future__ import annotations

from typing import Any, Protocol

from recap.core.config import Settings
from recap.llm.client import ChatModel
from recap.recording.models import SnapshotSource
from recap.sources.files import DirectorySource
from recap.sources.posthog import PostHogConfig, PostHogSource, ProgressHook
from recap.sources.spec import SourceSpec, SourceSpecError
from recap.store.repository import SummaryStore, store_for


class SourceUnavailable(Exception):
    """The configured source cannot be used (e.g. not yet supported, or misconfigured)."""

    code = "source_unavailable"


class SourceNotAllowed(SourceUnavailable):
    """A request named a source the worker is not configured to read."""

    code = "source_not_allowed"


def summary_store(settings: Settings) -> SummaryStore:
    """The process's one store for the configured database."""
    return store_for(settings.resolved_database_url)


def chat_model(settings: Settings) -> ChatModel:
    """A client for the configured OpenAI-protocol model; close it when done."""
    return ChatModel(
        base_url=settings.effective_llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        timeout_seconds=settings.effective_llm_timeout_seconds,
        max_output_tokens=settings.llm_max_output_tokens,
        temperature=settings.llm_temperature,
    )


def posthog_config(settings: Settings, **overrides: Any) -> PostHogConfig:
    """Every RECAP_POSTHOG_* setting, or a `PostHogConfigError` naming what is missing."""
    values: dict[str, Any] = {
        "blocks_per_request": settings.posthog_blocks_per_request,
        "timeout_seconds": settings.posthog_timeout_seconds,
        "page_size": settings.posthog_page_size,
        "max_decoded_bytes": settings.timeline.max_decoded_bytes,
        **overrides,
    }
    return PostHogConfig.from_settings(settings, **values)


def source_spec(text: str) -> SourceSpec:
    """A spec as written, or `SourceUnavailable` saying what recap accepts."""
    try:
        return SourceSpec.parse(text)
    except SourceSpecError as error:
        raise SourceUnavailable(str(error)) from None


def open_source(
    spec: SourceSpec | str,
    settings: Settings,
    *,
    progress: ProgressHook | None = None,
) -> SnapshotSource:
    """The recording source a spec names: `files:DIR`, or `posthog` (RECAP_POSTHOG_*)."""
    if isinstance(spec, str):
        spec = source_spec(spec)
    if spec.directory is not None:
        if not spec.directory.is_dir():
            raise SourceUnavailable(
                f"recording directory {spec.directory} does not exist;"
                " check RECAP_SOURCE or --source"
            )
        return DirectorySource(spec.directory, settings.timeline.max_decoded_bytes)
    return PostHogSource(posthog_config(settings), progress=progress)


class SourceOpener(Protocol):
    """Opens the source a spec names (None: RECAP_SOURCE), reporting fetch progress."""

    def __call__(
        self, spec: str | None = None, *, progress: ProgressHook | None = None
    ) -> SnapshotSource: ...


def allowed_source(settings: Settings, text: str | None) -> SourceSpec:
    """The source a request names, if the worker may read it: RECAP_SOURCE, or one in
    RECAP_ALLOWED_SOURCES (a directory with its subfolders). Anyone who can start a workflow
    names its source, so anything else is `SourceNotAllowed`, never read."""
    spec = source_spec(text or settings.source)
    for allowed_text in (settings.source, *settings.allowed_sources.split(",")):
        if not allowed_text.strip():
            continue
        allowed = source_spec(allowed_text.strip())
        if allowed.is_posthog and spec.is_posthog:
            return spec
        if allowed.directory is not None and spec.directory is not None:
            inside = spec.directory.resolve()
            if (
                inside == allowed.directory.resolve()
                or allowed.directory.resolve() in inside.parents
            ):
                return spec
    raise SourceNotAllowed(
        f"this worker does not read {text!r}: only RECAP_SOURCE and RECAP_ALLOWED_SOURCES"
    )


def source_opener(settings: Settings) -> SourceOpener:
    """What activities open recordings with: a request names its source, or leaves it to
    the worker's RECAP_SOURCE; a source the worker may not read is refused."""

    def open_named(
        spec: str | None = None, *, progress: ProgressHook | None = None
    ) -> SnapshotSource:
        return open_source(allowed_source(settings, spec), settings, progress=progress)

    return open_named
