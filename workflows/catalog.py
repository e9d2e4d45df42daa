"""Every workflow the worker registers, in one tuple (the worker and the tests use it)."""

from __future__ import annotations

from workflows.batch_summaries import SummarizeSessionsIndividuallyWorkflow
from workflows.cluster_errors import ClusterErrorsWorkflow
from workflows.deliver import DeliverWorkflow
from workflows.digest import DigestWorkflow
from workflows.funnel_report import FunnelReportWorkflow
from workflows.pattern_report import PatternReportWorkflow
from workflows.person_journey import PersonJourneyWorkflow
from workflows.scheduled_summaries import ScheduledSummariesWorkflow
from workflows.session_summary import SummarizeSessionWorkflow

ALL_WORKFLOWS = (
    SummarizeSessionWorkflow,
    SummarizeSessionsIndividuallyWorkflow,
    ScheduledSummariesWorkflow,
    ClusterErrorsWorkflow,
    DeliverWorkflow,
    PatternReportWorkflow,
    DigestWorkflow,
    PersonJourneyWorkflow,
    FunnelReportWorkflow,
)

__all__ = [
    "ALL_WORKFLOWS",
    "ClusterErrorsWorkflow",
    "DeliverWorkflow",
    "DigestWorkflow",
    "FunnelReportWorkflow",
    "PatternReportWorkflow",
    "PersonJourneyWorkflow",
    "ScheduledSummariesWorkflow",
    "SummarizeSessionWorkflow",
    "SummarizeSessionsIndividuallyWorkflow",
]
