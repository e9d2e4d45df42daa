"""Workflows on the real Temporal dev server, and replays of the recorded histories in
`histories/` (a change to a workflow's commands fails here first)."""
