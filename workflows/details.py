"""Text for the Temporal UI's current details, which it renders as Markdown: a title from a
model or an id from a caller is escaped so it shows as itself, never as a link or markup."""

from __future__ import annotations

import re
from typing import Final

_MARKDOWN: Final = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def literal(text: str) -> str:
    """`text` on one line, with every Markdown character escaped."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))
