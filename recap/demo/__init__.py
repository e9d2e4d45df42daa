"""Sample sessions for `recap demo`, the tests and the benchmarks, recorded the way
posthog-js and rrweb would, with what really happened written down beside them.

`generator` is the simulated browser and the three demo scenarios; `shop` the made-up
shop's pages; `journeys` and `labelled` the visits played through it; `groundtruth` what
the visitor really did; `recordings` and `big` write them in every file shape recap reads;
`facts` prints what a compiled timeline says about a sample; `browser_echoes` adds the
browser's console echo of failed requests to a generated recording. The benchmark's
recording shapes (`shapes`): `big`, `churn` (a live dashboard, pages in `ops`) and
`concatenated` (real recordings joined to a size), written through `streaming`.
May import: `recap.recording`, `recap.timeline`, `recap.llm.schema` (to grade summaries)
and `recap.sources.files` (to read the real recordings `concatenated` joins).
"""

from recap.demo.generator import SCENARIOS, SampleSession, generate_session, write_sample_sessions

__all__ = ["SCENARIOS", "SampleSession", "generate_session", "write_sample_sessions"]
