"""Where a recording's users probably are, as phone-number regions for redaction.

Numbers written the national way (`07700 900123`, `030 1234567`) only parse with a region.
A recording hints at one through its page URL (a country-code TLD) and the document's
`<html lang>`; a fixed list of common regions follows the hints, so an unhinted
recording is still covered.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Final
from urllib.parse import urlsplit

FALLBACK_REGIONS: Final = ("US", "GB", "DE", "FR", "ES", "IT", "BR", "IN", "AU", "NL")
"""Tried after the hints, in this order; the first region of a list is its primary one."""

# Two-letter TLDs sold as generic names (`.io`, `.ai`, `.co`…) say nothing about a country.
_GENERIC_TLDS: Final = frozenset(
    {"ac", "ai", "am", "cc", "co", "fm", "gg", "io", "la", "ly", "me", "sh", "so", "tv", "to",
     "ws", "xyz", "app", "dev"}
)  # fmt: skip
_TLD_REGIONS: Final = {"uk": "GB"}
# A bare language tag (`lang="de"`) names the country most of its speakers dial from.
_LANGUAGE_REGIONS: Final = {
    "ar": "SA", "cs": "CZ", "da": "DK", "de": "DE", "el": "GR", "es": "ES", "fi": "FI",
    "fr": "FR", "he": "IL", "hi": "IN", "hu": "HU", "id": "ID", "it": "IT", "ja": "JP",
    "ko": "KR", "nb": "NO", "nl": "NL", "nn": "NO", "no": "NO", "pl": "PL", "pt": "BR",
    "ro": "RO", "ru": "RU", "sk": "SK", "sv": "SE", "th": "TH", "tr": "TR", "uk": "UA",
    "vi": "VN", "zh": "CN",
}  # fmt: skip


@cache
def _supported() -> frozenset[str]:
    # libphonenumber's metadata takes longer to import than a small recording takes to
    # compile, and most recordings never name a country: load it on the first one that does.
    import phonenumbers

    return frozenset(phonenumbers.SUPPORTED_REGIONS)


def region_of_url(url: str | None) -> str | None:
    """The country of a page's country-code TLD (`shop.example.de` -> `DE`), if any."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return None
    tld = host.rstrip(".").rpartition(".")[2]
    if len(tld) != 2 or tld == host or tld in _GENERIC_TLDS:
        return None
    region = _TLD_REGIONS.get(tld, tld.upper())
    return region if region in _supported() else None


def regions_of_lang(lang: str | None) -> tuple[str, ...]:
    """Regions a BCP 47 language tag names: its region subtag first, then its language's."""
    if not lang:
        return ()
    subtags = lang.replace("_", "-").split("-")
    found: list[str] = []
    for subtag in subtags[1:]:
        if len(subtag) == 2 and subtag.isalpha() and subtag.upper() in _supported():
            found.append(subtag.upper())
            break
    language = _LANGUAGE_REGIONS.get(subtags[0].lower())
    if language is not None:
        found.append(language)
    return tuple(found)


def phone_regions(url: str | None = None, lang: str | None = None) -> tuple[str, ...]:
    """The regions to parse national phone numbers with: hints first, then the fallbacks."""
    return _regions(region_of_url(url), lang.lower() if lang else None)


@lru_cache(maxsize=256)
def _regions(url_region: str | None, lang: str | None) -> tuple[str, ...]:
    # An explicit `de-AT` beats the TLD; a bare `de` follows it.
    from_lang = regions_of_lang(lang)
    explicit = from_lang[:1] if lang and "-" in lang.replace("_", "-") else ()
    hints = [*explicit, *([url_region] if url_region else []), *from_lang]
    return tuple(dict.fromkeys([*hints, *FALLBACK_REGIONS]))
