"""What batch and clustering jobs report while they run: plain models shared by the
workflows (which fill them) and the CLI and HTTP API (which show them), free of Temporal."""

from __future__ import annotations

from pydantic import BaseModel


class SessionFailure(BaseModel):
    session_id: str
    error_type: str
    error: str


class BatchProgress(BaseModel):
    status: str
    total: int
    done: int
    summarized: int
    skipped: int
    failed: int
    in_flight: int
    failures: list[SessionFailure]
    # The history length of each earlier run when it continued as new.
    history_lengths: list[int]


class ClusterProgress(BaseModel):
    status: str
    total: int
    done: int
    extracted: int
    failed: int
    in_flight: int
    occurrences: int
    compiled: int
    clusters: int
    to_name: int
    named: int
    naming_failed: int
    cluster_ids: list[str]
    failures: list[SessionFailure]
    # The history length of each earlier run when it continued as new.
    history_lengths: list[int]
