"""Delivering reports and digests to where a team works: Slack and signed webhooks.

Plain functions over the report models: `links` says where a report and its example
sessions are seen, `slack` and `webhook` build one message per report or digest, and
`sender` posts it and says what the answer means. Never temporalio, never the store.
"""
