"""`recap summarize` as operators run it: a process against the dev server and a worker.
A session already summarized by this prompt version is shown from the store; `--force`
summarizes it again."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.support.api_stack import ApiStack, api_stack

__all__ = ["api_stack"]

ROOT = Path(__file__).resolve().parents[2]


async def _summarize(stack: ApiStack, *arguments: str) -> tuple[int, Any]:
    env = {
        **os.environ,
        "RECAP_TEMPORAL_ADDRESS": stack.settings.temporal_address,
        "RECAP_TASK_QUEUE": stack.settings.task_queue,
        "RECAP_LLM_TASK_QUEUE": stack.settings.llm_task_queue,
        "RECAP_TEAM_ID": "team-cli",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "recap.cli",
        "summarize",
        *arguments,
        "--source",
        stack.settings.source,
        "--json",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), 180)
    return process.returncode or 0, json.loads(stdout)


async def test_summarize_reuses_the_stored_summary_unless_forced(api_stack: ApiStack) -> None:
    session_id = api_stack.session_ids[2]

    def calls() -> int:
        return len(api_stack.model.requests)

    before = calls()
    code, first = await _summarize(api_stack, session_id)
    after_first = calls()
    again_code, again = await _summarize(api_stack, session_id)
    after_again = calls()
    forced_code, forced = await _summarize(api_stack, session_id, "--force")
    after_forced = calls()
    assert (code, again_code, forced_code) == (0, 0, 0)
    assert after_first == before + 1  # summarized through the model
    assert after_again == after_first  # shown from the store: no workflow, no model call
    assert after_forced == after_again + 1  # --force summarizes again
    for printed in (first, again, forced):
        (summary,) = printed if isinstance(printed, list) else [printed]
        assert summary["session_id"] == session_id
    assert again == first
    assert forced != first  # a new run: new run metadata and updated_at
