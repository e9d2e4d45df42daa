"""Sample sessions for `recap demo` and tests, recorded the way posthog-js and rrweb would."""

from recap.demo.generator import SCENARIOS, SampleSession, generate_session, write_sample_sessions

__all__ = ["SCENARIOS", "SampleSession", "generate_session", "write_sample_sessions"]
