"""Error clustering across sessions: extract errors from timelines, fingerprint them,
group near-duplicates into stable clusters, and find sessions that look alike."""

from __future__ import annotations

from recap.clustering.cluster import cluster_errors
from recap.clustering.extract import extract_errors
from recap.clustering.fingerprint import fingerprint_key, normalize_message, path_template
from recap.clustering.models import ErrorCluster, ErrorKind, ErrorOccurrence
from recap.clustering.similar import SimilarSession, session_document, similar_sessions

__all__ = [
    "ErrorCluster",
    "ErrorKind",
    "ErrorOccurrence",
    "SimilarSession",
    "cluster_errors",
    "extract_errors",
    "fingerprint_key",
    "normalize_message",
    "path_template",
    "session_document",
    "similar_sessions",
]
