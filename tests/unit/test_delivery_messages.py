"""The messages recap delivers: Slack Block Kit for a report and a digest, the signed webhook
envelope, the idempotency key, and what a quiet digest sends."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from recap.delivery.compose import compose
from recap.delivery.links import Links
from recap.delivery.models import DestinationTarget, QuietMode
from recap.delivery.slack import digest_message, report_message
from recap.delivery.webhook import envelope_body, idempotency_key, verify
from tests.support.report_samples import digest, pattern, report

PUBLIC = "https://recap.example.com"
LINKS = Links(
    team_id="team-a",
    public_url=PUBLIC,
    posthog_host="https://eu.posthog.com",
    posthog_project_id="42",
)
SECRET = "whsec-0123456789abcdef0123"


def _texts(message: dict[str, Any]) -> list[str]:
    """Every mrkdwn/plain text of the blocks, in order."""
    found: list[str] = []
    for block in message["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        for each in block.get("fields", []) + block.get("elements", []):
            found.append(each["text"])
    return found


def _target(kind: str = "webhook", quiet: QuietMode = "line") -> DestinationTarget:
    return DestinationTarget(
        destination_id="dst_aaaaaaaaaaaa",
        team_id="team-a",
        kind=kind,  # type: ignore[arg-type]
        name="ops",
        quiet=quiet,
        url="http://127.0.0.1:9/hook",
        signing_secret=SECRET if kind == "webhook" else None,
    )


def test_slack_report_leads_with_the_reports_counts_and_its_top_five_patterns() -> None:
    sample = report()
    message = report_message(sample, LINKS)
    blocks = message["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Checkout sessions this week"},
    }
    fields = [each["text"] for each in blocks[1]["fields"]]
    # 9 distinct sessions across the patterns, 5 of them failed; 3 could not be used.
    assert fields == [
        "*Sessions reported*\n40",
        "*Patterns*\n7",
        "*Failed sessions*\n5",
        "*Sessions not reported*\n3",
    ]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    assert len(sections) == 5
    for rank, (text, shown) in enumerate(zip(sections, sample.patterns, strict=False), start=1):
        stats = shown.stats
        assert text.startswith(f"*{rank}. {shown.name}*")
        assert shown.severity in text.split("\n")[0]
        assert (
            f"{stats.sessions_affected} sessions ({stats.sessions_affected_ratio:.0%})"
            f" · {stats.occurrences} occurrences · {stats.sessions_failed} failed"
        ) in text
    assert "9 sessions (22%)" in sections[0] and "5 sessions (12%)" in sections[4]
    assert "Pattern number 6" not in json.dumps(blocks)
    assert "and 2 more patterns in the report" in _texts(message)
    # Example sessions open PostHog's replay at the example's second.
    first = sample.patterns[0].examples[0]
    assert (
        f"<https://eu.posthog.com/project/42/replay/{first.session_id}?t=12|sess-00-0188>"
        in sections[0]
    )
    report_url = f"{PUBLIC}/api/projects/team-a/session_summaries/reports/{sample.report_id}/"
    assert f"<{report_url}|Open the full report>" in _texts(message)[-1]
    assert (
        message["text"] == "Checkout sessions this week: 40 sessions, 7 patterns, 5 failed sessions"
    )


def test_the_failed_count_is_the_reports_own_when_it_has_one() -> None:
    """A report counts its failed sessions over every reported session; only one stored
    before that falls back to the failed sessions among its examples (5 in the sample)."""
    counted = report().model_copy(update={"sessions_failed": 17})
    fields = [each["text"] for each in report_message(counted, LINKS)["blocks"][1]["fields"]]
    assert "*Failed sessions*\n17" in fields


def test_without_a_public_url_recap_links_are_left_out_not_invented() -> None:
    message = report_message(report(), Links(team_id="team-a"))
    flat = json.dumps(message)
    assert "http" not in flat
    assert "rp_0123456789abcdef" in _texts(message)[-1]
    # Without PostHog the example links point at recap's own recording endpoint.
    own = Links(team_id="team-a", public_url=PUBLIC)
    assert own.session("s 1", 61_500) == f"{PUBLIC}/api/projects/team-a/session_recordings/s%201/"


def test_slack_digest_shows_what_changed_with_counts_before_and_after() -> None:
    sample = digest()
    message = digest_message(sample, LINKS)
    texts = _texts(message)
    assert message["blocks"][0]["text"]["text"] == "Digest: Checkout sessions this week"
    assert texts[1] == "2025-05-01 → 2025-05-08"
    changes = next(text for text in texts if text.startswith("*What changed*"))
    lines = changes.split("\n")[1:]
    assert lines == [
        "• 🆕 *Pattern number 2*: 8 sessions (20%)",
        "• 📈 *Pattern number 1*: 4 → 9 sessions (10% → 22%)",
        "• ✅ *Old coupon bug*: gone (was 6 sessions)",
        "• 🧯 new error cluster *TypeError*: 5 sessions",
    ]
    assert "Pattern number 3*: 7" not in changes  # steady patterns are not news
    assert message["text"].startswith("Digest 2025-05-01 → 2025-05-08: 1 new, 1 rising;")


def test_model_text_cannot_mention_the_channel_or_hide_a_link() -> None:
    sample = report(patterns=1)
    sample.patterns[0] = pattern(1, sessions=2, total=40, name="<!channel> see <http://x.io|here>")
    flat = json.dumps(report_message(sample, LINKS))
    assert "<!channel>" not in flat and "<http://x.io" not in flat
    assert "&lt;!channel&gt; see &lt;http://x.io|here&gt;" in flat


def test_a_long_report_fits_slacks_limits() -> None:
    sample = report().model_copy(update={"title": "T" * 400})
    message = report_message(sample, LINKS)
    assert len(message["blocks"][0]["text"]["text"]) == 150
    assert len(message["blocks"]) <= 50
    assert all(len(text) <= 3000 for text in _texts(message))


def test_webhook_envelope_is_signed_over_the_exact_body() -> None:
    sample = report()
    message = compose(_target(), sample, LINKS, attempt=3)
    assert message is not None
    body = json.loads(message.body)
    assert {key: body[key] for key in ("type", "version", "id", "team_id", "created_at")} == {
        "type": "recap.report",
        "version": 1,
        "id": sample.report_id,
        "team_id": "team-a",
        "created_at": "2025-05-08T09:30:00+00:00",
    }
    assert body["data"] == sample.model_dump(mode="json")
    assert body["links"]["report"].endswith(f"/reports/{sample.report_id}/")
    # What a receiver does: HMAC-SHA256 over the raw bytes, compared in constant time.
    header = message.headers["X-Recap-Signature"]
    expected = "sha256=" + hmac.new(SECRET.encode(), message.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(header, expected)
    assert verify(message.body, SECRET, header)
    assert not verify(message.body.replace(b'"team-a"', b'"team-b"'), SECRET, header)
    assert not verify(message.body, SECRET + "x", header)
    assert message.headers["X-Recap-Delivery-Attempt"] == "3"


def test_retries_send_the_same_bytes_under_the_same_key() -> None:
    sample = digest()
    first = compose(_target(), sample, LINKS, attempt=1)
    again = compose(_target(), sample, LINKS, attempt=2)
    assert first is not None and again is not None
    assert first.body == again.body
    assert first.headers["Idempotency-Key"] == again.headers["Idempotency-Key"]
    assert first.headers["X-Recap-Signature"] == again.headers["X-Recap-Signature"]
    assert json.loads(first.body)["type"] == "recap.digest"
    key = idempotency_key("dst_aaaaaaaaaaaa", "digest", sample.digest_id)
    assert first.headers["Idempotency-Key"] == key
    assert key != idempotency_key("dst_bbbbbbbbbbbb", "digest", sample.digest_id)
    assert key != idempotency_key("dst_aaaaaaaaaaaa", "report", sample.digest_id)
    assert key != idempotency_key("dst_aaaaaaaaaaaa", "digest", "dg_other")


def test_slack_messages_without_a_secret_carry_no_signature_but_the_same_key() -> None:
    message = compose(_target("slack"), report(), LINKS)
    assert message is not None
    assert "X-Recap-Signature" not in message.headers
    assert "Idempotency-Key" in message.headers
    assert json.loads(message.body) == report_message(report(), LINKS)


@pytest.mark.parametrize("kind", ["slack", "webhook"])
def test_a_quiet_digest_sends_one_line_or_nothing_as_configured(kind: str) -> None:
    quiet = digest(quiet=True)
    assert compose(_target(kind, "silent"), quiet, LINKS) is None
    line = compose(_target(kind, "line"), quiet, LINKS)
    assert line is not None
    sent = json.loads(line.body)
    expected = (
        "Nothing new in 2025-05-01 → 2025-05-08: no new or rising pattern across 40 sessions."
    )
    assert sent["text"] == expected
    if kind == "slack":
        assert sent["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "text": expected}}]
    else:
        assert sent["type"] == "recap.digest" and sent["data"]["quiet"] is True
    # A digest with news is sent whole, whatever the quiet setting.
    busy = compose(_target(kind, "silent"), digest(), LINKS)
    assert busy is not None and "Nothing new" not in busy.body.decode()


def test_envelope_of_a_digest_holds_the_digest() -> None:
    sample = digest()
    body = json.loads(envelope_body(sample, Links(team_id="team-a")))
    assert body["id"] == sample.digest_id and body["links"] == {"report": None}
    assert body["data"]["changes"][0]["current_sessions"] == 9
