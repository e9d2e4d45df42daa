"""Use cases as plain functions that take their dependencies (compile, summarize and store
one session; select a scheduled run's recordings; cluster errors), and the composition root
that turns `Settings` into the store, the model client and the recording source.

Activities, the CLI, the API and benchmarks call these. May import the domain and the base;
never temporalio, `workflows` or `activities`.
"""
