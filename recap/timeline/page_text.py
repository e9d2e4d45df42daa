"""Text taken from a recorded page, shaped for the timeline: collapsed to one line,
clipped to a label's length and quoted as a JSON string."""

from __future__ import annotations

import json
import re
from typing import Final

LABEL_MAX_CHARS: Final = 60

# Icon fonts (Material Design Icons and friends) draw glyphs from the Private Use Areas;
# zero-width characters are layout hints. Neither reads as text.
_NON_TEXT = re.compile("[\ue000-\uf8ff\U000f0000-\U0010fffd\u200b-\u200f\u2060\ufeff]")


def collapse(text: str) -> str:
    """Visible text as a reader sees it: one line, single spaces, no icon glyphs."""
    # `str.split()` splits on exactly the characters `\s` matches (both use
    # `str.isspace`), and is several times faster than the regex; ASCII text holds no
    # glyphs to drop. Every text node of every mutation passes through here.
    if not text.isascii():
        text = _NON_TEXT.sub("", text)
    return " ".join(text.split())


def clip(text: str, limit: int = LABEL_MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def quoted(text: str) -> str:
    """A JSON string literal: quotes and control characters escaped, never a raw newline."""
    return json.dumps(text, ensure_ascii=False)


def without_echo(text: str) -> str:
    """`Sun Hat Sun Hat $38` -> `Sun Hat $38`: an image's alt text repeating its caption."""
    words = text.split(" ")
    for size in range(1, len(words) // 2 + 1):
        if words[:size] == words[size : 2 * size]:
            return " ".join(words[size:])
    return text
