"""The model stage: the OpenAI-protocol client, the summary contract (`schema.py`), prompts
rendered from the versioned templates in `prompts/`, one summary call, and the gate that keeps
only claims citing events that exist.

May import: `recap.timeline`, `recording`, `core`; never the store, sources or temporalio.
"""
