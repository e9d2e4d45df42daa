"""A funnel drop-off report's use cases: read what each session's recording says about its
device and viewport, then analyze the funnel over the stored summaries and timelines, ask
the model to explain each step's significant factors, gate its answer and store the result
as a pattern report with a funnel section.

Code computes every number (`recap.funnels.analyze_funnel`); the model only explains the
factors code found, and its citations are kept only where the session and ref exist.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from recap.core.config import Settings
from recap.funnels import (
    EXPLAIN_PROMPT,
    ExplainedFactor,
    Factor,
    FactorExample,
    FunnelAnalysis,
    FunnelExplanation,
    FunnelSession,
    KnownCluster,
    SessionMetadata,
    analyze_funnel,
    explain_messages,
    explain_prompt_version,
    explain_schema,
    gate_explanation,
    parse_explanation,
    parse_steps,
)
from recap.llm.client import ChatModel
from recap.recording import rrweb as rr
from recap.recording.models import Recording, RecordingError
from recap.reports import StepUsage, report_id
from recap.reports.models import (
    DroppedExample,
    DroppedPattern,
    FunnelFactor,
    FunnelNextPlace,
    FunnelSection,
    FunnelStepCounts,
    Pattern,
    PatternExample,
    PatternReport,
    PatternSeverity,
    PatternStats,
    ReportGate,
    ReportInputs,
    ReportRun,
    SessionNotReported,
)
from recap.reports.prompting import ask
from recap.services.bootstrap import SourceUnavailable, TeamSources
from recap.services.reports import load_sessions, not_summarized
from recap.sources.posthog import PostHogClient, PostHogError
from recap.store.clusters import ClusterStore
from recap.store.reports import ReportStore
from recap.store.repository import SummaryStore
from recap.timeline.models import Timeline

# Severity from the effect size (the difference of the rates, stopped minus went on):
# a factor seen in half the stopped sessions more than in the others is critical.
SEVERITY_BY_EFFECT: Final[tuple[tuple[float, PatternSeverity], ...]] = (
    (0.5, "critical"),
    (0.3, "high"),
    (0.15, "medium"),
)
EXAMPLES_PER_PATTERN: Final = 12
CONTRAST_EXAMPLES: Final = 3

# PostHog's person properties that describe the device (when the team shares them).
_DEVICE: Final = "$device_type"
_BROWSER: Final = "$browser"
_OS: Final = "$os"
_VIEWPORT: Final = "$viewport_width"


def severity(factor: Factor) -> PatternSeverity:
    """Documented in docs/funnels.md: by the rate difference between the groups."""
    effect = factor.stopped_rate - factor.went_on_rate
    for threshold, level in SEVERITY_BY_EFFECT:
        if effect >= threshold:
            return level
    return "low"


# -- metadata ---------------------------------------------------------------------------


def recording_viewport(recording: Recording) -> int | None:
    """The viewport width the recording's first meta event gives (CSS px), or None."""
    for event in recording.events:
        data: Any = event.data
        if event.type == rr.META and isinstance(data, dict):
            width = data.get("width")
            if isinstance(width, int) and width > 0:
                return width
    return None


def person_metadata(properties: Mapping[str, Any] | None) -> SessionMetadata:
    """Device, browser, OS (and a viewport, when PostHog has one) from person properties."""
    props = properties or {}

    def text(name: str) -> str | None:
        value = props.get(name)
        return value if isinstance(value, str) and value else None

    width = props.get(_VIEWPORT)
    return SessionMetadata(
        device=text(_DEVICE),
        browser=text(_BROWSER),
        os=text(_OS),
        viewport_width=width if isinstance(width, int) and width > 0 else None,
    )


def _file_metadata(
    sources: TeamSources, team_id: str, source: str | None, session_id: str
) -> SessionMetadata:
    try:
        recording = sources.open(team_id, source).load(session_id)
        return SessionMetadata(viewport_width=recording_viewport(recording))
    except RecordingError:
        return SessionMetadata()


async def read_metadata(
    *,
    team_id: str,
    source: str | None,
    session_ids: Sequence[str],
    settings: Settings,
    sources: TeamSources,
) -> dict[str, SessionMetadata]:
    """Each session's device, browser, OS and viewport width as the team's source gives
    them: files say only the viewport (their meta event); PostHog says what the person's
    properties hold, when the team lets recap read them. Unknown is None, never guessed."""
    try:
        resolved = sources.resolve(team_id, source)
    except (ValueError, FileNotFoundError) as error:
        raise SourceUnavailable(str(error)) from error
    found: dict[str, SessionMetadata] = {}
    if not resolved.spec.is_posthog:
        for session_id in dict.fromkeys(session_ids):
            found[session_id] = await asyncio.to_thread(
                _file_metadata, sources, team_id, source, session_id
            )
        return found
    async with PostHogClient(resolved.posthog_config(settings)) as client:
        for session_id in dict.fromkeys(session_ids):
            try:
                described = await client.get_recording(session_id)
            except (RecordingError, PostHogError):
                found[session_id] = SessionMetadata()
                continue
            person = described.person if resolved.person_properties else None
            found[session_id] = person_metadata(person.properties if person else None)
    return found


# -- the report -------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelReportRequest:
    team_id: str
    steps: list[str]
    requested: list[str]
    """Every session asked for (after a selection listed them)."""
    session_ids: list[str]
    """Those to analyze: the requested ones the batch did not fail."""
    failed: Mapping[str, tuple[str, str]]
    """Session id -> the batch's error type and message."""
    metadata: Mapping[str, SessionMetadata]
    focus_area: str | None
    selection: dict[str, str] | None
    created_at: datetime


def funnel_title(sessions: int, specs: Sequence[str]) -> str:
    noun = "session" if sessions == 1 else "sessions"
    return f"Funnel drop-off across {sessions} {noun}: {' → '.join(specs)}"[:200]


def funnel_report_id(
    *,
    team_id: str,
    session_ids: Sequence[str],
    specs: Sequence[str],
    focus_area: str | None,
    model: str,
) -> str:
    """The pattern report's id recipe, with the funnel's steps (in order) among its inputs:
    the same sessions through another funnel are another report."""
    steps = hashlib.sha256("\x00".join(specs).encode()).hexdigest()[:16]
    return report_id(
        team_id=team_id,
        session_ids=session_ids,
        focus_area=focus_area,
        prompt_versions={EXPLAIN_PROMPT: explain_prompt_version(), "funnel_steps": steps},
        model=model,
    )


def known_clusters(store: SummaryStore, team_id: str) -> dict[str, KnownCluster]:
    """The team's stored error clusters by fingerprint (none until `recap clusters` ran)."""
    return {
        fingerprint: KnownCluster(cluster_id=cluster.cluster_id, title=cluster.title)
        for cluster in ClusterStore(store).load_clusters(team_id)
        for fingerprint in cluster.fingerprints
    }


async def explain_steps(
    model: ChatModel, analysis: FunnelAnalysis, timelines: Mapping[str, Timeline]
) -> tuple[list[FunnelExplanation], StepUsage]:
    """One model call (and at most one corrected retry) per step with a significant
    factor; each answer gated against the analysis and the stored timelines."""
    explanations: list[FunnelExplanation] = []
    usage = StepUsage()
    for contrast in analysis.contrasts:
        if not contrast.significant:
            continue
        step = contrast.split.step
        answer, spent = await ask(
            model,
            explain_messages(analysis, step, timelines),
            schema_name=EXPLAIN_PROMPT,
            schema=explain_schema(contrast),
            parse=parse_explanation,
        )
        usage = usage + spent
        explanations.append(gate_explanation(answer, analysis, step, timelines))
    return explanations, usage


async def make_funnel_report(
    store: SummaryStore, model: ChatModel, request: FunnelReportRequest, *, configured_model: str
) -> PatternReport:
    """Analyze, explain, gate, build and store the funnel report; returns it."""
    steps = parse_steps(request.steps)
    loaded = await asyncio.to_thread(
        load_sessions,
        store,
        team_id=request.team_id,
        session_ids=[s for s in request.session_ids if s not in request.failed],
        focus_area=request.focus_area,
    )
    sessions = [
        FunnelSession(
            timeline=loaded.timelines[each.session_id],
            outcome=each.success,
            metadata=request.metadata.get(each.session_id, SessionMetadata()),
        )
        for each in loaded.sessions
    ]
    clusters = await asyncio.to_thread(known_clusters, store, request.team_id)
    analysis = analyze_funnel(sessions, steps, clusters=clusters)
    explanations, usage = await explain_steps(model, analysis, loaded.timelines)
    used_model = usage.model or configured_model
    reported = [session.session_id for session in sessions]
    outcomes = {each.session_id: each.success for each in loaded.sessions}
    patterns, funnel, gate = build_funnel(analysis, explanations, loaded.timelines, outcomes)
    not_reported: list[SessionNotReported] = [
        not_summarized(session_id, *request.failed[session_id])
        for session_id in dict.fromkeys(request.requested)
        if session_id in request.failed
    ]
    report = PatternReport(
        report_id=funnel_report_id(
            team_id=request.team_id,
            session_ids=reported,
            specs=request.steps,
            focus_area=request.focus_area,
            model=used_model,
        ),
        team_id=request.team_id,
        title=funnel_title(len(reported), request.steps),
        created_at=request.created_at,
        inputs=ReportInputs(
            session_ids=list(dict.fromkeys(request.requested)),
            focus_area=request.focus_area,
            selection=request.selection,
            model=used_model,
            prompt_versions={EXPLAIN_PROMPT: explain_prompt_version()},
        ),
        sessions_reported=len(reported),
        sessions_failed=sum(not success for success in outcomes.values()),
        not_reported=[*not_reported, *loaded.missing],
        patterns=patterns,
        gate=gate,
        run=ReportRun(
            explain_calls=usage.calls,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            latency_ms=usage.latency_ms,
        ),
        funnel=funnel,
    )
    await asyncio.to_thread(ReportStore(store).save_report, report)
    return report


def build_funnel(
    analysis: FunnelAnalysis,
    explanations: Sequence[FunnelExplanation],
    timelines: Mapping[str, Timeline],
    outcomes: Mapping[str, bool],
) -> tuple[list[Pattern], FunnelSection, ReportGate]:
    """The report's patterns (one per significant factor), its funnel section and what
    the gate dropped. Numbers from the analysis; words from kept claims only."""
    claims = {claim.factor_id: claim for each in explanations for claim in each.claims}
    significant = [factor for contrast in analysis.contrasts for factor in contrast.significant]
    built = [
        _pattern(factor, claims.get(factor.factor_id), analysis, timelines, outcomes)
        for factor in significant
    ]
    order = sorted(
        range(len(built)),
        key=lambda i: (_SEVERITY_RANK[built[i].severity], -built[i].stats.sessions_affected, i),
    )
    patterns: list[Pattern] = []
    pattern_of: dict[str, str] = {}
    for number, index in enumerate(order, start=1):
        pattern = built[index].model_copy(update={"pattern_id": f"p{number}"})
        patterns.append(pattern)
        pattern_of[significant[index].factor_id] = pattern.pattern_id
    steps = [FunnelStepCounts(step=1, spec=analysis.steps[0].spec, reached=analysis.reached[0])] + [
        FunnelStepCounts(
            step=contrast.split.step,
            spec=contrast.split.spec,
            reached=analysis.reached[contrast.split.step - 1],
            went_on=contrast.split.went_on,
            stopped=contrast.split.stopped,
            unknown=contrast.split.unknown,
        )
        for contrast in analysis.contrasts
    ]
    factors = [
        FunnelFactor(
            factor_id=factor.factor_id,
            step=factor.step,
            manifestations=[feature.label for feature in factor.features],
            stopped_with=factor.stopped_with,
            stopped_total=factor.stopped_total,
            went_on_with=factor.went_on_with,
            went_on_total=factor.went_on_total,
            stopped_rate=factor.stopped_rate,
            went_on_rate=factor.went_on_rate,
            p_value=factor.p_value,
            adjusted_p=factor.adjusted_p,
            pattern_id=pattern_of.get(factor.factor_id),
            cluster_ids=[f.cluster_id for f in factor.features if f.cluster_id is not None],
            went_on_examples=contrast_examples(
                factor, claims.get(factor.factor_id), timelines, outcomes
            )[:CONTRAST_EXAMPLES],
        )
        for factor in significant
    ]
    next_places = [
        FunnelNextPlace(
            step=contrast.split.step, kind=place.kind, label=place.label, sessions=place.sessions
        )
        for contrast in analysis.contrasts
        for place in [*contrast.next_pages, *contrast.next_actions]
    ]
    gate = ReportGate()
    for explanation in explanations:
        for dropped in explanation.dropped:
            if dropped.session_id is None:
                gate.dropped_patterns.append(
                    DroppedPattern(name=dropped.factor_id, reason=dropped.reason)
                )
            else:
                gate.dropped_examples.append(
                    DroppedExample(
                        pattern=dropped.factor_id,
                        session_id=dropped.session_id,
                        ref=dropped.ref,
                        reason=dropped.reason,
                    )
                )
    section = FunnelSection(
        steps=steps,
        factors=factors,
        next_places=next_places,
        overviews={each.step: each.overview for each in explanations if each.overview},
        alpha=analysis.alpha,
        sessions_without_summary=analysis.sessions_without_summary,
    )
    return patterns, section, gate


_SEVERITY_RANK: Final = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _code_description(factor: Factor, analysis: FunnelAnalysis) -> str:
    spec = analysis.steps[factor.step - 1].spec
    return (
        f"{factor.stopped_with} of {factor.stopped_total} sessions that stopped before step"
        f" {factor.step} ({spec}) show it, against {factor.went_on_with} of"
        f" {factor.went_on_total} that went on (corrected p {factor.adjusted_p:.2g})."
    )


def _pattern(
    factor: Factor,
    claim: ExplainedFactor | None,
    analysis: FunnelAnalysis,
    timelines: Mapping[str, Timeline],
    outcomes: Mapping[str, bool],
) -> Pattern:
    """One significant factor as a pattern: the kept claim's stopped-group examples, or
    (no claim kept) code's own examples of the factor among those who stopped."""
    cited = claim.examples if claim is not None else factor.examples
    description = claim.explanation if claim is not None else _code_description(factor, analysis)
    examples = _shown(
        [e for e in cited if e.group == "stopped" and e.has_factor],
        f"shows {factor.features[0].label}",
        timelines,
        outcomes,
    )
    examples = sorted(examples, key=lambda e: e.timestamp or "")[:EXAMPLES_PER_PATTERN]
    contrast = analysis.contrast(factor.step)
    stopped = set(contrast.split.stopped_ids) if contrast is not None else set()
    affected = [s for s in factor.session_ids if s in stopped]
    moments = [
        _moment(start + e.t_ms)
        for e in examples
        if (start := timelines[e.session_id].session.start_timestamp_ms) is not None
    ]
    return Pattern(
        pattern_id="",
        name=factor.features[0].label,
        description=description,
        severity=severity(factor),
        indicators=[feature.label for feature in factor.features[1:]],
        stats=PatternStats(
            sessions_affected=len(affected),
            sessions_affected_ratio=len(affected) / factor.stopped_total
            if factor.stopped_total
            else 0.0,
            occurrences=len(affected),
            sessions_failed=sum(outcomes.get(s) is False for s in affected),
            first_seen=min(moments) if moments else None,
            last_seen=max(moments) if moments else None,
            single_session=len(affected) == 1,
        ),
        examples=examples,
    )


def contrast_examples(
    factor: Factor,
    claim: ExplainedFactor | None,
    timelines: Mapping[str, Timeline],
    outcomes: Mapping[str, bool],
) -> list[PatternExample]:
    """Sessions that went on past the factor's step, shown against those who stopped: the
    kept claim's (the model's, or code's when it cited none), else code's own."""
    cited = claim.examples if claim is not None else factor.examples
    went_on = [example for example in cited if example.group == "went_on"]
    label = factor.features[0].label
    return _shown(
        [e for e in went_on if e.has_factor],
        f"went on to step {factor.step} despite {label}",
        timelines,
        outcomes,
    ) + _shown(
        [e for e in went_on if not e.has_factor],
        f"went on to step {factor.step} without {label}",
        timelines,
        outcomes,
    )


def _shown(
    cited: Sequence[FactorExample],
    description: str,
    timelines: Mapping[str, Timeline],
    outcomes: Mapping[str, bool],
) -> list[PatternExample]:
    """Examples as a report shows them, one per session, facts copied from the timelines;
    an example whose session or ref is not stored is left out."""
    examples: list[PatternExample] = []
    seen: set[str] = set()
    for example in cited:
        timeline = timelines.get(example.session_id)
        if timeline is None or example.ref is None or example.session_id in seen:
            continue
        event = timeline.event(example.ref)
        if event is None:
            continue
        seen.add(example.session_id)
        start = timeline.session.start_timestamp_ms
        examples.append(
            PatternExample(
                session_id=example.session_id,
                ref=event.ref,
                t_ms=event.t_ms,
                timestamp=_moment(start + event.t_ms).isoformat() if start is not None else None,
                url=event.url,
                kind=event.kind.value,
                target=event.target,
                description=description,
                session_failed=(
                    not outcomes[example.session_id] if example.session_id in outcomes else None
                ),
            )
        )
    return examples


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
