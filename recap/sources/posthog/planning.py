"""Which snapshot blocks of a recording to fetch, in which requests: PostHog lists the
same events under several source kinds, and recap reads exactly one of them."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from recap.sources.posthog.config import DEFAULT_BLOCKS_PER_REQUEST
from recap.sources.posthog.errors import PostHogBadResponse
from recap.sources.posthog.models import SnapshotSourceRef

_BLOB_V2: Final = "blob_v2"
_BLOB_V2_LTS: Final = "blob_v2_lts"
_BLOB_V1: Final = "blob"


@dataclass(frozen=True, slots=True)
class SnapshotFetch:
    """One snapshot request: its query and how many blocks it covers."""

    params: tuple[tuple[str, str], ...]
    blocks: int
    label: str


def plan_fetches(
    sources: Iterable[SnapshotSourceRef], blocks_per_request: int = DEFAULT_BLOCKS_PER_REQUEST
) -> tuple[str | None, list[SnapshotFetch], list[str]]:
    """Which source kind to read, the requests that read it, and what was left aside.

    The snapshot docs: with any `blob_v2` source, read only those (the others hold the same
    events), as inclusive ranges of at most 20 consecutive block keys; otherwise the
    long-term `blob_v2_lts` blob, else the v1 `blob` sources. `realtime` is never read: it
    only holds what is not stored yet.
    """
    listed = list(sources)
    by_kind: dict[str, list[SnapshotSourceRef]] = {}
    for ref in listed:
        if ref.blob_key:
            by_kind.setdefault(ref.source, []).append(ref)
    if _BLOB_V2 in by_kind:
        chosen, fetches = _BLOB_V2, _block_ranges(by_kind[_BLOB_V2], blocks_per_request)
    elif _BLOB_V2_LTS in by_kind:
        chosen, fetches = _BLOB_V2_LTS, _long_term_blobs(by_kind[_BLOB_V2_LTS])
    elif _BLOB_V1 in by_kind:
        chosen, fetches = _BLOB_V1, _v1_blobs(by_kind[_BLOB_V1])
    else:
        return None, [], sorted({ref.source for ref in listed})
    left_aside = sorted({ref.source for ref in listed if ref.source != chosen})
    return chosen, fetches, left_aside


def _block_ranges(refs: list[SnapshotSourceRef], blocks_per_request: int) -> list[SnapshotFetch]:
    """`blob_v2` blocks as runs of consecutive keys, at most `blocks_per_request` a run."""
    try:
        keys = sorted({int(ref.blob_key or "") for ref in refs})
    except ValueError:
        raise PostHogBadResponse(
            "PostHog listed blob_v2 sources whose blob keys are not block numbers"
        ) from None
    fetches: list[SnapshotFetch] = []
    start = 0
    while start < len(keys):
        end = start
        while (
            end + 1 < len(keys)
            and keys[end + 1] == keys[end] + 1
            and end + 1 - start < blocks_per_request
        ):
            end += 1
        first, last = keys[start], keys[end]
        fetches.append(
            SnapshotFetch(
                params=(
                    ("source", _BLOB_V2),
                    ("start_blob_key", str(first)),
                    ("end_blob_key", str(last)),
                ),
                blocks=last - first + 1,
                label=f"blocks {first}-{last}",
            )
        )
        start = end + 1
    return fetches


def _long_term_blobs(refs: list[SnapshotSourceRef]) -> list[SnapshotFetch]:
    return [
        SnapshotFetch((("source", _BLOB_V2_LTS), ("blob_key", ref.blob_key or "")), 1, "blob")
        for ref in refs
    ]


def _v1_blobs(refs: list[SnapshotSourceRef]) -> list[SnapshotFetch]:
    """v1 blobs one request each, oldest first (undated ones last)."""
    ordered = sorted(
        refs,
        key=lambda ref: ref.start_timestamp.timestamp() if ref.start_timestamp else math.inf,
    )
    return [
        SnapshotFetch(
            (("source", _BLOB_V1), ("blob_key", ref.blob_key or "")), 1, f"blob {ref.blob_key}"
        )
        for ref in ordered
    ]
