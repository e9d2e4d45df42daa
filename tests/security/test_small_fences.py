"""Smaller fences (issue 16, finding 10): the SQLite file is private to its owner, a body
that hides its size (chunked) is refused as too large like one that declares it, and
pagination links start with RECAP_API_PUBLIC_URL, not with a Host header the caller sent."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import httpx

from recap.core.config import Settings
from recap.store.clusters import ClusterStore
from recap.store.repository import SummaryStore
from tests.support.api_stack import serve
from tests.support.store_samples import cluster

BATCH = "create_session_summaries_individually"


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "recap.db"
    store = SummaryStore(f"sqlite:///{path}")
    store.migrate()  # writes through WAL: the -wal and -shm files appear too
    for file in [path, *path.parent.glob("recap.db-*")]:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "recap.db"
    path.touch(mode=0o640)
    path.chmod(0o640)
    SummaryStore(f"sqlite:///{path}").migrate()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def _chunks(size: int) -> Iterator[bytes]:
    yield b'{"session_ids": ["'
    for _ in range(size // 8192):
        yield b"a" * 8192
    yield b'"]}'


def test_a_chunked_body_over_the_limit_is_413(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}", api_max_body_bytes=4096)
    with serve(settings) as url:
        target = (
            f"{url}/api/projects/team-a/session_summaries/create_session_summaries_individually/"
        )
        headers = {"Content-Type": "application/json", "Authorization": "Bearer rck_x_y"}
        chunked = httpx.post(target, content=_chunks(64 * 1024), headers=headers)
        declared = httpx.post(target, content=b"".join(_chunks(64 * 1024)), headers=headers)
        small = httpx.post(target, content=_chunks(0), headers=headers)
    assert "content-length" not in chunked.request.headers
    for answer in (chunked, declared):
        assert answer.status_code == 413, answer.text
        assert answer.json()["code"] == "request_too_large"
    assert small.status_code == 401  # within the limit, the body reaches auth as before


def test_pagination_links_ignore_the_callers_host_header(tmp_path: Path) -> None:
    from recap.store.keys import READ_SCOPE, KeyStore
    from recap.store.repository import store_for

    database = f"sqlite:///{tmp_path / 'links.db'}"
    _, token = KeyStore(store_for(database)).create(team_id="team-a", scopes=[READ_SCOPE])
    headers = {"Authorization": f"Bearer {token}", "Host": "evil.example"}
    path = "/api/projects/team-a/session_recordings/error_clusters/?limit=1"
    links = {}
    for public in (None, "https://recap.example.com"):
        settings = Settings(database_url=database, api_public_url=public)
        ClusterStore(SummaryStore(database)).save_clusters("team-a", [cluster(1), cluster(2)])
        with serve(settings) as url:
            answer = httpx.get(url + path, headers=headers)
        assert answer.status_code == 200, answer.text
        links[public] = answer.json()["next"]
    assert links[None].startswith("http://evil.example/")  # what a caller's Host gives
    assert links["https://recap.example.com"] == (
        "https://recap.example.com/api/projects/team-a/session_recordings/error_clusters/"
        "?limit=1&offset=1"
    )
