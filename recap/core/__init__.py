"""What every layer uses: settings, logging, metrics, tracing, retries outside Temporal, and the
names (workflow ids, search attributes) that processes must agree on.

May import: nothing else from recap; never temporalio.
"""
