"""Card numbers in free text: 13-19 digits however they are grouped (spaces, dots, dashes,
doubled), masked when Luhn-valid, so timestamps and order numbers stay."""

from __future__ import annotations

import re
from typing import Final

CARD_MARK: Final = "<card>"
# 13-19 digits, grouped by spaces, dots or dashes (sometimes doubled) as card numbers are
# written and pasted.
_CARD = re.compile(r"(?<![\w-])\d(?:[ \t.\-\u00a0]{0,2}\d){12,18}(?![\w-])")
# A whole run of digit groups: a card number next to other numbers (`Qty 2 4111 1111 …`)
# is found among its groups.
_DIGIT_RUN = re.compile(r"(?<![\w-])\d(?:[ \t.\-\u00a0]{0,2}\d)*(?![\w-])")
_DIGIT_GROUP = re.compile(r"\d+")
CARD_MIN_DIGITS: Final = 13
_CARD_MAX_DIGITS: Final = 19
# Card numbers are printed in groups of four to six (4-4-4-4, 4-6-5, 4-6-4), the last one
# maybe shorter (4-4-4-1).
_CARD_GROUP_MIN: Final = 3
_CARD_GROUP_MAX: Final = 6


def redact_cards(text: str, *, any_card: bool = False) -> str:
    """`text` with its card numbers masked. Typed values (`any_card`) are checked strictly:
    a mistyped or half-typed card number is still one. In page and console text, the Luhn
    check keeps millisecond timestamps and order numbers."""
    return _CARD.sub(CARD_MARK, text) if any_card else _DIGIT_RUN.sub(_card, text)


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, ch in enumerate(reversed(digits)):
        value = int(ch)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    """A run of digit groups in page or console text: its Luhn-valid card numbers masked."""
    run = match.group(0)
    digits = re.sub(r"\D", "", run)
    if len(digits) < CARD_MIN_DIGITS:
        return run
    if len(digits) <= _CARD_MAX_DIGITS and _luhn_valid(digits):
        return CARD_MARK
    groups = [(g.start(), g.end()) for g in _DIGIT_GROUP.finditer(run)]
    if len(groups) < 2:
        return run
    out: list[str] = []
    position = 0
    first = 0
    while first < len(groups):
        end = _card_window(run, groups, first)
        if end is None:
            first += 1
            continue
        out += [run[position : groups[first][0]], CARD_MARK]
        position = groups[end][1]
        first = end + 1
    return "".join(out) + run[position:] if out else run


def _card_window(run: str, groups: list[tuple[int, int]], first: int) -> int | None:
    """The last group of a Luhn-valid card number starting at group `first`, if any."""
    count = 0
    for last in range(first, len(groups)):
        start, end = groups[last]
        size = end - start
        if last == first and size >= CARD_MIN_DIGITS:
            pass  # an ungrouped number
        elif size > _CARD_GROUP_MAX:
            return None
        elif size < _CARD_GROUP_MIN and (last == first or count + size < CARD_MIN_DIGITS):
            return None  # only the last group of a card may be this short
        count += size
        if count > _CARD_MAX_DIGITS:
            return None
        if count >= CARD_MIN_DIGITS and _luhn_valid(re.sub(r"\D", "", run[groups[first][0] : end])):
            return last
        if size < _CARD_GROUP_MIN:
            return None
    return None
