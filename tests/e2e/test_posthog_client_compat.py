"""A script written for PostHog's API runs unchanged against recap (issue 17's proof).

`tests.support.posthog_script` is that script: plain httpx, written from PostHog's
documents and server code only. Here it runs against recap's API with the Temporal dev
server and a worker process behind it, and every answer it reads is checked the way the
script's author would rely on it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.support.api_stack import ApiStack, api_stack
from tests.support.posthog_script import KeyPlace, ReplayScript

__all__ = ["api_stack"]


def _script(stack: ApiStack, key_in: KeyPlace = "header", **options: Any) -> ReplayScript:
    return ReplayScript(
        host=stack.url,
        project_id="team-a",
        personal_api_key=stack.tokens["team-a"]["rw"],
        key_in=key_in,
        **options,
    )


async def test_a_posthog_script_summarizes_and_reads_back(api_stack: ApiStack) -> None:
    script = _script(api_stack)
    good = api_stack.session_ids[:2]
    batch = await asyncio.to_thread(
        script.summarize_individually, [*good, "0190ffff-0000-7000-8000-000000000000"]
    )

    for session_id in good:
        summary = batch[session_id]
        # What a PostHog script reads: the outcome, segments and their key actions.
        assert isinstance(summary["session_outcome"]["success"], bool)
        assert summary["session_outcome"]["description"]
        indices = {segment["index"] for segment in summary["segments"]}
        for group in summary["key_actions"]:
            assert group["segment_index"] in indices or not indices
            for event in group["events"]:
                assert event["event_id"] and event["milliseconds_since_start"] >= 0
        for outcome in summary["segment_outcomes"]:
            assert outcome["segment_index"] in indices

        recording = await asyncio.to_thread(script.recording, session_id)
        assert recording["has_summary"] is True
        assert recording["summary_outcome"] == summary["session_outcome"]

        stored = await asyncio.to_thread(script.stored_summary, session_id)
        assert stored is not None
        assert stored["session_id"] == session_id
        assert stored["summary"]["session_outcome"] == summary["session_outcome"]
        assert stored["extra_summary_context"] is None
    missing = batch["0190ffff-0000-7000-8000-000000000000"]
    assert missing["error"] == "recording_not_found" and missing["error_message"]


async def test_the_key_works_from_the_header_the_body_and_the_query(api_stack: ApiStack) -> None:
    session_id = api_stack.session_ids[0]
    for key_in in ("header", "body", "query"):
        for prefix in ("projects", "environments"):
            script = _script(api_stack, key_in, prefix=prefix)
            batch = await asyncio.to_thread(script.summarize_individually, [session_id])
            assert batch[session_id]["session_id"] == session_id, (key_in, prefix)
            recording = await asyncio.to_thread(script.recording, session_id)
            assert recording["id"] == session_id, (key_in, prefix)


async def test_both_ways_of_paging_list_every_recording_once(api_stack: ApiStack) -> None:
    script = _script(api_stack, "query")
    by_has_next = await asyncio.to_thread(script.recordings_by_has_next, 3)
    by_next = await asyncio.to_thread(script.recordings_by_next, 3)

    ids = [recording["id"] for recording in by_has_next]
    assert ids == [recording["id"] for recording in by_next]
    assert len(ids) == len(set(ids))
    assert set(api_stack.session_ids) <= set(ids)
    # A key in the query string is not echoed into the links the script follows.
    token = api_stack.tokens["team-a"]["rw"]
    first = await asyncio.to_thread(
        httpx.get,
        f"{api_stack.url}/api/projects/team-a/session_recordings",
        params={"limit": 1, "personal_api_key": token},
    )
    assert first.json()["next"] and token not in first.json()["next"]
    wanted = api_stack.session_ids[1:3]
    chosen = await asyncio.to_thread(script.recordings_by_has_next, 50, session_ids=wanted)
    assert sorted(recording["id"] for recording in chosen) == sorted(wanted)


async def test_the_summaries_configuration_round_trips(api_stack: ApiStack) -> None:
    script = _script(api_stack, "body")
    before = await asyncio.to_thread(script.summaries_config)
    assert "product_context" in before
    changed = await asyncio.to_thread(
        script.set_product_context, "<product_context>A bakery's online shop</product_context>"
    )
    assert changed["product_context"] == "A bakery's online shop"
    assert (await asyncio.to_thread(script.summaries_config))["product_context"] == (
        "A bakery's online shop"
    )
    await asyncio.to_thread(script.set_product_context, before["product_context"] or "")
