"""`recap timeline` starts fast because of what it does not import: plain arguments skip
the command table (typer, click) and the settings loader, the command table loads only the
module of the command that runs, and the tokenizer loads only when a count is needed. These
tests pin that in a fresh interpreter, by module names, not by timing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from recap.demo.generator import SCENARIOS, write_sample_sessions

# What other commands need (Temporal, the model client, the store, HTTP, rich's consoles):
# none of it may load for an offline compile.
HEAVY = ("temporalio", "openai", "sqlalchemy", "httpx", "fastapi", "rich", "alembic")
# Runs the command in-process, then prints the top-level packages it loaded.
PROBE = """\
import json, sys
from recap.cli.commands import app
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    sys.stdout.flush()
    sys.stderr.write("\\nMODULES " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


# The `recap` entry point itself, as the installed script calls it.
ENTRY_PROBE = """\
import json, sys
sys.argv = ["recap", *sys.argv[1:]]
from recap.cli import main
try:
    main()
finally:
    sys.stdout.flush()
    sys.stderr.write("\\nMODULES " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""
# What only the command table or the full settings need.
TABLE = ("typer", "click", "pydantic_settings", "rich")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    written = write_sample_sessions(tmp_path_factory.mktemp("samples"), scenarios=SCENARIOS[:1])
    return written[0].path


def run_probe(probe: str, *args: str, cwd: Path | None = None) -> tuple[str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, set(json.loads(done.stderr.rsplit("MODULES ", 1)[1]))


def loaded_by(*args: str) -> set[str]:
    return run_probe(PROBE, *args)[1]


def test_plain_timeline_arguments_skip_the_command_table_and_print_the_same(
    recording: Path, tmp_path: Path
) -> None:
    for extra in ((), ("--json",), ("--max-tokens", "10000000")):
        printed, loaded = run_probe(ENTRY_PROBE, "timeline", str(recording), *extra, cwd=tmp_path)
        assert not loaded & {*TABLE, *HEAVY}, (extra, sorted(loaded & {*TABLE, *HEAVY}))
        # The same command through typer's table prints the same thing.
        assert printed == run_probe(PROBE, "timeline", str(recording), *extra)[0]
        assert printed.startswith("{" if extra == ("--json",) else "session ")


def test_help_and_unknown_options_still_go_through_the_command_table(recording: Path) -> None:
    printed, loaded = run_probe(ENTRY_PROBE, "timeline", "--help")
    assert "typer" in loaded
    assert "--max-tokens" in printed


def test_timeline_text_imports_no_other_command_and_no_tokenizer(recording: Path) -> None:
    loaded = loaded_by("timeline", str(recording))
    assert not loaded & {*HEAVY, "tiktoken"}, sorted(loaded & {*HEAVY, "tiktoken"})


def test_timeline_json_loads_the_tokenizer_but_nothing_else_heavy(recording: Path) -> None:
    loaded = loaded_by("timeline", str(recording), "--json")
    assert "tiktoken" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_a_budget_the_text_already_fits_needs_no_tokenizer(recording: Path) -> None:
    loaded = loaded_by("timeline", str(recording), "--max-tokens", "10000000")
    assert "tiktoken" not in loaded


def test_the_command_table_imports_no_command_module_up_front() -> None:
    probe = (
        "import sys, recap.cli, recap.cli.commands;"
        "print(sorted(m for m in sys.modules if m.startswith('recap.cli.')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['recap.cli.commands']"
