"""The fence around untrusted text in a prompt: page text, focus areas, product context and
error samples sit in `<untrusted-TAG>` … `</untrusted-TAG>` blocks whose TAG is random per
request, so the text cannot guess it to close its own block.

Text that only looks like a marker (`</UNTRUSTED>`, `</untrusted >`, the same in full-width
letters or brackets) is defused too, so the model never sees a boundary inside a block.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Final

# "<" and the brackets that render like it: full width, small, and two angle brackets.
_LESS: Final = "<\uff1c\ufe64\u2329\u3008"
_GREATER: Final = ">\uff1e\ufe65\u232a\u3009"
_SLASH: Final = "/\uff0f\u2215"
_OPEN_QUOTE: Final = "\u2039"
_CLOSE_QUOTE: Final = "\u203a"


def _letter(char: str) -> str:
    """One letter of the marker word, in ASCII or full width, either case."""
    offset = ord(char) - ord("a")
    return f"[{char}{char.upper()}{chr(0xFF41 + offset)}{chr(0xFF21 + offset)}]"


_WORD: Final = r"\s*".join(_letter(char) for char in "untrusted")
# A marker in any case, width or spacing, with or without a tag after the word.
_MARKER: Final = re.compile(rf"[{_LESS}]\s*[{_SLASH}]?\s*{_WORD}[^{_GREATER}]{{0,80}}?[{_GREATER}]")


def neutralize(text: str) -> str:
    """The text with the brackets of every marker-like sequence turned into single angle
    quotation marks (U+2039, U+203A), which no model reads as a marker."""
    return _MARKER.sub(lambda found: f"{_OPEN_QUOTE}{found.group(0)[1:-1]}{_CLOSE_QUOTE}", text)


@dataclass(frozen=True, slots=True)
class Fence:
    tag: str

    @classmethod
    def new(cls) -> Fence:
        return cls(f"untrusted-{secrets.token_hex(8)}")

    def wrap(self, text: str) -> str:
        return f"<{self.tag}>\n{neutralize(text)}\n</{self.tag}>"
