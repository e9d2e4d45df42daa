"""The timeline compiler's thresholds as the settings give them, read cheaply.

Loading pydantic-settings costs a `recap timeline` run more than compiling a small
recording, so `timeline_config` reads the full settings only when something could set
the thresholds: a `RECAP_TIMELINE…` variable or a `.env` file.
"""

from __future__ import annotations

import os
from pathlib import Path

from recap.core.timeline_config import TimelineConfig

_ENV_PREFIX = "RECAP_TIMELINE"
_ENV_FILE = ".env"  # as `Settings` reads it: relative to the working directory


def timeline_config() -> TimelineConfig:
    """The thresholds `Settings().timeline` would give, without loading the settings when
    neither the environment nor a `.env` file could change them."""
    # Settings' names are case-insensitive; only the key is looked at, never the value.
    overridden = any(name.upper().startswith(_ENV_PREFIX) for name in os.environ)
    if overridden or Path(_ENV_FILE).is_file():
        from recap.core.config import get_settings

        return get_settings().timeline
    return TimelineConfig()
