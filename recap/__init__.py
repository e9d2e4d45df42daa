"""recap: AI summaries of PostHog session recordings, on Temporal.

One folder per layer, top to bottom (each may import only the layers below it; the rules are
import-linter contracts in pyproject.toml, checked in CI):
- faces: `cli/`, `api/`, plus `demo/` and `doctor/` that the CLI runs;
- starter: `jobs/` (the only place that talks to Temporal as a client);
- services: `services/` (use cases taking their dependencies; the composition root);
- domain: `clustering/`, `store/`, `llm/`, `sources/`, `timeline/`, and `embedded/`;
- base: `recording/` (the raw recording model, rrweb) and `core/` (config, logging, metrics).
`workflows/` and `activities/` sit beside this package, between the starter and the services.
"""
