"""recap's deterministic Temporal workflows."""

from workflows.scheduled_summaries import ScheduledSummariesWorkflow
from workflows.summarize_session import SummarizeSessionWorkflow
from workflows.summarize_sessions import SummarizeSessionsIndividuallyWorkflow

ALL_WORKFLOWS = (
    SummarizeSessionWorkflow,
    SummarizeSessionsIndividuallyWorkflow,
    ScheduledSummariesWorkflow,
)

__all__ = [
    "ALL_WORKFLOWS",
    "ScheduledSummariesWorkflow",
    "SummarizeSessionWorkflow",
    "SummarizeSessionsIndividuallyWorkflow",
]
