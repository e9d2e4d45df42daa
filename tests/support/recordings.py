"""Where the real test recordings live (read in place, never copied into the repository)."""

from __future__ import annotations

import os
from pathlib import Path

# The project's shared data sits beside the repository (`../shared`); RECAP_TEST_RECORDINGS
# points elsewhere. A missing folder is an error, never a silently smaller suite.
RECORDINGS = Path(
    os.environ.get(
        "RECAP_TEST_RECORDINGS",
        Path(__file__).resolve().parents[3] / "shared" / "data" / "recordings",
    )
)
if not (RECORDINGS / "README.md").is_file():
    raise RuntimeError(
        f"test recordings not found at {RECORDINGS}: clone recap beside shared/"
        " or set RECAP_TEST_RECORDINGS"
    )

CHALK = RECORDINGS / "chalk"
CHALK_SESSIONS = (
    "30497eae-825d-433d-a484-4b75074332b2",
    "08463d03-1928-4b7f-b2bc-763b73d094db",
    "25131bfa-d87f-4301-8f84-ac0c955b8f4c",
)
CHALK_FILTERS = CHALK / "30497eae-825d-433d-a484-4b75074332b2.json"
HOGFLIX = RECORDINGS / "posthog" / "hogflix_session_recording.json"
BY_WINDOW_ID = RECORDINGS / "posthog" / "recording_snapshots_by_window_id.json"
RRWEB_INTEGRATION = RECORDINGS / "rrweb" / "rrweb_integration_recordings.json"
RRWEB_CONSOLE = RECORDINGS / "rrweb" / "rrweb_console_plugin_recordings.json"
