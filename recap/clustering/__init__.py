"""Error clustering across sessions: extract errors from timelines, fingerprint them,
group near-duplicates into stable clusters, and name them with the model.

May import: `recap.llm`, `recap.timeline`, `recording`, `core`; never the store (the
services combine the two)."""

from __future__ import annotations

from recap.clustering.cluster import cluster_errors
from recap.clustering.extract import extract_errors
from recap.clustering.fingerprint import fingerprint_key, normalize_message, path_template
from recap.clustering.models import ErrorCluster, ErrorKind, ErrorOccurrence

__all__ = [
    "ErrorCluster",
    "ErrorKind",
    "ErrorOccurrence",
    "cluster_errors",
    "extract_errors",
    "fingerprint_key",
    "normalize_message",
    "path_template",
]
