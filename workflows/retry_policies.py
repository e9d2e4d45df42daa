"""Every retry policy recap's workflows schedule activities with, named once by what the
activity talks to. Typed failures that retrying cannot fix (`activities.errors`) are final.

Changing a policy changes the commands of new workflow runs: keep the values stable.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.errors import NON_RETRYABLE_TYPES

# A store read or write: quick retries while the database is busy or restarting.
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
)

# A store write whose typed failures are final (storing a run's cluster names).
TYPED_STORE_RETRY = replace(STORE_RETRY, non_retryable_error_types=list(NON_RETRYABLE_TYPES))

# Fetching and compiling a recording, or crunching a team's errors: PostHog may answer
# 429 or 5xx for a while; a missing or invalid recording is final.
SOURCE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
    non_retryable_error_types=list(NON_RETRYABLE_TYPES),
)

# Listing a source's recordings for a scheduled run.
LISTING_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
    non_retryable_error_types=list(NON_RETRYABLE_TYPES),
)

# A model call: backs off further, since a busy model needs time (a 429's Retry-After
# replaces the backoff for the next attempt).
MODEL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=4,
    non_retryable_error_types=list(NON_RETRYABLE_TYPES),
)

# Naming an error cluster: a model call, and a cluster that a later run replaced is gone.
NAMING_RETRY = replace(
    MODEL_RETRY, non_retryable_error_types=[*NON_RETRYABLE_TYPES, "cluster_missing"]
)

# Joining a summary workflow that someone else started.
JOIN_RETRY = RetryPolicy(maximum_attempts=5)

# Recording a scheduled run's handoff: its batch has started, so keep trying, or its
# sessions would be handed again.
HANDOFF_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
