"""The composition root: `Settings` in, the parts recap runs with out (the summary store, the
model client, the PostHog configuration and the recording source a spec names).

The worker (building the activities), the API, the CLI and the doctor get their
dependencies here, so each setting is read in one place and every caller of a part
configures it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from recap.core.config import Settings
from recap.llm.client import ChatModel
from recap.recording.models import SnapshotSource
from recap.sources.files import DirectorySource
from recap.sources.posthog import PostHogConfig, PostHogSource, ProgressHook
from recap.sources.spec import SourceSpec, SourceSpecError
from recap.store.repository import SummaryStore, store_for
from recap.store.secrets import SecretBox, SecretKeyMissing, SecretUnreadable
from recap.store.teams import Team, TeamError, TeamStore


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


def _posthog_tuning(settings: Settings) -> dict[str, Any]:
    """How recap reads any PostHog project: the same for the deployment's and each team's."""
    return {
        "blocks_per_request": settings.posthog_blocks_per_request,
        "timeout_seconds": settings.posthog_timeout_seconds,
        "page_size": settings.posthog_page_size,
        "max_decoded_bytes": settings.timeline.max_decoded_bytes,
    }


def posthog_config(settings: Settings, **overrides: Any) -> PostHogConfig:
    """Every RECAP_POSTHOG_* setting, or a `PostHogConfigError` naming what is missing."""
    return PostHogConfig.from_settings(settings, **{**_posthog_tuning(settings), **overrides})


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
    """Opens the source of `team_id` a spec names (None: the team's own), reporting fetch
    progress."""

    def __call__(
        self,
        spec: str | None = None,
        *,
        team_id: str,
        progress: ProgressHook | None = None,
    ) -> SnapshotSource: ...


def _inside(spec: SourceSpec, root: Path) -> bool:
    if spec.directory is None:
        return False
    inside = spec.directory.resolve()
    return inside == root.resolve() or root.resolve() in inside.parents


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
        if allowed.directory is not None and _inside(spec, allowed.directory):
            return spec
    raise SourceNotAllowed(
        f"this worker does not read {text!r}: only RECAP_SOURCE and RECAP_ALLOWED_SOURCES"
    )


class TeamHasNoSource(SourceUnavailable):
    """The team has no source of its own and may not read the deployment's."""

    code = "team_has_no_source"


@dataclass(frozen=True)
class TeamSource:
    """The recording source one team reads: its own (`recap teams set-source`) or, for the
    teams RECAP_SOURCE_TEAMS lists, the deployment's RECAP_SOURCE."""

    team_id: str
    spec: SourceSpec
    # The team's PostHog project (its own key); None: files, or the deployment's PostHog.
    posthog: PostHogConfig | None
    person_properties: bool
    own: bool

    def posthog_config(self, settings: Settings) -> PostHogConfig:
        return self.posthog if self.posthog is not None else posthog_config(settings)


def team_store(settings: Settings, store: SummaryStore | None = None) -> TeamStore:
    """The teams of the configured database, their secrets sealed under RECAP_SECRET_KEY."""
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    return TeamStore(store or summary_store(settings), SecretBox(key))


class TeamSources:
    """Which source each team reads, and opening it. One team's request never reaches
    another team's project: a team reads its own source, or the deployment's when
    RECAP_SOURCE_TEAMS lets it, and nothing a request names outside that."""

    def __init__(self, settings: Settings, teams: TeamStore) -> None:
        self._settings = settings
        self._teams = teams
        listed = settings.source_teams
        names = [settings.team_id] if listed is None else listed.split(",")
        self._shared = frozenset(name.strip() for name in names if name.strip())

    def _shares_deployment_source(self, team_id: str) -> bool:
        return "*" in self._shared or team_id in self._shared

    def resolve(self, team_id: str, requested: str | None = None) -> TeamSource:
        """The source `team_id` reads for a request naming `requested` (None: the team's)."""
        team = self._teams.get(team_id)
        if team is not None and team.source_kind is not None:
            return self._own(team, requested)
        if not self._shares_deployment_source(team_id):
            raise TeamHasNoSource(
                f"team {team_id} has no recording source: set one with `recap teams"
                f" set-source {team_id} …`, or list the team in RECAP_SOURCE_TEAMS to let it"
                " read RECAP_SOURCE"
            )
        return TeamSource(
            team_id=team_id,
            spec=allowed_source(self._settings, requested),
            posthog=None,
            person_properties=team.person_properties if team is not None else False,
            own=False,
        )

    def _own(self, team: Team, requested: str | None) -> TeamSource:
        settings = self._settings
        if team.source_kind == "files":
            assert team.directory is not None
            spec = SourceSpec(team.directory)
            if requested is not None:
                named = source_spec(requested)
                if not _inside(named, team.directory):
                    raise SourceNotAllowed(
                        f"team {team.team_id} reads its own recordings directory; the request"
                        f" named {requested!r}"
                    )
                spec = named
            return TeamSource(team.team_id, spec, None, team.person_properties, own=True)
        if requested is not None and not source_spec(requested).is_posthog:
            raise SourceNotAllowed(
                f"team {team.team_id} reads its own PostHog project; the request named"
                f" {requested!r}"
            )
        assert team.posthog_host is not None and team.posthog_project_id is not None
        try:
            key = self._teams.posthog_key(team.team_id)
        except (SecretKeyMissing, SecretUnreadable, TeamError) as error:
            # A deployment problem, the same on every retry: the operator fixes the key.
            raise SourceUnavailable(str(error)) from None
        config = PostHogConfig(
            host=team.posthog_host,
            project_id=team.posthog_project_id,
            api_key=key,
            **_posthog_tuning(settings),
        )
        return TeamSource(team.team_id, SourceSpec(), config, team.person_properties, own=True)

    def open(
        self, team_id: str, requested: str | None = None, *, progress: ProgressHook | None = None
    ) -> SnapshotSource:
        resolved = self.resolve(team_id, requested)
        if resolved.spec.is_posthog:
            return PostHogSource(resolved.posthog_config(self._settings), progress=progress)
        return open_source(resolved.spec, self._settings)

    def __call__(
        self,
        spec: str | None = None,
        *,
        team_id: str,
        progress: ProgressHook | None = None,
    ) -> SnapshotSource:
        return self.open(team_id, spec, progress=progress)


def source_opener(settings: Settings, store: SummaryStore | None = None) -> TeamSources:
    """What activities open recordings with: the team's own source, or the deployment's
    for the teams that may read it; a source the team may not read is refused."""
    return TeamSources(settings, team_store(settings, store))
