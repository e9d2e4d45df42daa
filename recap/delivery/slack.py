"""Slack Block Kit messages for an incoming webhook: one per report or digest.

A report leads with its headline counts, then its top patterns (severity, sessions affected
and their share, links to example sessions) and a link to the whole report. A digest adds
what changed since the previous period. Text from the model is escaped for Slack's mrkdwn,
so a pattern's name can never mention `<!channel>` or hide a link.
Limits kept: header text 150 characters, section text 3000, at most 50 blocks."""

from __future__ import annotations

from typing import Any

from recap.delivery.headline import headline, one_line, period, quiet_line
from recap.delivery.links import Links
from recap.reports.models import Digest, Pattern, PatternChange, PatternReport

TOP_PATTERNS = 5
EXAMPLES_PER_PATTERN = 3
_SEVERITY_MARK = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "⚪"}

Block = dict[str, Any]


def mrkdwn_escape(text: str) -> str:
    """Slack's three control characters; everything else shows as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str | None, label: str) -> str:
    if url is None:
        return mrkdwn_escape(label)
    return f"<{url}|{mrkdwn_escape(label).replace('|', '¦')}>"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": _clip(text, 150)}}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip_mrkdwn(text)}}


def _clip_mrkdwn(text: str) -> str:
    # Clipping by lines keeps a link's <url|label> whole.
    if len(text) <= 3000:
        return text
    kept: list[str] = []
    for line in text.split("\n"):
        if sum(len(each) + 1 for each in kept) + len(line) > 2990:
            break
        kept.append(line)
    return "\n".join([*kept, "…"])


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip_mrkdwn(text)}]}


def _counts(report: PatternReport) -> Block:
    facts = headline(report)
    fields = [
        f"*Sessions reported*\n{facts.sessions_reported}",
        f"*Patterns*\n{facts.patterns}",
        f"*Failed sessions*\n{facts.failed_sessions}",
    ]
    if facts.not_reported:
        fields.append(f"*Sessions not reported*\n{facts.not_reported}")
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": each} for each in fields]}


def _moment(t_ms: int) -> str:
    seconds = max(0, t_ms) // 1000
    return f"{seconds // 60}:{seconds % 60:02d}"


def _pattern(rank: int, pattern: Pattern, links: Links) -> Block:
    stats = pattern.stats
    mark = _SEVERITY_MARK.get(pattern.severity, "")
    lines = [
        f"*{rank}. {mrkdwn_escape(_clip(pattern.name, 200))}*  {mark} {pattern.severity}",
        f"{stats.sessions_affected} sessions ({stats.sessions_affected_ratio:.0%})"
        f" · {stats.occurrences} occurrences · {stats.sessions_failed} failed",
        mrkdwn_escape(_clip(pattern.description, 400)),
    ]
    examples = [
        _link(links.session(example.session_id, example.t_ms), example.session_id[:12])
        + f" at {_moment(example.t_ms)}"
        for example in pattern.examples[:EXAMPLES_PER_PATTERN]
    ]
    if examples:
        lines.append("Examples: " + ", ".join(examples))
    return _section("\n".join(lines))


def _patterns(report: PatternReport, links: Links) -> list[Block]:
    if not report.patterns:
        return [_section("No pattern across these sessions.")]
    blocks = [
        _pattern(rank, pattern, links)
        for rank, pattern in enumerate(report.patterns[:TOP_PATTERNS], start=1)
    ]
    more = len(report.patterns) - TOP_PATTERNS
    if more > 0:
        blocks.append(_context(f"and {more} more pattern{'s' if more != 1 else ''} in the report"))
    return blocks


def _report_link(report: PatternReport, links: Links) -> list[Block]:
    url = links.report(report.report_id)
    if url is None:
        return [_context(f"Report `{report.report_id}`")]
    return [_context(f"{_link(url, 'Open the full report')} · `{report.report_id}`")]


def _change(change: PatternChange) -> str:
    name = mrkdwn_escape(_clip(change.name, 200))
    if change.change == "new":
        return f"• 🆕 *{name}*: {change.current_sessions} sessions ({change.current_ratio:.0%})"
    if change.change == "rising":
        return (
            f"• 📈 *{name}*: {change.previous_sessions} → {change.current_sessions} sessions"
            f" ({change.previous_ratio:.0%} → {change.current_ratio:.0%})"
        )
    if change.change == "gone":
        return f"• ✅ *{name}*: gone (was {change.previous_sessions} sessions)"
    return (
        f"• *{name}*: {change.previous_sessions} → {change.current_sessions} sessions"
        f" ({change.change})"
    )


def _changes(digest: Digest) -> list[Block]:
    shown = [c for c in digest.changes if c.change in ("new", "rising", "gone")]
    order = {"new": 0, "rising": 1, "gone": 2}
    shown.sort(key=lambda c: (order[c.change], -c.current_sessions, c.name))
    lines = [_change(each) for each in shown]
    for cluster in digest.new_clusters:
        title = mrkdwn_escape(_clip(cluster.title or cluster.cluster_id, 200))
        lines.append(f"• 🧯 new error cluster *{title}*: {cluster.sessions_affected} sessions")
    if not lines:
        return []
    return [_section("*What changed*\n" + "\n".join(lines))]


def report_message(report: PatternReport, links: Links) -> dict[str, Any]:
    blocks = [
        _header(report.title),
        _counts(report),
        {"type": "divider"},
        *_patterns(report, links),
        *_report_link(report, links),
    ]
    return {"text": one_line(report), "blocks": blocks[:50]}


def digest_message(digest: Digest, links: Links) -> dict[str, Any]:
    report = digest.report
    blocks = [
        _header(f"Digest: {report.title}"),
        _context(mrkdwn_escape(period(digest))),
        _counts(report),
        *_changes(digest),
        {"type": "divider"},
        *_patterns(report, links),
        *_report_link(report, links),
    ]
    return {"text": one_line(digest), "blocks": blocks[:50]}


def quiet_message(digest: Digest) -> dict[str, Any]:
    """The one line a quiet digest sends to a destination set to `quiet: line`."""
    line = quiet_line(digest)
    return {"text": line, "blocks": [_section(mrkdwn_escape(line))]}


def check_message(name: str) -> dict[str, Any]:
    line = f"recap can deliver to this destination ({name})."
    return {"text": line, "blocks": [_section(mrkdwn_escape(line))]}
