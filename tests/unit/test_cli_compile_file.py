"""The `recap timeline` shortcut: which arguments it reads itself, which it leaves to the
command table, how it fails, and the compiler thresholds it reads without the settings
loader (still the settings' values whenever the environment or `.env` could set them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from recap.cli.compile_file import TimelineArguments, plain_timeline_arguments
from recap.core.config import Settings
from recap.core.timeline_config import TimelineConfig
from recap.core.timeline_settings import _plain_thresholds, timeline_config
from tests.support.recordings import HOGFLIX


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["timeline", "a.jsonl"], TimelineArguments(Path("a.jsonl"))),
        (["timeline", "--json", "a.jsonl"], TimelineArguments(Path("a.jsonl"), as_json=True)),
        (
            ["timeline", "a.jsonl", "--max-tokens", "500", "--json"],
            TimelineArguments(Path("a.jsonl"), True, 500),
        ),
        (["timeline", "--max-tokens=7", "a.jsonl"], TimelineArguments(Path("a.jsonl"), False, 7)),
    ],
)
def test_plain_arguments_are_read_in_any_order(
    argv: list[str], expected: TimelineArguments
) -> None:
    assert plain_timeline_arguments(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["summarize", "s1"],
        ["timeline"],  # typer says the path is missing
        ["timeline", "--help"],
        ["timeline", "a.jsonl", "-h"],
        ["timeline", "a.jsonl", "--bogus"],
        ["timeline", "a.jsonl", "b.jsonl"],
        ["timeline", "a.jsonl", "--max-tokens"],
        ["timeline", "a.jsonl", "--max-tokens", "many"],
        ["timeline", "a.jsonl", "--max-tokens", "-5"],
        ["timeline", "a.jsonl", "--max-tokens", "٣"],  # a digit, but not one int() should see
        ["timeline", "-"],
        ["timeline", "--", "a.jsonl"],
    ],
)
def test_anything_else_is_left_to_the_command_table(argv: list[str]) -> None:
    assert plain_timeline_arguments(argv) is None


def recap(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "recap.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_a_missing_file_fails_the_same_way_with_and_without_the_table(tmp_path: Path) -> None:
    plain = recap("timeline", "missing.jsonl", cwd=tmp_path)
    assert plain.returncode == 1
    assert plain.stdout == ""
    assert plain.stderr.strip() == "error: recording file missing.jsonl not found"
    # `--max-tokens 0x` is not plain: the command table reads it and rejects the value.
    bad_option = recap("timeline", "missing.jsonl", "--max-tokens", "0x", cwd=tmp_path)
    assert bad_option.returncode == 2
    assert "--max-tokens" in bad_option.stderr


def test_a_plain_timeline_loads_neither_pydantic_nor_the_command_table(tmp_path: Path) -> None:
    """What keeps `recap timeline FILE` small and quick to start (issue 21): the compiler,
    its artifacts and its thresholds are plain dataclasses, and pydantic (with the schemas
    it builds, about a third of the process's memory at 10 MB) is never imported."""
    env = {n: v for n, v in os.environ.items() if not n.upper().startswith("RECAP_")}
    env["RECAP_TIMELINE__MAX_DECODED_BYTES"] = str(1 << 30)  # read without the settings, too
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "recap.cli", "timeline", str(HOGFLIX)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "e1 00:00 navigation" in done.stdout  # the timeline itself was printed
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "recap.timeline.compile" in imported and "orjson" in imported
    for heavy in ("pydantic", "pydantic_core", "pydantic_settings", "typer", "click"):
        assert heavy not in imported, f"`recap timeline FILE` imported {heavy}"


def test_thresholds_default_without_environment_or_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.upper().startswith("RECAP_")]:
        monkeypatch.delenv(name)
    assert timeline_config() == TimelineConfig() == Settings().timeline


def test_thresholds_follow_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from recap.core.config import get_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("recap_timeline__dead_click_ms", "4321")  # names are case-insensitive
    get_settings.cache_clear()
    try:
        assert timeline_config().dead_click_ms == 4321
    finally:
        get_settings.cache_clear()


def test_thresholds_follow_an_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from recap.core.config import get_settings

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("RECAP_TIMELINE__MAX_DECODED_BYTES=2048\n")
    get_settings.cache_clear()
    try:
        assert timeline_config().max_decoded_bytes == 2048
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("variables", "plain"),
    [
        ({"RECAP_TIMELINE__RAGE_CLICKS": "5", "recap_timeline__idle_gap_ms": "0045000"}, True),
        ({"RECAP_TIMELINE__MAX_DECODED_BYTES": "1073741824"}, True),
        ({"RECAP_TIMELINE__RAGE_CLICKS": "1"}, False),  # below its bound: the settings refuse
        ({"RECAP_TIMELINE__RAGE_CLICKS": "+5"}, False),
        ({"RECAP_TIMELINE__RAGE_CLICKS": " 5"}, False),
        ({"RECAP_TIMELINE__RAGE_CLICKS": "\u0665"}, False),  # a digit, but not an ASCII one
        ({"RECAP_TIMELINE__RAGE_CLICKS": "five"}, False),
        ({"RECAP_TIMELINE__NO_SUCH_THRESHOLD": "5"}, False),
        ({"RECAP_TIMELINE": '{"rage_clicks": 5}'}, False),  # the JSON form of the group
        ({"RECAP_TIMELINE__RAGE_CLICKS": "5", "recap_timeline__rage_clicks": "6"}, False),
    ],
)
def test_thresholds_from_the_environment_are_the_settings_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variables: dict[str, str], plain: bool
) -> None:
    """Plain digits within bounds are read without the settings loader, and agree with it;
    anything else goes to the settings, which accept or refuse it as they always did."""
    from recap.core.config import get_settings

    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.upper().startswith("RECAP_")]:
        monkeypatch.delenv(name)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert (_plain_thresholds(os.environ) is not None) is plain
    get_settings.cache_clear()
    try:
        try:
            expected = Settings().timeline
        except ValueError:  # pydantic's ValidationError
            with pytest.raises(ValueError):
                timeline_config()
            assert not plain
            return
        assert timeline_config() == expected
    finally:
        get_settings.cache_clear()
