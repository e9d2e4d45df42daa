"""recap's HTTP API: `app.py` assembles it (`create_app`); `deps.py` holds the lifetime
state and the authenticated caller as dependencies; `middleware.py` the request log and
body limit; `routes/` one module per resource; `catalog.py` the recordings' metadata;
`errors.py`, `models.py` and `responses.py` what it answers; `server.py` serves it.

A face: may import everything below it (jobs, workflows' contracts, services, domain, base);
within `recap/` only the CLI imports it.
"""
