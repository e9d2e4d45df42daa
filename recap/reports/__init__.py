"""Pattern reports across sessions and digests that compare periods (issue 18).

The stages, each a plain function over plain data: `report_session` (a stored summary and
its timeline -> the report's view of it), `map_chunks` / `chunks`, `find_candidate_patterns`
(map), `consolidate_patterns` (reduce), `assign_events`, `build_patterns` (the gate and the
counts, in code), `report_id`, `compare`, `render_markdown`. `find_patterns` runs them in order.

May import: `recap.llm`, `recap.timeline`, `core`; never the store (the services combine
the two) nor Temporal.
"""

from __future__ import annotations

from recap.reports.assign import Assignment, assign_events
from recap.reports.build import build_patterns, report_id, report_title
from recap.reports.compare import compare
from recap.reports.patterns import CandidatePattern, consolidate_patterns, find_candidate_patterns
from recap.reports.pipeline import PatternFindings, assign_chunks, find_patterns, map_chunks
from recap.reports.prompting import StepUsage, prompt_versions, report_run
from recap.reports.render import render_digest_markdown, render_markdown
from recap.reports.sessions import ReportEvent, ReportSession, chunks, report_session

__all__ = [
    "Assignment",
    "CandidatePattern",
    "PatternFindings",
    "ReportEvent",
    "ReportSession",
    "StepUsage",
    "assign_chunks",
    "assign_events",
    "build_patterns",
    "chunks",
    "compare",
    "consolidate_patterns",
    "find_candidate_patterns",
    "find_patterns",
    "map_chunks",
    "prompt_versions",
    "render_digest_markdown",
    "render_markdown",
    "report_id",
    "report_run",
    "report_session",
    "report_title",
]
