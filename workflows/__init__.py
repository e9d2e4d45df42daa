"""recap's deterministic Temporal workflows, one per file, with their inputs, results and
progress in `workflows.contracts` and the sliding-window fan-out written once.

May import: temporalio, `workflows.contracts`, `recap.core.naming`, `recap.recording.filters`,
and `activities` only under `workflow.unsafe.imports_passed_through()`. Never an I/O module
(sources, store, model clients, httpx, sqlalchemy): the sandbox re-imports what workflows import.
"""
