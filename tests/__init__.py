"""recap's tests, a pyramid that mirrors the code: `unit/` (pure functions), `integration/`
(store, sources, model client, API, real servers and loopback doubles), `workflows/` (the real
Temporal dev server, and replays of `workflows/histories/`), `e2e/` (the CLI as a process, the real
model server), `reliability/` (faults and bad inputs), and `support/` (the doubles and helpers)."""
