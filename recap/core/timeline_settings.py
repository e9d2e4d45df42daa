"""The timeline compiler's thresholds as the settings give them, read cheaply.

Loading pydantic-settings costs a `recap timeline` run more than compiling a small
recording, and 16 of the 40 MB it held on 10 MB. So `timeline_config` reads the settings
only when it could not tell their answer itself: with a `.env` file, or with a
`RECAP_TIMELINE…` variable that is not one threshold given as plain decimal digits within
its bound. Any doubt goes to the settings, which then also report a bad value as they
always do.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from pathlib import Path

from recap.core.timeline_config import AtLeast, TimelineConfig

_ENV_PREFIX = "RECAP_TIMELINE"
_FIELD_PREFIX = _ENV_PREFIX + "__"
_ENV_FILE = ".env"  # as `Settings` reads it: relative to the working directory


def timeline_config() -> TimelineConfig:
    """The thresholds `Settings().timeline` would give, without loading the settings when
    neither a `.env` file nor anything unusual in the environment could change them."""
    given = None if Path(_ENV_FILE).is_file() else _plain_thresholds(os.environ)
    if given is None:
        from recap.core.config import get_settings

        return get_settings().timeline
    return TimelineConfig(**given)


def _plain_thresholds(environ: typing.Mapping[str, str]) -> dict[str, int] | None:
    """The thresholds the environment sets, when each is a known one given as plain digits
    within its bound; None when only the settings can say (a JSON `RECAP_TIMELINE`, an
    unknown name, the same name twice in another case, a sign, spaces, a bad value)."""
    bounds = _bounds()
    given: dict[str, int] = {}
    for name, value in environ.items():
        # Settings' names are case-insensitive.
        upper = name.upper()
        if not upper.startswith(_ENV_PREFIX):
            continue
        field = upper.removeprefix(_FIELD_PREFIX).lower() if upper.startswith(_FIELD_PREFIX) else ""
        if field not in bounds or field in given or not (value.isascii() and value.isdigit()):
            return None
        number = int(value)
        if number < bounds[field]:
            return None
        given[field] = number
    return given


def _bounds() -> dict[str, int]:
    """Each threshold's lower bound, from its `AtLeast`."""
    hints = typing.get_type_hints(TimelineConfig, include_extras=True)
    bounds: dict[str, int] = {}
    for field in dataclasses.fields(TimelineConfig):
        marks = getattr(hints[field.name], "__metadata__", ())
        bounds[field.name] = next(m.minimum for m in marks if isinstance(m, AtLeast))
    return bounds
