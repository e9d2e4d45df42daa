"""recap's deterministic Temporal workflows."""

from workflows.summarize_session import SummarizeSessionWorkflow

ALL_WORKFLOWS = (SummarizeSessionWorkflow,)

__all__ = ["ALL_WORKFLOWS", "SummarizeSessionWorkflow"]
