"""The compile a worker pays per session, timed in process after a warm-up.

`benchmarks/timeline.py` reports it beside the whole-process figures at 1 MB: a worker
keeps its interpreter and imports, so what it pays per session is this, not a start-up.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recap.core.config import Settings
from recap.core.heap import freeze_loaded_objects
from recap.services.summary import compile_session
from recap.sources.files import DirectorySource, load_recording_file
from recap.store.repository import SummaryStore
from recap.timeline import budget_timeline, compile_timeline, count_tokens, render_timeline

MB = 1_000_000


def median_seconds(action: Callable[[], object], runs: int) -> tuple[float, list[float]]:
    """Median wall time of `action` over `runs` calls, after one untimed warm-up call."""
    action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def worker_compile(path: Path, session_id: str, runs: int) -> dict[str, Any]:
    """The compile a worker pays per session, in this process after a warm-up: the real
    `compile_session` over a files source and a SQLite store (as the `compile_timeline`
    activity calls it), and the same stages without the store."""
    # afresh, not get_settings(): the benchmark sets the decoded-bytes bound in the environment
    settings = Settings()
    size = path.stat().st_size
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "recordings"
        folder.mkdir()
        shutil.copyfile(path, folder / f"{session_id}.jsonl")
        store = SummaryStore(f"sqlite:///{Path(scratch) / 'recap.db'}")
        store.migrate()
        source = DirectorySource(folder, settings.timeline.max_decoded_bytes)
        # As `worker.py` does once its workers are built: what is loaded by now stays out
        # of the collector's way (without it, a compile here pays for rescanning the
        # benchmark's whole heap, which the worker does not).
        freeze_loaded_objects()

        def whole() -> object:
            return compile_session(
                team_id="bench",
                session_id=session_id,
                source=source,
                store=store,
                max_tokens=settings.timeline_max_tokens,
                config=settings.timeline,
            )

        def stages() -> object:
            recording = load_recording_file(path, session_id, settings.timeline.max_decoded_bytes)
            timeline = compile_timeline(recording, settings.timeline)
            text = render_timeline(budget_timeline(timeline, settings.timeline_max_tokens))
            return count_tokens(text)

        whole_s, whole_runs = median_seconds(whole, runs)
        stages_s, stages_runs = median_seconds(stages, runs)
        store.engine.dispose()
    return {
        "compile_session_s": round(whole_s, 4),
        "mb_s": round(size / MB / whole_s, 2),
        "compile_session_s_runs": [round(t, 4) for t in whole_runs],
        "stages_without_store_s": round(stages_s, 4),
        "stages_mb_s": round(size / MB / stages_s, 2),
        "stages_s_runs": [round(t, 4) for t in stages_runs],
    }
