"""The starter side of Temporal: connect, start, await, query and cancel recap's workflows,
and manage the Temporal Schedules of scheduled summaries.

The only place in `recap/` that imports `temporalio.client`. May import `workflows`
(their classes and `workflows.contracts`), the services, the domain and the base.
"""
