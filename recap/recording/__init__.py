"""The raw recording: rrweb's constants, the `RawEvent` and `Recording` model every source
produces, the typed recording errors, and decoding (PostHog's `cv` compression, bounded).

The bottom of the domain: `sources/`, `timeline/` and the demo generator use it.
May import: `recap.core` only.
"""
