"""Benchmark a person's journey and a funnel's explanation: model calls and tokens.

The journey is the 12-session person of the journey tests (`tests.support.journey_fixtures`),
built by `build_journey` through `ChatAsk` at the default window budget
(`RECAP_REPORT_CHUNK_TOKENS`) and at a small one, to show what windowing costs. The funnel
is the planted shop funnel of the funnel tests (`tests.support.funnel_fixtures`) scaled to
500 sessions with the 60-session plant's proportions (2/3 complete; of those who stop at
step 2, 70% hit the cart's 500 and 30% are on a 375 px phone), generated and compiled once,
then analyzed by `analyze_funnel` and explained by the service's `explain_steps`.

The model is a loopback OpenAI-protocol server answering at once from the prompt, the way a
reading model would (the journey double of the tests; for the funnel, each factor's first
stopped and went-on example). Prompt tokens are counted with recap's tokenizer over every
message sent, completion tokens over every answer returned; so the figures measure recap's
prompts, not a model. Prints one JSON object per scenario.

    uv run --extra embedded python benchmarks/journey_funnel.py [--funnel-sessions 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recap.core.config import get_settings
from recap.funnels import analyze_funnel
from recap.journeys import ChatAsk, build_journey
from recap.llm.client import ChatModel
from recap.services.funnels import explain_steps
from recap.timeline import count_tokens
from tests.support.funnel_fixtures import funnel_cases, funnel_labels, funnel_steps
from tests.support.journey_fixtures import (
    DISTINCT_ID,
    JourneyDouble,
    person_sessions,
    shuffled_inputs,
)
from tests.support.model_double import ChatServer, Reply, chat_server, completion_body

SMALL_BUDGET = 1_500
# The 60-session plant: 40 complete, 14 stop after the cart's 500, 6 on a phone.
PLANT = {"completed": 40, "cart_error": 14, "phone": 6}


@dataclass
class CountingModel:
    """Answers each request with `answer(user prompt)` as JSON; counts calls and tokens."""

    answer: Callable[[str], dict[str, Any]]
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, body: dict[str, Any]) -> Reply:
        messages = body.get("messages", [])
        sent = "\n".join(str(m.get("content", "")) for m in messages)
        user = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "user")
        with self._lock:
            content = json.dumps(self.answer(user))
            self.calls += 1
            self.prompt_tokens += count_tokens(sent)
            self.completion_tokens += count_tokens(content)
        return Reply(body=completion_body(content))


def chat_model(chat: ChatServer) -> ChatModel:
    return ChatModel(
        base_url=chat.base_url,
        model="bench-double",
        api_key=None,
        timeout_seconds=30,
        max_output_tokens=4000,
        temperature=0,
    )


async def run_journey(work: Path, max_tokens: int) -> dict[str, Any]:
    person = person_sessions(work / f"journey-{max_tokens}")
    model = CountingModel(JourneyDouble().answer)
    with chat_server() as chat:
        chat.responder = model
        client = chat_model(chat)
        started = time.monotonic()
        journey = await build_journey(
            shuffled_inputs(person),
            distinct_id=DISTINCT_ID,
            ask=ChatAsk(client, schema_limits=get_settings().effective_llm_schema_limits),
            max_tokens=max_tokens,
            count_tokens=count_tokens,
        )
        wall = time.monotonic() - started
        await client.close()
    assert model.calls == journey.run.calls
    return {
        "scenario": "journey",
        "sessions": len(journey.sessions),
        "max_tokens": max_tokens,
        "calls": model.calls,
        "windows": len(journey.run.windows),
        "prompt_tokens": model.prompt_tokens,
        "completion_tokens": model.completion_tokens,
        "wall_seconds": round(wall, 3),
    }


_HEADER = re.compile(r"^## (s\d+f\d+) session (\S+) \((stopped|went on), ")
_LINE = re.compile(r"^(e\d+) ")


def explain_answer(user: str) -> dict[str, Any]:
    """For each factor in the prompt, a claim citing the event each of its first stopped
    and first went-on examples is shown around (the line a reading model would pick)."""
    cited: dict[str, dict[str, tuple[str, str]]] = {}
    block: tuple[str, str, str] | None = None
    for line in user.splitlines():
        if header := _HEADER.match(line):
            block = (header.group(1), header.group(2), header.group(3))
        elif (found := _LINE.match(line)) and block is not None:
            factor_id, session_id, group = block
            cited.setdefault(factor_id, {}).setdefault(group, (session_id, found.group(1)))
    claims = [
        {
            "factor_id": factor_id,
            "explanation": "What these users ran into stopped them on the cart page.",
            "examples": [{"session_id": s, "ref": r} for s, r in groups.values()],
        }
        for factor_id, groups in cited.items()
    ]
    return {"overview": f"{len(claims)} causes.", "claims": claims}


def scaled_plant(sessions: int) -> dict[str, int]:
    """The plant's label counts for `sessions`, in its proportions (rounded; completers
    take the remainder)."""
    total = sum(PLANT.values())
    cart_error = round(sessions * PLANT["cart_error"] / total)
    phone = round(sessions * PLANT["phone"] / total)
    return {"completed": sessions - cart_error - phone, "cart_error": cart_error, "phone": phone}


async def run_funnel(work: Path, sessions: int) -> dict[str, Any]:
    plant = scaled_plant(sessions)
    started = time.monotonic()
    cases = funnel_cases(work / f"funnel-{sessions}", funnel_labels(**plant))
    generated = time.monotonic() - started
    timelines = {case.session_id: case.session.timeline for case in cases}
    model = CountingModel(explain_answer)
    with chat_server() as chat:
        chat.responder = model
        client = chat_model(chat)
        started = time.monotonic()
        analysis = analyze_funnel([case.session for case in cases], funnel_steps())
        analyzed = time.monotonic() - started
        explanations, _ = await explain_steps(client, analysis, timelines)
        explained = time.monotonic() - started - analyzed
        await client.close()
    significant = [f for contrast in analysis.contrasts for f in contrast.significant]
    return {
        "scenario": "funnel",
        "sessions": analysis.sessions,
        "plant": plant,
        "reached": analysis.reached,
        "calls": model.calls,
        "prompt_tokens": model.prompt_tokens,
        "completion_tokens": model.completion_tokens,
        "factors": len(significant),
        "factor_labels": [f.features[0].label for f in significant],
        "claims_kept": sum(len(each.claims) for each in explanations),
        "wall_seconds": round(analyzed + explained, 3),
        "analysis_seconds": round(analyzed, 3),
        "explain_seconds": round(explained, 3),
        "generate_compile_seconds": round(generated, 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--funnel-sessions", type=int, default=500)
    parser.add_argument("--small-budget", type=int, default=SMALL_BUDGET)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="recap-bench-journey-funnel-"))
    for budget in (get_settings().report_chunk_tokens, args.small_budget):
        print(json.dumps(await run_journey(work, budget)), flush=True)
    print(json.dumps(await run_funnel(work, args.funnel_sessions)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
