"""Markup injection (issue 16, finding 5): page text and model text reach the console and the
Temporal UI as text. A console message carrying Rich markup must not become a hidden link, a
stray closing tag must not crash a command, and a model's title must not become Markdown in
the Temporal UI's current details."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from recap.store.clusters import ClusterStore
from recap.store.repository import SummaryStore
from tests.support.store_samples import cluster
from workflows.details import literal

LINK = "TypeError [link=https://evil.example/fix]see fix[/link]"
CLOSER = "Checkout [/b] breaks"
ROOT = Path(__file__).resolve().parents[2]


def test_clusters_list_prints_page_and_model_text_as_text(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'markup.db'}"
    ClusterStore(SummaryStore(url)).save_clusters(
        "team-a",
        [cluster(1, title=None, message=LINK), cluster(2, title=CLOSER, message="x")],
    )
    listed = subprocess.run(
        [sys.executable, "-m", "recap.cli", "clusters", "list", "--team", "team-a"],
        env={**os.environ, "RECAP_DATABASE_URL": url, "COLUMNS": "300"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr  # a stray [/b] used to raise MarkupError
    assert "[link=https://evil.example/fix]see fix[/link]" in listed.stdout
    assert "[/b]" in listed.stdout


def test_temporal_details_show_a_title_as_itself() -> None:
    title = "Paid [see](https://evil.example) **now** `x` <img src=x>"
    shown = literal(title)
    # Every character Markdown would read as syntax is escaped; the words stay.
    assert shown == (
        "Paid \\[see\\]\\(https://evil\\.example\\) \\*\\*now\\*\\* \\`x\\` \\<img src=x\\>"
    )
    assert literal("line one\nline two") == "line one line two"
