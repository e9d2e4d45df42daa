"""Storage, SQLite or Postgres through SQLAlchemy with alembic migrations: every table and its
repository (summaries and timelines, API keys, error clusters, schedule watermarks, the
session index).

May import: the domain below it (`clustering`, `llm`, `timeline`), `recording`, `core`;
never temporalio, workflows or activities.
"""
