"""The funnel analysis on generated shop sessions with planted causes of drop-off.

60 real rrweb recordings, compiled: 40 complete `url:/cart` -> `click:"Checkout"` ->
`url:/order/*/confirmation`; 20 stop at step 2, 14 after `POST /api/cart` answered 500 and
6 on a 375 px phone. Code must find both causes with their exact counts and nothing else
at the corrected level; the explanation gate must keep grounded claims and drop invented
factors, sessions and refs.
"""

from __future__ import annotations

import json
import re
from math import comb
from pathlib import Path

import pytest

from recap.funnels import (
    Factor,
    FunnelAnalysis,
    ModelExplanation,
    analyze_funnel,
)
from recap.funnels.explain import (
    EXPLAIN_PROMPT,
    NOT_FOUND,
    NOT_SIGNIFICANT,
    explain_messages,
    explain_schema,
    gate_explanation,
    parse_explanation,
)
from recap.funnels.models import ModelCitation, ModelClaim
from recap.reports.prompting import load_report_prompt
from recap.timeline.models import Timeline
from tests.support.funnel_fixtures import FunnelCase, funnel_cases, funnel_steps

P_CART_ERROR = comb(20, 14) / comb(60, 14)  # 14 of 20 stopped vs 0 of 40 went on
P_PHONE = comb(20, 6) / comb(60, 6)  # 6 of 20 vs 0 of 40


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> list[FunnelCase]:
    return funnel_cases(Path(tmp_path_factory.mktemp("funnel")))


@pytest.fixture(scope="module")
def analysis(cases: list[FunnelCase]) -> FunnelAnalysis:
    return analyze_funnel([case.session for case in cases], funnel_steps())


@pytest.fixture(scope="module")
def timelines(cases: list[FunnelCase]) -> dict[str, Timeline]:
    return {case.session_id: case.session.timeline for case in cases}


def _ids(cases: list[FunnelCase], label: str) -> set[str]:
    return {case.session_id for case in cases if case.label == label}


def _factor_with(analysis: FunnelAnalysis, key: str) -> Factor:
    contrast = analysis.contrast(2)
    assert contrast is not None
    found = [f for f in contrast.factors if key in {feature.key for feature in f.features}]
    assert len(found) == 1, key
    return found[0]


def test_sessions_split_at_each_step(analysis: FunnelAnalysis, cases: list[FunnelCase]) -> None:
    assert analysis.sessions == 60
    assert analysis.reached == [60, 40, 40]
    second, third = analysis.contrasts
    assert (second.split.reached_previous, second.split.went_on, second.split.stopped) == (
        60,
        40,
        20,
    )
    assert set(second.split.stopped_ids) == _ids(cases, "cart_error") | _ids(cases, "phone")
    assert (third.split.reached_previous, third.split.went_on, third.split.stopped) == (40, 40, 0)
    assert third.factors == []  # nobody stopped, nothing to test
    assert analysis.sessions_without_summary == []


def test_finds_the_cart_error_as_one_factor(
    analysis: FunnelAnalysis, cases: list[FunnelCase]
) -> None:
    factor = _factor_with(analysis, "request:POST /api/cart 500")
    assert (factor.stopped_with, factor.stopped_total) == (14, 20)
    assert (factor.went_on_with, factor.went_on_total) == (0, 40)
    assert factor.stopped_rate == pytest.approx(0.7)
    assert factor.went_on_rate == 0.0
    assert factor.p_value == pytest.approx(P_CART_ERROR, rel=1e-12)
    contrast = analysis.contrast(2)
    assert contrast is not None
    # Holm: the smallest of the step's tests is multiplied by their number
    assert factor.adjusted_p == pytest.approx(P_CART_ERROR * contrast.factors_tested, rel=1e-12)
    assert factor.significant
    assert set(factor.session_ids) == _ids(cases, "cart_error")
    # the failed request, its console error, the banner and the flags: one factor, not five
    kinds = {feature.kind for feature in factor.features}
    assert kinds == {"request", "error", "shown", "signal"}
    keys = {feature.key for feature in factor.features}
    assert {"signal:error_after", "signal:error_shown"} <= keys
    assert factor.features[0].label == "failed request POST /api/cart 500"
    assert any("could not update cart" in feature.label for feature in factor.features)
    assert factor.factor_id == "s2f1"


def test_finds_the_phone_viewport_as_one_factor(
    analysis: FunnelAnalysis, cases: list[FunnelCase]
) -> None:
    factor = _factor_with(analysis, "viewport:viewport ≤ 480 px")
    assert (factor.stopped_with, factor.stopped_total, factor.went_on_with) == (6, 20, 0)
    assert factor.p_value == pytest.approx(P_PHONE, rel=1e-12)
    contrast = analysis.contrast(2)
    assert contrast is not None
    assert factor.adjusted_p == pytest.approx(P_PHONE * (contrast.factors_tested - 1), rel=1e-12)
    assert factor.adjusted_p < 0.05
    assert factor.significant
    assert {feature.key for feature in factor.features} == {
        "device:Mobile",
        "viewport:viewport ≤ 480 px",
    }
    assert set(factor.session_ids) == _ids(cases, "phone")
    assert factor.factor_id == "s2f2"


def test_nothing_else_is_significant(analysis: FunnelAnalysis) -> None:
    contrast = analysis.contrast(2)
    assert contrast is not None
    assert [factor.factor_id for factor in contrast.significant] == ["s2f1", "s2f2"]
    others = [factor for factor in contrast.factors if not factor.significant]
    assert others, "the noise (browsers, systems, a widget error) is tested too"
    assert min(factor.adjusted_p for factor in others) >= 0.05
    # the widget's console error is in both groups: tested, and not a cause
    noise = next(
        f for f in others if any("recommendations" in feature.label for feature in f.features)
    )
    assert (noise.stopped_with, noise.went_on_with) == (3, 6)
    assert contrast.features_tested >= contrast.factors_tested == len(contrast.factors)
    assert contrast.features_seen > contrast.features_tested  # some were too rare to test


def test_where_they_went_next(analysis: FunnelAnalysis) -> None:
    contrast = analysis.contrast(2)
    assert contrast is not None
    assert [(p.label, p.sessions) for p in contrast.next_pages] == [
        ("(none)", 10),
        ("/collections/shoes", 7),
        ("/", 3),
    ]
    assert [(a.label, a.sessions) for a in contrast.next_actions] == [
        ('input select "Quantity"', 14),
        ('click link "Northwind Outfitters"', 3),
        ("(none)", 3),
    ]


def test_examples_come_from_the_timelines(
    analysis: FunnelAnalysis, timelines: dict[str, Timeline]
) -> None:
    for factor in (analysis.factor("s2f1"), analysis.factor("s2f2")):
        assert factor is not None
        groups = {example.group for example in factor.examples}
        assert groups == {"stopped", "went_on"}
        for example in factor.examples:
            assert example.ref is not None
            event = timelines[example.session_id].event(example.ref)
            assert event is not None
            assert (example.t_ms, example.url, example.target) == (
                event.t_ms,
                event.url,
                event.target,
            )
    cart_error = analysis.factor("s2f1")
    assert cart_error is not None
    stopped = [e for e in cart_error.examples if e.group == "stopped"]
    assert all(e.kind == "network_error" and e.target == "POST /api/cart" for e in stopped)


def test_the_analysis_round_trips_as_json(analysis: FunnelAnalysis) -> None:
    again = FunnelAnalysis.model_validate_json(analysis.model_dump_json())
    assert again == analysis
    assert len(analysis.model_dump_json()) < 200_000  # fits a Temporal payload with room


# --- the explanation ---------------------------------------------------------------------

_HEADER = re.compile(r"^## (s\d+f\d+) session (\S+) \((stopped|went on), ")
_LINE = re.compile(r"^(e\d+) ")


def _double(user_prompt: str) -> ModelExplanation:
    """A model that reads the prompt: for each factor, one line of its first stopped and
    first went-on example (the failed request where one is shown); and a factor of its own."""
    cited: dict[str, dict[str, tuple[str, str]]] = {}
    block: tuple[str, str, str] | None = None
    for line in user_prompt.splitlines():
        if header := _HEADER.match(line):
            block = (header.group(1), header.group(2), header.group(3))
        elif (found := _LINE.match(line)) and block is not None:
            factor_id, session_id, group = block
            chosen = cited.setdefault(factor_id, {})
            first_line = group not in chosen
            if first_line or ("500" in line and chosen[group][0] == session_id):
                chosen[group] = (session_id, found.group(1))
    claims = [
        {
            "factor_id": factor_id,
            "explanation": "What these users ran into stopped them on the cart page.",
            "examples": [{"session_id": s, "ref": r} for s, r in groups.values()],
        }
        for factor_id, groups in cited.items()
    ]
    claims.append(
        {
            "factor_id": "s2f99",
            "explanation": "The shipping costs shown in the cart scare users away.",
            "examples": claims[0]["examples"],
        }
    )
    return parse_explanation(json.dumps({"overview": "Two causes.", "claims": claims}))


def test_the_prompt_carries_codes_factors_and_timeline_lines(
    analysis: FunnelAnalysis, timelines: dict[str, Timeline]
) -> None:
    system, user = explain_messages(analysis, 2, timelines)
    assert system["role"] == "system"
    text = user["content"]
    assert "of 60 sessions that reached step 1,\n40 went on and 20 stopped" in text
    assert "s2f1: stopped 14 of 20 (70%), went on 0 of 40 (0%)" in text
    assert "s2f2: stopped 6 of 20 (30%), went on 0 of 40 (0%)" in text
    assert "s2f3" not in text  # not significant: not for the model to explain
    assert "network_error POST /api/cart 500" in text
    assert 'click button[checkout] "Checkout"' in text
    schema = explain_schema(analysis.contrasts[0])
    claim = schema["properties"]["claims"]["items"]
    assert claim["properties"]["factor_id"]["enum"] == ["s2f1", "s2f2"]


def test_the_gate_keeps_grounded_claims_and_drops_inventions(
    analysis: FunnelAnalysis, timelines: dict[str, Timeline], cases: list[FunnelCase]
) -> None:
    _, user = explain_messages(analysis, 2, timelines)
    answer = _double(user["content"])
    phone = sorted(_ids(cases, "phone"))
    bad = [
        ModelCitation(session_id="0190ffff-not-in-analysis", ref="e3"),
        ModelCitation(session_id=phone[0], ref="e999"),
    ]
    claims = [
        claim.model_copy(update={"examples": [*bad, *claim.examples]})
        if claim.factor_id == "s2f2"
        else claim
        for claim in answer.claims
    ]
    claims += [
        ModelClaim(factor_id="s2f3", explanation="Android users leave.", examples=bad),
        ModelClaim(factor_id="s2f1", explanation="Said twice.", examples=answer.claims[0].examples),
    ]
    extra = answer.model_copy(update={"claims": claims})
    gated = gate_explanation(extra, analysis, 2, timelines)
    kept = {claim.factor_id: claim for claim in gated.claims}
    assert list(kept) == ["s2f1", "s2f2"]
    cart_error = kept["s2f1"]
    assert cart_error.cites_both_groups
    assert (cart_error.stopped_with, cart_error.stopped_total, cart_error.went_on_with) == (
        14,
        20,
        0,
    )
    for example in cart_error.examples:
        assert example.ref is not None
        event = timelines[example.session_id].event(example.ref)
        assert event is not None
        assert (example.t_ms, example.url, example.target) == (event.t_ms, event.url, event.target)
    stopped = [e for e in cart_error.examples if e.group == "stopped"]
    assert stopped and all(e.session_id in _ids(cases, "cart_error") for e in stopped)
    reasons = {(d.factor_id, d.session_id, d.ref): d.reason for d in gated.dropped}
    assert reasons[("s2f99", None, None)] == NOT_FOUND
    assert reasons[("s2f3", None, None)] == NOT_SIGNIFICANT
    assert reasons[("s2f2", "0190ffff-not-in-analysis", "e3")] == "session not in the analysis"
    assert reasons[("s2f2", phone[0], "e999")] == "e999 is not in the session's timeline"
    assert reasons[("s2f1", None, None)] == "factor already explained by an earlier claim"
    assert len(gated.dropped) == 5
    phone_claim = kept["s2f2"]
    assert {e.session_id for e in phone_claim.examples if e.group == "stopped"} <= set(phone)
    assert all(e.session_id in timelines for c in gated.claims for e in c.examples)


def test_a_claim_citing_only_stopped_sessions_gets_codes_went_on_example(
    analysis: FunnelAnalysis, timelines: dict[str, Timeline], cases: list[FunnelCase]
) -> None:
    cart_error = sorted(_ids(cases, "cart_error"))[0]
    ref = timelines[cart_error].events[-1].ref
    answer = ModelExplanation.model_validate(
        {
            "overview": "The cart failed.",
            "claims": [
                {
                    "factor_id": "s2f1",
                    "explanation": "Adding to the cart failed, so they never saw Checkout.",
                    "examples": [{"session_id": cart_error, "ref": ref}],
                }
            ],
        }
    )
    gated = gate_explanation(answer, analysis, 2, timelines)
    (claim,) = gated.claims
    assert claim.cites_both_groups
    stopped, went_on = claim.examples
    assert (stopped.session_id, stopped.ref, stopped.chosen_by) == (cart_error, ref, "model")
    assert (went_on.group, went_on.chosen_by) == ("went_on", "code")
    assert went_on.session_id in _ids(cases, "completed") and not went_on.has_factor
    assert went_on.ref is not None
    event = timelines[went_on.session_id].event(went_on.ref)
    assert event is not None and (went_on.t_ms, went_on.url) == (event.t_ms, event.url)
    code_choice = next(
        e
        for e in _factor_with(analysis, "request:POST /api/cart 500").examples
        if e.group == "went_on"
    )
    assert (went_on.session_id, went_on.ref) == (code_choice.session_id, code_choice.ref)
    assert gated.dropped == []


def test_a_claim_without_a_real_stopped_example_is_dropped(
    analysis: FunnelAnalysis, timelines: dict[str, Timeline], cases: list[FunnelCase]
) -> None:
    went_on = next(case.session_id for case in cases if case.label == "completed")
    cart_error = next(case.session_id for case in cases if case.label == "cart_error")
    answer = ModelExplanation.model_validate(
        {
            "overview": "Phones.",
            "claims": [
                {
                    "factor_id": "s2f2",
                    "explanation": "Phones cannot reach Checkout.",
                    "examples": [
                        {"session_id": cart_error, "ref": "e2"},  # stopped, but not on a phone
                        {"session_id": went_on, "ref": "e2"},
                    ],
                }
            ],
        }
    )
    gated = gate_explanation(answer, analysis, 2, timelines)
    assert gated.claims == []
    assert [d.reason for d in gated.dropped] == [
        "session stopped but does not show the factor",
        "no cited example from the sessions that stopped exists",
    ]


def test_the_prompts_example_output_is_grounded_in_this_fixture(
    analysis: FunnelAnalysis, timelines: dict[str, Timeline]
) -> None:
    example = load_report_prompt(EXPLAIN_PROMPT).example_output
    gated = gate_explanation(parse_explanation(json.dumps(example)), analysis, 2, timelines)
    assert [claim.factor_id for claim in gated.claims] == ["s2f1", "s2f2"]
    assert gated.dropped == []
