"""Tests across a real boundary: SQLite and Postgres stores, recording sources, the model client
and the API over loopback doubles, the embedded servers, the doctor, metrics, benchmarks."""
