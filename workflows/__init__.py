"""recap's deterministic Temporal workflows, one per file: `session_summary` (one session),
`batch_summaries` (many, each as a child), `scheduled_summaries` (a schedule's run) and
`cluster_errors`. Their inputs, results and progress are in `workflows.contracts`, the
retry policies in `workflows.retry_policies`, and the sliding-window fan-out, written once,
in `workflows.sliding_window`.

May import: temporalio, `workflows.*`, `recap.core.naming`, and `activities` (whose classes
name the activities and whose models are their payloads) or `workflows.contracts` only
under `workflow.unsafe.imports_passed_through()`. Never an I/O module (sources, store,
model clients, httpx, sqlalchemy): the sandbox re-imports what workflows import.
Workflow type names are part of recorded histories and Schedules: they never change.
"""
