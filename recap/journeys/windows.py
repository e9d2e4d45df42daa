"""A journey from start to end: one model call when the person's sessions fit one prompt;
otherwise the sessions in order in windows that fit, each summarized and gated, then their
gated findings combined (in rounds when they do not fit one prompt) with the first and last
sessions' blocks carried verbatim into every combine prompt.

Model-agnostic: the caller passes `ask`; `ChatAsk` is the one over recap's chat model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from recap.journeys.gate import gate_journey
from recap.journeys.models import DroppedJourneyClaim, Journey, JourneyFindings, JourneyRun
from recap.journeys.prompting import (
    PROMPT_NAME,
    Ask,
    JourneyAnswer,
    JourneyPrompt,
    Part,
    T,
    answer_schema,
    combine_prompt,
    first_and_last,
    load_journey_prompt,
    prompt_text,
    sessions_prompt,
    window_overhead,
)
from recap.journeys.sessions import (
    JourneyInput,
    SessionBlock,
    journey_counts,
    ordered,
    session_blocks,
)
from recap.llm.client import ChatModel
from recap.reports.prompting import StepUsage, ask, parse_json
from recap.reports.sessions import CountTokens


def journey_windows(
    blocks: Sequence[SessionBlock],
    *,
    max_tokens: int,
    count_tokens: CountTokens,
    prompt: JourneyPrompt | None = None,
) -> list[list[SessionBlock]]:
    """The blocks in order, split so each window's prompt (system, instructions and its
    blocks) stays within `max_tokens`. A block too big for any window gets one of its own:
    a summary cites a bounded number of events, so only a budget below one block's size
    does that. One window when everything fits."""
    prompt = prompt or load_journey_prompt()
    budget = max_tokens - count_tokens(window_overhead(len(blocks), prompt))
    windows: list[list[SessionBlock]] = []
    current: list[SessionBlock] = []
    used = 0
    for block in blocks:
        # the blank line between blocks is counted with each block
        size = count_tokens(block.text) + 2
        if current and used + size > budget:
            windows.append(current)
            current, used = [], 0
        current.append(block)
        used += size
    if current:
        windows.append(current)
    return windows


@dataclass
class _Counted:
    """`ask`, counting its calls."""

    ask: Ask
    calls: int = 0

    async def answer(self, prompt: str) -> JourneyAnswer:
        self.calls += 1
        return await self.ask(prompt, JourneyAnswer)


async def build_journey(
    inputs: Sequence[JourneyInput],
    *,
    distinct_id: str,
    ask: Ask,
    max_tokens: int,
    count_tokens: CountTokens,
    prompt: JourneyPrompt | None = None,
) -> Journey:
    """The person's gated journey. The sessions, their order, outcomes and counts are
    code's. `ask` is called once when every block fits `max_tokens`; else once per window
    and then to combine: once when the windows' findings fit one combine prompt, in rounds
    of groups that fit otherwise. No session, no call."""
    prompt = prompt or load_journey_prompt()
    items = ordered(inputs)
    blocks = session_blocks(items)
    windows = journey_windows(
        blocks, max_tokens=max_tokens, count_tokens=count_tokens, prompt=prompt
    )
    counted = _Counted(ask)
    findings = JourneyFindings()
    carried: list[str] = []
    if len(windows) == 1:
        user = sessions_prompt(blocks, total=len(blocks), prompt=prompt)
        findings = gate_journey(await counted.answer(user), items)
    elif windows:
        reader = _Combiner(items, blocks, counted, prompt, max_tokens, count_tokens)
        findings = await reader.read(windows)
        carried = list(dict.fromkeys(block.session_id for block in reader.carried))
    sessions = [block.session for block in blocks]
    return Journey(
        distinct_id=distinct_id,
        counts=journey_counts(sessions),
        sessions=sessions,
        findings=findings,
        run=JourneyRun(
            prompt_version=prompt.version,
            calls=counted.calls,
            windows=[[block.session_id for block in window] for window in windows],
            carried=carried,
        ),
    )


class _Combiner:
    """Windows read one by one, then their findings combined with the first and last
    sessions' blocks; all drops of every step are kept."""

    def __init__(
        self,
        items: Sequence[JourneyInput],
        blocks: Sequence[SessionBlock],
        ask: _Counted,
        prompt: JourneyPrompt,
        max_tokens: int,
        count_tokens: CountTokens,
    ) -> None:
        self.by_id = {item.session_id: item for item in items}
        self.blocks = blocks
        self.carried = first_and_last(blocks)
        self.ask = ask
        self.prompt = prompt
        self.max_tokens = max_tokens
        self.count_tokens = count_tokens
        self.dropped: list[DroppedJourneyClaim] = []

    def _gate(self, answer: JourneyAnswer, blocks: Sequence[SessionBlock], step: str) -> Part:
        # a combine prompt shows the carried blocks too, so the model may cite them
        ids = dict.fromkeys(block.session_id for block in [*blocks, *self.carried])
        found = gate_journey(answer, [self.by_id[session_id] for session_id in ids], step=step)
        self.dropped += found.dropped
        return blocks, found

    async def read(self, windows: Sequence[Sequence[SessionBlock]]) -> JourneyFindings:
        parts: list[Part] = []
        for number, window in enumerate(windows, start=1):
            user = sessions_prompt(window, total=len(self.blocks), prompt=self.prompt)
            answer = await self.ask.answer(user)
            ids = [block.session_id for block in window]
            found = gate_journey(answer, [self.by_id[i] for i in ids], step=f"window {number}")
            self.dropped += found.dropped
            parts.append((window, found))
        round_number = 0
        while len(groups := self._groups(parts)) > 1:
            round_number += 1
            merged: list[Part] = []
            for number, group in enumerate(groups, start=1):
                answer = await self.ask.answer(self._prompt(group))
                covered = [block for blocks, _ in group for block in blocks]
                merged.append(self._gate(answer, covered, f"combine {round_number}.{number}"))
            parts = merged
        answer = await self.ask.answer(self._prompt(parts))
        _, found = self._gate(answer, self.blocks, "combine")
        return found.model_copy(update={"dropped": self.dropped})

    def _prompt(self, parts: Sequence[Part]) -> str:
        return combine_prompt(parts, carried=self.carried, prompt=self.prompt)

    def _groups(self, parts: Sequence[Part]) -> list[list[Part]]:
        """Parts in order, grouped so each group's combine prompt fits; a group holds at
        least two parts, so every round shrinks the list (a budget too small for two parts
        gets prompts above it rather than no end)."""

        def tokens(group: Sequence[Part]) -> int:
            return self.count_tokens(prompt_text(self._prompt(group), self.prompt))

        fixed = tokens([])
        budget = self.max_tokens - fixed
        groups: list[list[Part]] = []
        current: list[Part] = []
        used = 0
        for part in parts:
            size = tokens([part]) - fixed + 2
            if len(current) >= 2 and used + size > budget:
                groups.append(current)
                current, used = [], 0
            current.append(part)
            used += size
        if current:
            if len(current) == 1 and groups:
                groups[-1].append(current[0])
            else:
                groups.append(current)
        return groups


@dataclass
class ChatAsk:
    """`Ask` over recap's chat model: the journey's system prompt and the user prompt, the
    answer schema-enforced and parsed, one corrected retry on a malformed answer (as the
    report steps ask). `usage` adds up what the calls cost."""

    model: ChatModel
    schema_limits: bool = False
    prompt: JourneyPrompt = field(default_factory=load_journey_prompt)
    usage: StepUsage = field(default_factory=StepUsage)

    async def __call__(self, prompt: str, schema: type[T], /) -> T:
        sent = [
            {"role": "system", "content": self.prompt.system},
            {"role": "user", "content": prompt},
        ]
        json_schema = (
            answer_schema(limits=self.schema_limits)
            if schema is JourneyAnswer
            else schema.model_json_schema()
        )
        answer, spent = await ask(
            self.model,
            sent,
            schema_name=PROMPT_NAME,
            schema=json_schema,
            parse=lambda content: cast(T, parse_json(content, schema)),
        )
        self.usage = self.usage + spent
        return answer
