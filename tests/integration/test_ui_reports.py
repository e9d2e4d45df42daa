"""The reports and digests pages: the team's stored reports and digests listed newest
first; one report with each pattern's severity, its share of the sessions and its examples
linked to the cited timeline line; one digest with its changes since the previous one;
another team's or an unknown id is 404. Served by uvicorn and read over HTTP with httpx;
no Temporal and no model: the reports are saved in the store as a report workflow saves
them."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from recap.api.ui.report_views import MAX_EXAMPLES, MAX_PATTERNS
from recap.core.config import Settings
from recap.embedded.ports import free_port
from recap.reports.models import Digest, DroppedPattern, PatternReport, ReportGate
from recap.store.reports import ReportStore
from recap.store.repository import store_for
from recap.store.users import UserStore
from tests.support import report_samples
from tests.support.api_stack import serve

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# Three reports of team-a, newest first, a big one, and one of team-b.
NEWEST, MIDDLE, OLDEST = "rp_000000000000000c", "rp_000000000000000b", "rp_000000000000000a"
BIG = "rp_00000000000000ff"
OTHER_TEAM = "rp_00000000000000bb"
DIGEST, QUIET, OTHER_DIGEST = "dg_000000000000000d", "dg_000000000000000e", "dg_00000000000000bd"
DROPPED = DroppedPattern(name="Size chart missing", reason="no example checks out")
MAX_PAGE_BYTES = 200_000


@dataclass
class Deployment:
    url: str
    reports: dict[str, PatternReport]
    digests: dict[str, Digest]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root: Path = tmp_path_factory.mktemp("ui-reports")
    settings = Settings(
        database_url=f"sqlite:///{root / 'recap.db'}",
        data_dir=root / "data",
        temporal_address=f"127.0.0.1:{free_port()}",
    )
    store = store_for(settings.resolved_database_url)
    reports: dict[str, PatternReport] = {}
    for age, (report_id, patterns) in enumerate(((NEWEST, 3), (MIDDLE, 7), (OLDEST, 1))):
        report = report_samples.report("team-a", report_id=report_id, patterns=patterns)
        report.created_at -= timedelta(days=age + 1)
        reports[report_id] = report
    reports[MIDDLE].gate = ReportGate(dropped_patterns=[DROPPED])
    reports[MIDDLE].sessions_failed = 11
    # More patterns and examples than a page shows, with long model and page text full of
    # characters that escaping makes longer.
    big = report_samples.report("team-a", report_id=BIG, patterns=0)
    big.created_at -= timedelta(days=30)
    big.sessions_reported = 300
    long = 'a "quoted" & <tagged> text ' * 100
    big.patterns = []
    for index in range(1, 121):
        pattern = report_samples.pattern(index, sessions=40, total=300)
        pattern.description = long
        pattern.indicators = [long] * 10
        for example in pattern.examples:
            example.url, example.target, example.description = long, long, long
        big.patterns.append(pattern)
    reports[BIG] = big
    reports[OTHER_TEAM] = report_samples.report("team-b", report_id=OTHER_TEAM, patterns=2)
    digests = {
        DIGEST: report_samples.digest("team-a", digest_id=DIGEST, report_id="rp_1111222233334444"),
        QUIET: report_samples.digest(
            "team-a", digest_id=QUIET, report_id="rp_5555666677778888", quiet=True
        ),
        OTHER_DIGEST: report_samples.digest(
            "team-b", digest_id=OTHER_DIGEST, report_id="rp_99990000aaaabbbb"
        ),
    }
    digests[QUIET].period_start -= timedelta(days=7)
    digests[QUIET].period_end -= timedelta(days=7)
    saved = ReportStore(store)
    for report in reports.values():
        saved.save_report(report)
    for digest in digests.values():
        saved.save_digest(digest)
    users = UserStore(store)
    users.create(team_id="team-a", email="ada@example.com", password=PASSWORD)
    users.create(team_id="team-b", email="bo@example.com", password=PASSWORD)
    users.create(team_id="team-c", email="cy@example.com", password=PASSWORD)
    with serve(settings) as url:
        yield Deployment(url, reports, digests)


def _client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, follow_redirects=False, timeout=20)


def _sign_in(http: httpx.Client, email: str) -> None:
    form = http.get("/ui/sign-in")
    token = _CSRF.search(form.text)
    assert token is not None
    answer = http.post(
        "/ui/sign-in", data={"csrf_token": token.group(1), "email": email, "password": PASSWORD}
    )
    assert answer.status_code == 303, answer.text


@pytest.fixture
def ada(deployment: Deployment) -> Iterator[httpx.Client]:
    with _client(deployment.url) as http:
        _sign_in(http, "ada@example.com")
        yield http


def _page(http: httpx.Client, path: str) -> str:
    answer = http.get(path)
    assert answer.status_code == 200, answer.text
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    assert len(answer.content) < MAX_PAGE_BYTES
    # The CSP forbids inline styles and scripts: the pages carry none.
    assert "style=" not in answer.text and "<script" not in answer.text
    return answer.text


def _text(fragment: str) -> str:
    """What a reader sees of `fragment`: its text without tags, on one line."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _pattern_block(page: str, pattern_id: str) -> str:
    found = re.search(
        rf'<article class="pattern" id="pattern-{pattern_id}".*?</article>', page, re.S
    )
    assert found is not None, pattern_id
    return found.group(0)


def test_the_list_shows_the_teams_reports_newest_first(
    deployment: Deployment, ada: httpx.Client
) -> None:
    page = _page(ada, "/ui/team-a/reports")
    links = re.findall(r'href="/ui/team-a/reports/(rp_[0-9a-f]{16})"', page)
    # The digests' reports are the team's reports too, made last.
    digests = [deployment.digests[id_].report.report_id for id_ in (DIGEST, QUIET)]
    assert links == [*digests, NEWEST, MIDDLE, OLDEST, BIG]
    assert OTHER_TEAM not in page
    assert "6 reports, newest first" in _text(page)
    row = _text(page.split(f'href="/ui/team-a/reports/{MIDDLE}"', 1)[1].split("</tr>", 1)[0])
    # Created, sessions (with the failed ones), patterns, status.
    assert "2025-05-06 09:30 UTC" in row
    assert "40 (11 failed)" in row and " 7 " in row and "3 sessions not reported" in row


def test_a_report_shows_each_pattern_with_its_severity_share_and_examples(
    deployment: Deployment, ada: httpx.Client
) -> None:
    report = deployment.reports[MIDDLE]
    page = _page(ada, f"/ui/team-a/reports/{MIDDLE}")
    assert f"<h1>{report.title}</h1>" in page
    for pattern in report.patterns:
        block = _pattern_block(page, pattern.pattern_id)
        text = _text(block)
        assert f">{pattern.name}</h3>" in block
        assert pattern.description in text
        # The severity as a word beside a mark that needs no colour.
        severity = re.search(
            r'<span class="pattern-severity (\w+)">(.*?)</span>\s*(\w+)</span>', block
        )
        assert severity is not None and severity.group(1) == severity.group(3) == pattern.severity
        assert "■" in severity.group(2) and 'aria-hidden="true"' in severity.group(0)
        stats = pattern.stats
        # The percentage as the Markdown form rounds it.
        ratio = f"{stats.sessions_affected_ratio * 100:.0f}%"
        share = f"{stats.sessions_affected} of 40 sessions ({ratio})"
        assert share in text
        filled = re.search(r'class="share-bar-fill"[^>]*width="([\d.]+)"', block)
        assert filled is not None
        assert float(filled.group(1)) == pytest.approx(stats.sessions_affected_ratio * 100, 0.01)
        assert f"Occurrences {stats.occurrences}" in text
        # One link per example shown, each at its cited line of the session page.
        hrefs = re.findall(r'<a href="(/ui/team-a/sessions/[^"]+)"', block)
        expected = [f"/ui/team-a/sessions/{e.session_id}#{e.ref}" for e in pattern.examples]
        assert hrefs == expected[:MAX_EXAMPLES]
        if len(pattern.examples) > MAX_EXAMPLES:
            assert f"and {len(pattern.examples) - MAX_EXAMPLES} more example" in text
    first = report.patterns[0].examples[0]
    assert first.ref == "e12" and first.session_id == "sess-00-0188aaaa"
    assert 'href="/ui/team-a/sessions/sess-00-0188aaaa#e12"' in page
    facts = _text(page.split('<dl class="meta report-facts">', 1)[1].split("</dl>", 1)[0])
    assert "40 summarized, 11 of them failed; 3 not reported" in facts
    assert 'href="/api/projects/team-a/session_summaries/reports/rp_000000000000000b/"' in page


def test_the_dropped_patterns_are_in_a_collapsed_section(
    deployment: Deployment, ada: httpx.Client
) -> None:
    page = _page(ada, f"/ui/team-a/reports/{MIDDLE}")
    sections = re.findall(r"<details[^>]*>.*?</details>", page, re.S)
    assert "<details open" not in page
    dropped = [section for section in sections if "did not keep" in section]
    assert len(dropped) == 1
    assert DROPPED.name in dropped[0] and DROPPED.reason in dropped[0]
    assert DROPPED.name not in page.replace(dropped[0], "")
    # A report whose gate dropped nothing has no such section.
    assert "did not keep" not in _page(ada, f"/ui/team-a/reports/{NEWEST}")


def test_a_big_report_is_capped_and_stays_small(deployment: Deployment, ada: httpx.Client) -> None:
    answer = ada.get(f"/ui/team-a/reports/{BIG}")
    assert answer.status_code == 200
    assert len(answer.content) < MAX_PAGE_BYTES
    page = answer.text
    shown = page.count('<article class="pattern"')
    assert 1 <= shown <= MAX_PATTERNS
    assert f"and {120 - shown} more patterns, in the API form." in page
    assert page.count('href="/ui/team-a/sessions/') == shown * MAX_EXAMPLES
    assert page.count("and 35 more examples") == shown
    assert "40 of 300 sessions (13%)" in page
    # Model text is escaped, never markup.
    assert "<tagged>" not in page and "&lt;tagged&gt;" in page


def test_a_digest_shows_its_changes_clusters_and_patterns(
    deployment: Deployment, ada: httpx.Client
) -> None:
    digest = deployment.digests[DIGEST]
    page = _page(ada, f"/ui/team-a/digests/{DIGEST}")
    text = _text(page)
    assert "2025-05-01 00:00 UTC to 2025-05-08 00:00 UTC" in text
    assert "not quiet" in text
    table = page.split('<table class="pattern-changes">', 1)[1].split("</table>", 1)[0]
    rows = [_text(row) for row in re.findall(r"<tr>.*?</tr>", table, re.S)[1:]]
    assert rows == [
        "Pattern number 1 ↑ rising 4 → 9 10% → 22%",
        "Pattern number 2 + new 0 → 8 0% → 20%",
        "Old coupon bug ✕ gone 6 → 0 15% → 0%",
        "Pattern number 3 → steady 7 → 7 18% → 18%",
    ]
    # Each pattern of the period carries its change, by name.
    assert '<span class="pattern-change rising">' in _pattern_block(page, "p1")
    assert '<span class="pattern-change new">' in _pattern_block(page, "p2")
    assert 'class="pattern-change' not in _pattern_block(page, "p4")
    assert "TypeError</span>: 5 sessions" in page
    # The same pattern markup as the report page.
    assert len(re.findall(r'<article class="pattern"', page)) == len(digest.report.patterns)
    assert f'href="/ui/team-a/reports/{digest.report.report_id}"' in page
    assert f'href="/api/projects/team-a/session_summaries/digests/{DIGEST}/"' in page
    assert 'href="/ui/team-a/sessions/sess-00-0188aaaa#e12"' in page


def test_a_quiet_digest_says_so(deployment: Deployment, ada: httpx.Client) -> None:
    text = _text(_page(ada, f"/ui/team-a/digests/{QUIET}"))
    assert "A quiet period" in text and "No new error cluster this period." in text


def test_the_digests_list_shows_the_latest_period_first(
    deployment: Deployment, ada: httpx.Client
) -> None:
    page = _page(ada, "/ui/team-a/digests")
    assert re.findall(r'href="/ui/team-a/digests/(dg_[0-9a-f]{16})"', page) == [DIGEST, QUIET]
    assert OTHER_DIGEST not in page
    row = _text(page.split(f'href="/ui/team-a/digests/{DIGEST}"', 1)[1].split("</tr>", 1)[0])
    assert "1 new, 1 rising, 1 steady, 1 gone" in row and "quiet" not in row
    quiet = _text(page.split(f'href="/ui/team-a/digests/{QUIET}"', 1)[1].split("</tr>", 1)[0])
    assert "quiet" in quiet


def test_a_team_without_reports_or_digests_is_told_so(deployment: Deployment) -> None:
    with _client(deployment.url) as cy:
        _sign_in(cy, "cy@example.com")
        assert "No reports yet." in _page(cy, "/ui/team-c/reports")
        assert "No digests yet." in _page(cy, "/ui/team-c/digests")


def test_another_teams_and_unknown_ids_answer_404(deployment: Deployment) -> None:
    with _client(deployment.url) as ada:
        _sign_in(ada, "ada@example.com")
        answers = [
            ada.get(f"/ui/team-a/reports/{OTHER_TEAM}"),
            ada.get("/ui/team-a/reports/rp_0000000000000999"),
            ada.get("/ui/team-a/reports/not-a-report"),
            ada.get(f"/ui/team-a/digests/{OTHER_DIGEST}"),
            ada.get("/ui/team-a/digests/dg_0000000000000999"),
            ada.get(f"/ui/team-b/reports/{OTHER_TEAM}"),
            ada.get("/ui/team-b/digests"),
        ]
    assert [answer.status_code for answer in answers] == [404] * len(answers)
    assert len({answer.text.split('<main id="main">')[1] for answer in answers}) == 1
    with _client(deployment.url) as bo:
        _sign_in(bo, "bo@example.com")
        # Team b reads its own report, and never team a's.
        assert bo.get(f"/ui/team-b/reports/{OTHER_TEAM}").status_code == 200
        assert bo.get(f"/ui/team-a/reports/{MIDDLE}").status_code == 404


def test_not_signed_in_redirects_to_sign_in(deployment: Deployment) -> None:
    with _client(deployment.url) as http:
        for path in (
            "/ui/team-a/reports",
            f"/ui/team-a/reports/{MIDDLE}",
            "/ui/team-a/digests",
            f"/ui/team-a/digests/{DIGEST}",
        ):
            answer = http.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"] == f"/ui/sign-in?next={path}"
