"""`recap timeline` starts fast because of what it does not import: the command table loads
only the module of the command that runs, and the tokenizer loads only when a count is
needed. These tests pin that in a fresh interpreter, by module names, not by timing."""

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
from recap.cli.main import app
try:
    app(sys.argv[1:], standalone_mode=False)
finally:
    sys.stdout.flush()
    sys.stderr.write("\\nMODULES " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    written = write_sample_sessions(tmp_path_factory.mktemp("samples"), scenarios=SCENARIOS[:1])
    return written[0].path


def loaded_by(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stderr.rsplit("MODULES ", 1)[1]))


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
        "import sys, recap.cli, recap.cli.main;"
        "print(sorted(m for m in sys.modules if m.startswith('recap.cli.')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['recap.cli.main']"
