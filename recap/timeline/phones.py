"""Phone numbers in page text, console messages and typed values, found by libphonenumber.

Candidates are runs of digits and phone punctuation with at least seven digits;
`phonenumbers.PhoneNumberMatcher` parses them in each of the recording's regions
(`recap.timeline.locale`). A number in international form (`+44 7700 900123`,
`0033 6 12 34 56 78`) is a phone when its length is possible for its country. A number
in national form must also fit its region's number plan and be written the way that
region's numbers are (`07700 900123` with the trunk `0`, `555-123-4567` grouped), so ids,
prices, dates, versions and timestamps stay readable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Final

# libphonenumber's metadata takes longer to import than a small recording takes to compile,
# and most text holds no run of seven digits: each function imports it where it is used.
if TYPE_CHECKING:
    from phonenumbers import PhoneNumber

MIN_DIGITS: Final = 7
"""Below this many digits a string is never searched (the common case, and the cheap one)."""
_MAX_DIGITS: Final = 15  # E.164
# National numbers written without their trunk prefix are shorter than this only when
# something else (a phone field, a "Tel:" before them) says they are phones.
_MIN_BARE_DIGITS: Final = 9
_MIN_TRUNK_DIGITS: Final = 8
_MIN_MOBILE_DIGITS: Final = 10

# Digits and the punctuation phone numbers are written with; `,` and `:` end a candidate
# (thousands, times), letters and a digit-joined `.`/`-` before it (decimals, ids) too.
_CANDIDATE = re.compile(r"(?<![\w+.,/-])(?:\+|\(\+?)?\d(?:[\d \t\u00a0().\-/]*\d)?\)?")
_PUNCTUATION = re.compile(r"[^\d]+")
# A day, month and year (or a year first) read as a number in many plans.
_DATE_PREFIX = re.compile(
    r"\d{4}([-./])\d{1,2}\1\d{1,2}(?!\d)|\d{1,2}([-./])\d{1,2}\2(?:\d{4}|\d{2}$)(?!\d)"
)
# Amounts grouped by thousands (`1 234 567`, `1.234.567`) and US ZIP+4 codes.
_THOUSANDS = re.compile(r"\d{1,3}(?:([ .\u00a0])\d{3})(?:\1\d{3})*")
_ZIP_PLUS_FOUR = re.compile(r"\d{5}-\d{4}")
_DECIMAL = re.compile(r"\d+\.\d+")
# Words right before a number that say it is a phone, or that it is something else.
_PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|mobil|cell|call|sms|whatsapp|fax|handy|telefon"
    r"|t[ée]l[ée]phone|tel[ée]fono|telefone|celular|m[oó]vil|portable|contact)"
    r"(?:\s*(?:number|no\.?|nr\.?|#))?\s*[:.=]?\s*$"
)
_ID_CONTEXT = re.compile(
    r"(?i)(?:\b(?:order|invoice|ref|reference|id|ticket|case|tracking|sku|item|build|version"
    r"|transaction|txn|confirmation|booking|receipt|isbn|serial|po)\b(?:\s*(?:no\.?|nr\.?|number"
    r"|id))?|#)\s*[:#=]?\s*$"
)
_CONTEXT_CHARS: Final = 24
# Regions with a trunk `0` whose numbers are commonly written without it (India's mobiles,
# Brazil's and China's numbers after an area code in parentheses or alone).
_TRUNK_OPTIONAL: Final = frozenset({"IN", "BR", "CN"})


@dataclass(frozen=True, slots=True)
class _Plan:
    """What one region's numbering plan says about numbers written the national way."""

    region: str
    trunk_zero: bool  # national numbers are dialled with a leading `0`
    pattern: re.Pattern[str] | None


@lru_cache(maxsize=64)
def _plan(region: str) -> _Plan:
    import phonenumbers

    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return _Plan(region, trunk_zero=False, pattern=None)
    general = metadata.general_desc
    pattern = general.national_number_pattern if general is not None else None
    return _Plan(
        region,
        trunk_zero=metadata.national_prefix == "0",
        pattern=re.compile(pattern) if pattern else None,
    )


def _digits(text: str) -> str:
    return _PUNCTUATION.sub("", text)


def _fits_plan(number: PhoneNumber, plan: _Plan) -> bool:
    """Possible in length and within the region's general number pattern."""
    import phonenumbers

    if not phonenumbers.is_possible_number(number) or plan.pattern is None:
        return False
    return plan.pattern.fullmatch(phonenumbers.national_significant_number(number)) is not None


def _international(raw: str) -> bool | None:
    """True for a possible number in international form, None when not in that form."""
    import phonenumbers

    digits = _digits(raw)
    plus = raw.lstrip("( ").startswith("+")
    if plus:
        subscriber = digits
    elif digits.startswith("00"):
        subscriber = digits[2:]
    elif digits.startswith("011"):
        subscriber = digits[3:]
    else:
        return None
    try:
        number = phonenumbers.parse("+" + subscriber, None)
    except phonenumbers.NumberParseException:
        return False
    if plus:
        return phonenumbers.is_possible_number(number)
    # `00…` is also how ids are padded: that form must fit the country's plan.
    if number.country_code is None:
        return False
    region = phonenumbers.region_code_for_country_code(number.country_code)
    return _fits_plan(number, _plan(region))


def _grouped_like_a_phone(raw: str) -> bool:
    """Digit groups as phones are written: not thousands of an amount, no 1-digit groups."""
    groups = [g for g in _PUNCTUATION.split(raw) if g]
    if len(groups) < 2:
        return False
    if any(len(group) < 2 for group in groups[1:]):
        return False  # versions and ISBNs (`120.0.6099.109`, `978-3-16-148410-0`)
    return not (_THOUSANDS.fullmatch(raw) and len(groups[0]) == 1)


def _is_phone(
    raw: str, number: PhoneNumber, plan: _Plan, primary: bool, context: bool, bare: bool
) -> bool:
    import phonenumbers

    digits = _digits(raw)
    if not MIN_DIGITS <= len(digits) <= _MAX_DIGITS:
        return False
    international = _international(raw)
    if international is not None:
        return international
    if _DATE_PREFIX.match(raw.lstrip("(")) or not _fits_plan(number, plan):
        return False
    if context:
        return True
    if plan.trunk_zero and digits.startswith("0"):
        return len(digits) >= _MIN_TRUNK_DIGITS
    if len(digits) < _MIN_BARE_DIGITS or _ZIP_PLUS_FOUR.fullmatch(raw):
        return False
    if raw.isdigit():
        # A bare run of digits is read as a phone only in the region the recording is
        # from, and only where numbers are written without a trunk `0` (`5551234567`).
        return bare and primary and not plan.trunk_zero
    if not _grouped_like_a_phone(raw):
        return False
    if plan.trunk_zero:
        # Where numbers are dialled with `0`, one without it is an id, unless the region's
        # mobiles are written without it (`98765 43210`, `(11) 91234-5678`).
        return (
            plan.region in _TRUNK_OPTIONAL
            and len(digits) >= _MIN_MOBILE_DIGITS
            and phonenumbers.is_valid_number(number)
        )
    return primary or phonenumbers.is_valid_number(number)


def _spans(
    candidate: str, regions: Sequence[str], context: bool, bare: bool
) -> list[tuple[int, int]]:
    """Where phone numbers are in one candidate, trying each region until one claims it."""
    import phonenumbers

    found: list[tuple[int, int]] = []
    digits = _digits(candidate)
    # Only the primary region reads international forms (they name their own country)
    # and bare runs of digits without a trunk `0`; later regions cannot claim those.
    international = candidate.lstrip("( ").startswith("+") or digits.startswith(("00", "011"))
    if international and MIN_DIGITS <= len(digits) <= _MAX_DIGITS and _international(candidate):
        return [(0, len(candidate))]  # the matcher reads `00` only in regions dialling it
    primary_only = international or (candidate.isdigit() and not digits.startswith("0"))
    for index, region in enumerate(regions):
        if index and primary_only and not context:
            break
        plan = _plan(region)
        for match in phonenumbers.PhoneNumberMatcher(
            candidate, region, leniency=phonenumbers.Leniency.POSSIBLE
        ):
            span = (match.start, match.end)
            if span in found:
                continue
            if _is_phone(match.raw_string, match.number, plan, index == 0, context, bare):
                found.append(span)
        if found and sum(len(_digits(candidate[s:e])) for s, e in found) == len(digits):
            break
    return found


def redact_phones(
    text: str,
    mark: str,
    regions: Sequence[str],
    in_phone_field: bool = False,
    bare_numbers: bool = True,
) -> str:
    """Replace every phone number in `text` with `mark`.

    `regions` (see `recap.timeline.locale.phone_regions`) are tried in order, the first
    being where the recording most likely comes from. In a phone field, any number that
    fits a region's plan counts, however it is written. Without `bare_numbers` (URL paths
    and query values, where ids are), an ungrouped run of digits needs a `+` or a trunk `0`.
    """
    out: list[str] = []
    position = 0
    for candidate in _CANDIDATE.finditer(text):
        raw = candidate.group(0)
        if len(_digits(raw)) < MIN_DIGITS or _DECIMAL.fullmatch(raw):
            continue
        before = text[max(0, candidate.start() - _CONTEXT_CHARS) : candidate.start()]
        context = in_phone_field or _PHONE_CONTEXT.search(before) is not None
        if not context and _ID_CONTEXT.search(before) and not raw.startswith("+"):
            continue
        spans = _spans(raw, regions, context, bare_numbers)
        if not spans:
            continue
        offset = candidate.start()
        for start, end in sorted(spans):
            if offset + start < position:
                # Two regions read overlapping numbers: one mark covers both.
                position = max(position, offset + end)
                continue
            out.append(text[position : offset + start])
            out.append(mark)
            position = offset + end
    if not out:
        return text
    out.append(text[position:])
    return "".join(out)
