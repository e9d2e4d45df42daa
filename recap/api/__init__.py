"""recap's HTTP API: authentication, rate limits and the FastAPI app."""
