"""Digests are readable like reports (issue 18, part 2): `…/session_summaries/digests/`
lists a team's digests, the latest period first, and `…/digests/{id}/` answers one as JSON
or Markdown. Through the real app over SQLite; no Temporal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from recap.core.config import Settings
from recap.reports import render_digest_markdown
from recap.reports.models import Digest
from recap.store.keys import READ_SCOPE, KeyStore
from recap.store.reports import ReportStore
from recap.store.repository import store_for
from tests.support.api_stack import serve
from tests.support.report_samples import digest

A = "/api/projects/team-a/session_summaries/digests/"


@dataclass
class Served:
    http: httpx.Client
    digests: list[Digest]
    other_team: Digest


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    database = f"sqlite:///{tmp_path_factory.mktemp('digests') / 'api.db'}"
    store = store_for(database)
    reports = ReportStore(store)
    stored = []
    for day in range(3):
        sample = digest("team-a", digest_id=f"dg_{day:016x}", report_id=f"rp_{day:016x}")
        sample.period_start += timedelta(days=day)
        sample.period_end += timedelta(days=day)
        sample.quiet = day == 1
        reports.save_digest(sample)
        stored.append(sample)
    other = digest("team-b", digest_id="dg_" + "b" * 16, report_id="rp_" + "b" * 16)
    reports.save_digest(other)
    _, token = KeyStore(store).create(team_id="team-a", scopes=[READ_SCOPE])
    with serve(Settings(database_url=database)) as url:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers) as http:
            yield Served(http, stored, other)


def test_the_listing_pages_the_latest_period_first(served: Served) -> None:
    first = served.http.get(A, params={"limit": 2}).json()
    rest = served.http.get(first["next"]).json()
    rows = first["results"] + rest["results"]
    assert first["count"] == 3 and rest["next"] is None
    assert [row["digest_id"] for row in rows] == [d.digest_id for d in reversed(served.digests)]
    row = rows[-1]
    sample = served.digests[0]
    assert row["report_id"] == sample.report.report_id
    assert row["sessions_reported"] == sample.report.sessions_reported
    kinds = [change.change for change in sample.changes]
    assert (row["new_patterns"], row["rising_patterns"], row["gone_patterns"]) == (
        kinds.count("new"),
        kinds.count("rising"),
        kinds.count("gone"),
    )
    assert row["new_clusters"] == len(sample.new_clusters)
    assert [row["quiet"] for row in rows] == [False, True, False]
    assert "patterns" not in row


def test_a_digest_answers_as_stored_or_as_markdown(served: Served) -> None:
    sample = served.digests[2]
    as_json = served.http.get(f"{A}{sample.digest_id}/")
    as_markdown = served.http.get(
        f"{A}{sample.digest_id}", headers={"Accept": "text/markdown, application/json;q=0.5"}
    )
    assert as_json.status_code == 200, as_json.text
    assert Digest.model_validate(as_json.json()) == sample
    assert as_markdown.headers["content-type"].startswith("text/markdown")
    assert as_markdown.text == render_digest_markdown(sample)


def test_another_teams_or_an_unknown_digest_is_not_found(served: Served) -> None:
    for digest_id in (served.other_team.digest_id, "dg_" + "0" * 15 + "9", "not-a-digest"):
        answer = served.http.get(f"{A}{digest_id}/")
        assert answer.status_code == 404, digest_id
        assert answer.json()["code"] == "not_found"
    assert served.http.get(A, headers={"Authorization": "Bearer rck_nope"}).status_code == 401
