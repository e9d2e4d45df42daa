"""Resource exhaustion by a read key (issue 16, finding 8): a similar-sessions request reads
the team's precomputed documents, not every stored timeline; looking up an unknown id in a
files source does not rescan the directory; a PostHog listing makes at most `max_calls`
requests and says when it stopped there.

Nothing is mocked: SQL statements are counted on the store's real engine, peeks at files
through the real function, and listing requests at a loopback PostHog.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import event

import recap.sources.files as files_module
from recap.clustering import extract_errors
from recap.core.config import TimelineConfig
from recap.demo.generator import generate_session, write_sample_sessions
from recap.recording.models import RecordingNotFound
from recap.services.clusters import extract_session_errors
from recap.services.similar import (
    SimilarSession,
    UnknownSession,
    session_document,
    similar_in_team,
    similar_sessions,
)
from recap.services.summary import compile_session, store_summary
from recap.sources.files import DirectorySource
from recap.sources.posthog import PostHogClient, PostHogConfig
from recap.store.clusters import ClusterStore
from recap.store.repository import SummaryStore
from recap.store.session_documents import SessionDocuments
from recap.store.session_index import SessionIndex
from tests.support.posthog_double import PostHogDouble, posthog_double, served_from_document
from tests.support.store_samples import summary

pytest_plugins = ["tests.support.postgres"]

TEAM = "team-a"
MAX_TOKENS = 20_000
# A statement that reads a timeline's content selects the `timelines.timeline` column.
_READS_TIMELINE = re.compile(r"\btimelines\.timeline\b")
_TOUCHES_TIMELINES = re.compile(r"\btimelines\b")


# -- similar sessions ----------------------------------------------------------------------


@dataclass
class Statements:
    """The SQL statements the store's engine ran while `watching`, across threads."""

    seen: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timeline_reads(self) -> int:
        return sum(1 for sql in self.seen if _READS_TIMELINE.search(sql))

    def touching_timelines(self) -> int:
        return sum(1 for sql in self.seen if _TOUCHES_TIMELINES.search(sql))


@contextmanager
def watching(store: SummaryStore) -> Iterator[Statements]:
    statements = Statements()

    def record(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        with statements.lock:
            statements.seen.append(sql)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> tuple[DirectorySource, list[str]]:
    """30 generated sessions: checkout failures (with errors), sign-ups and wanderers."""
    directory = tmp_path_factory.mktemp("similar-recordings")
    ids: list[str] = []
    for seed in range(7100, 7110):
        ids.extend(sample.session_id for sample in write_sample_sessions(directory, seed=seed))
    return DirectorySource(directory), ids


def _store(database_url: str) -> SummaryStore:
    store = SummaryStore(database_url)
    store.migrate()
    return store


_TITLES = ("Checkout fails at payment", "Signs up and verifies email", "Browses without buying")


def _title(n: int) -> str:
    """Titles that share words by scenario and differ by session, so scores spread out."""
    return f"{_TITLES[n % 3]} in visit {n * 7} of cohort {n % 5}{n % 5}"


def _summarize(store: SummaryStore, session_id: str, timeline_hash: str, n: int) -> None:
    store_summary(
        team_id=TEAM,
        summary=summary(_title(n), session_id=session_id, timeline_hash=timeline_hash),
        store=store,
    )


def _store_sessions_through_the_pipeline(
    store: SummaryStore, source: DirectorySource, ids: list[str]
) -> None:
    """As the worker does: compile, store the summary, extract errors for clustering."""
    for n, session_id in enumerate(ids):
        compiled = compile_session(
            team_id=TEAM, session_id=session_id, source=source, store=store, max_tokens=MAX_TOKENS
        )
        if n % 4 != 3:  # some sessions are never summarized, only clustered
            _summarize(store, session_id, compiled.timeline_hash, n)
        extract_session_errors(
            team_id=TEAM,
            session_id=session_id,
            focus_area=None,
            run_id="run-1",
            store=store,
            clusters=ClusterStore(store),
            open_source=lambda: source,
            max_tokens=MAX_TOKENS,
            config=TimelineConfig(),
        )


def _store_sessions_directly(store: SummaryStore, source: DirectorySource, ids: list[str]) -> None:
    """As a database from before the similar-sessions index holds them: rows written by the
    store alone, no document for any session."""
    clusters = ClusterStore(store)
    for n, session_id in enumerate(ids):
        compiled = compile_session(
            team_id=TEAM, session_id=session_id, source=source, store=store, max_tokens=MAX_TOKENS
        )
        if n % 4 != 3:
            store.save_summary(
                team_id=TEAM,
                summary=summary(
                    _title(n), session_id=session_id, timeline_hash=compiled.timeline_hash
                ),
            )
        stored = store.load_timeline(compiled.timeline_hash)
        assert stored is not None
        clusters.save_occurrences(
            TEAM, "run-0", extract_errors(stored.timeline, failed_outcome=None)
        )
    # compile_session writes a document as it stores the timeline; before the index there
    # was none.
    SessionDocuments(store).delete(TEAM)


def _full_scan_ranking(
    store: SummaryStore, session_id: str, top_n: int = 5
) -> list[SimilarSession]:
    """The ranking as it was computed before the index: every stored session's document
    built from its summary, timeline and errors at request time."""
    index = SessionIndex(store)
    summaries = index.summaries(TEAM)
    fingerprints: dict[str, list[str]] = {}
    for occurrence in ClusterStore(store).load_occurrences(TEAM):
        fingerprints.setdefault(occurrence.session_id, []).append(occurrence.fingerprint)
    documents = {}
    for each in index.session_ids(TEAM):
        stored = index.latest_timeline(TEAM, each, summaries.get(each))
        documents[each] = session_document(
            summaries.get(each), stored.timeline if stored else None, fingerprints.get(each, [])
        )
    return similar_sessions(session_id, documents, top_n=top_n)


def test_a_similar_sessions_request_reads_no_stored_timeline(
    database_url: str, recordings: tuple[DirectorySource, list[str]]
) -> None:
    source, ids = recordings
    store = _store(database_url)
    _store_sessions_through_the_pipeline(store, source, ids)
    target = ids[0]  # a checkout failure: its errors and flags match the other failures
    expected = _full_scan_ranking(store, target, top_n=12)
    assert len(expected) == 12 and len({match.score for match in expected}) > 3

    with watching(store) as first:
        matches, summaries = similar_in_team(store, TEAM, target, top_n=12)
    with watching(store) as later:
        for session_id in ids[:10]:
            similar_in_team(store, TEAM, session_id)

    assert matches == expected
    assert {match.session_id for match in matches if match.session_id in summaries} == {
        match.session_id for match in matches if ids.index(match.session_id) % 4 != 3
    }
    # The documents were written as the sessions were stored: asking reads none of the
    # 30 timelines (it read all 30 per request before), and once this process has checked
    # the team for sessions without a document, it no longer touches the table at all.
    assert first.timeline_reads() == 0, first.seen
    assert later.touching_timelines() == 0, later.seen
    assert len(later.seen) <= 10 * 3


def test_a_new_summary_refreshes_the_index(
    tmp_path: Path, recordings: tuple[DirectorySource, list[str]]
) -> None:
    source, ids = recordings
    store = _store(f"sqlite:///{tmp_path / 'recap.db'}")
    _store_sessions_through_the_pipeline(store, source, ids[:-3])
    similar_in_team(store, TEAM, ids[0])
    for n, session_id in enumerate(ids[-3:], start=len(ids) - 3):
        compiled = compile_session(
            team_id=TEAM, session_id=session_id, source=source, store=store, max_tokens=MAX_TOKENS
        )
        _summarize(store, session_id, compiled.timeline_hash, n)
    # A re-summary of an indexed session replaces its document too.
    stored = store.get_summary(team_id=TEAM, session_id=ids[1])
    assert stored is not None and stored.summary is not None
    _summarize(store, ids[1], stored.summary.run.timeline_hash, 0)

    targets = (ids[0], ids[1], ids[-1])
    expected = [_full_scan_ranking(store, target) for target in targets]
    with watching(store) as asked:
        answers = [similar_in_team(store, TEAM, target)[0] for target in targets]
    assert answers == expected
    assert asked.timeline_reads() == 0, asked.seen


def test_sessions_stored_before_the_index_are_indexed_once(
    database_url: str, recordings: tuple[DirectorySource, list[str]]
) -> None:
    source, ids = recordings
    store = _store(database_url)
    _store_sessions_directly(store, source, ids)
    expected = {target: _full_scan_ranking(store, target) for target in ids[:4]}

    # Concurrent first requests wait for one backfill instead of each reading everything.
    with watching(store) as first, ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda target: similar_in_team(store, TEAM, target), ids[:4]))
    with watching(store) as later:
        again = [similar_in_team(store, TEAM, target) for target in ids[:4]]

    assert [matches for matches, _ in answers] == [expected[target] for target in ids[:4]]
    assert [matches for matches, _ in again] == [expected[target] for target in ids[:4]]
    assert first.timeline_reads() == len(ids), "each stored timeline is read once"
    assert later.touching_timelines() == 0, later.seen


def test_an_unknown_session_reads_no_timeline_and_a_late_one_is_found(
    tmp_path: Path, recordings: tuple[DirectorySource, list[str]]
) -> None:
    source, ids = recordings
    store = _store(f"sqlite:///{tmp_path / 'recap.db'}")
    _store_sessions_through_the_pipeline(store, source, ids[:-1])
    similar_in_team(store, TEAM, ids[0])

    with watching(store) as unknown:
        for n in range(20):
            with pytest.raises(UnknownSession):
                similar_in_team(store, TEAM, f"never-seen-{n}")
    assert unknown.timeline_reads() == 0, unknown.seen

    # A timeline compiled whose summary never came (the model failed): indexed as it was
    # compiled, so found when asked, and ranked against by the others, without a read.
    late = ids[-1]
    compile_session(
        team_id=TEAM, session_id=late, source=source, store=store, max_tokens=MAX_TOKENS
    )
    with watching(store) as asked:
        matches, _ = similar_in_team(store, TEAM, late)
        others, _ = similar_in_team(store, TEAM, ids[0], top_n=len(ids))
    assert matches == _full_scan_ranking(store, late)
    assert others == _full_scan_ranking(store, ids[0], top_n=len(ids))
    assert late in {match.session_id for match in others}
    assert asked.timeline_reads() == 0


# -- the files source ----------------------------------------------------------------------


@pytest.fixture
def counted_peeks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file the source opens to read the id it declares (the real function runs)."""
    peeked: list[Path] = []
    lock = threading.Lock()
    real: Callable[[Path], str | None] = files_module.peek_session_id

    def counting(path: Path) -> str | None:
        with lock:
            peeked.append(path)
        return real(path)

    monkeypatch.setattr(files_module, "peek_session_id", counting)
    return peeked


def _export(session_id: str) -> str:
    return json.dumps({"version": "2023-04-28", "data": {"id": session_id, "snapshots": []}})


def _backdate(directory: Path, seconds: float = 3600) -> None:
    """Files and directory as a deployment has them: written a while ago."""
    then = time.time_ns() - int(seconds * 1e9)
    for path in directory.iterdir():
        os.utime(path, ns=(then, then))
    os.utime(directory, ns=(then, then))


def test_unknown_ids_do_not_rescan_an_unchanged_directory(
    tmp_path: Path, counted_peeks: list[Path]
) -> None:
    for n in range(200):
        (tmp_path / f"download-{n:03d}.json").write_text(_export(f"declared-{n:03d}"))
    _backdate(tmp_path)
    source = DirectorySource(tmp_path)
    assert source.path_of("declared-007").name == "download-007.json"
    assert len(counted_peeks) == 200  # the index: each file peeked once

    def ask(n: int) -> None:
        with pytest.raises(RecordingNotFound, match=f"recording unknown-{n} not found"):
            source.path_of(f"unknown-{n}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(ask, range(50)))
    assert len(counted_peeks) == 200, "an unknown id rescanned the directory"
    # Lookups by the declared id and by file name still work, from the same index.
    assert source.path_of("declared-199").name == "download-199.json"
    assert source.path_of("download-042").name == "download-042.json"
    assert len(counted_peeks) == 200

    # A new file changes the directory: the next lookup rebuilds the index once.
    (tmp_path / "late.json").write_text(_export("declared-late"))
    _backdate(tmp_path, seconds=1800)
    assert source.path_of("declared-late").name == "late.json"
    assert len(counted_peeks) == 200 + 201


def test_a_file_added_within_the_directory_clock_tick_is_still_found(tmp_path: Path) -> None:
    (tmp_path / "first.json").write_text(_export("declared-first"))
    source = DirectorySource(tmp_path)
    assert source.list_sessions() == ["declared-first"]
    stamp = tmp_path.stat().st_mtime_ns
    (tmp_path / "second.json").write_text(_export("declared-second"))
    # A coarse filesystem clock leaves the directory's stamp as it was.
    os.utime(tmp_path, ns=(stamp, stamp))
    assert source.path_of("declared-second").name == "second.json"


# -- the PostHog listing -------------------------------------------------------------------


@pytest.fixture
def double() -> Iterator[PostHogDouble]:
    with posthog_double() as server:
        yield server


def _serve_recordings(double: PostHogDouble, count: int) -> None:
    scenarios = ("checkout_failure", "signup_success", "wanderer")
    for n in range(count):
        doc = generate_session(scenarios[n % 3], seed=n, start_ms=1_763_800_000_000 + n * 3_600_000)
        double.add(served_from_document(doc, doc["data"]["id"]))


def _client(double: PostHogDouble) -> PostHogClient:
    config = PostHogConfig(
        host=double.base_url,
        project_id=double.project_id,
        api_key=SecretStr(double.api_key),
        page_size=5,
    )
    return PostHogClient(config)


def _listing_requests(double: PostHogDouble) -> int:
    return len([r for r in double.requests if r.path.endswith("/session_recordings/")])


async def test_a_listing_stops_after_max_calls_and_says_so(double: PostHogDouble) -> None:
    _serve_recordings(double, 30)
    async with _client(double) as client:
        listing = client.list_recordings(max_calls=2)
        bounded = [r.id async for r in listing]
    assert _listing_requests(double) == 2
    assert len(bounded) == 10
    assert listing.calls == 2 and listing.cut_short

    double.requests.clear()
    async with _client(double) as client:
        listing = client.list_recordings(max_calls=50)
        everything = [r.id async for r in listing]
    assert len(everything) == 30 and everything[:10] == bounded
    assert listing.calls == _listing_requests(double) == 6 and not listing.cut_short

    # Reaching the limit within the calls allowed is not cut short.
    async with _client(double) as client:
        listing = client.list_recordings(limit=10, max_calls=2)
        assert len([r async for r in listing]) == 10
    assert not listing.cut_short


async def test_a_teams_listing_is_read_once_per_ttl_and_in_bounded_calls(
    double: PostHogDouble, tmp_path: Path
) -> None:
    """The API's listing (RecordingCatalog, as the app builds it): paging through a team's
    recordings costs PostHog one bounded scan per RECAP_API_LIST_CACHE_SECONDS, not up to
    100 calls per request."""
    from recap.api.catalog import RecordingCatalog
    from recap.core.config import Settings
    from recap.services.bootstrap import team_store
    from recap.store.secrets import SecretBox

    _serve_recordings(double, 30)
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'recap.db'}",
        secret_key=SecretStr(SecretBox.generate()),
        source_teams="",
        posthog_page_size=5,
        api_list_max_source_calls=3,
        api_list_cache_seconds=30,
    )
    teams = team_store(settings)
    teams.create("t1")
    teams.set_posthog_source(
        "t1", host=double.base_url, project_id=double.project_id, api_key=double.api_key
    )
    now = [1000.0]
    catalog = RecordingCatalog(
        settings, _store(settings.resolved_database_url), clock=lambda: now[0]
    )

    pages = [
        await catalog.listing("t1", limit=5, offset=offset, has_summary=None, success=None)
        for offset in (0, 5, 10, 0)
    ]
    # One scan of at most 3 calls (15 of the 30 recordings) served all four pages.
    assert _listing_requests(double) == 3
    assert [page.count for page in pages] == [15] * 4
    assert len({item.id for page in pages[:3] for item in page.results}) == 15
    now[0] += 31  # the listing went stale: the next request reads the source again
    await catalog.listing("t1", limit=5, offset=0, has_summary=None, success=None)
    assert _listing_requests(double) == 6
