"""recap's Temporal activities: thin adapters, each calling one use case of `recap.services`
with the dependencies `worker.py` built them with (the store, the source opener, the model
factory), and mapping errors to typed `ApplicationError`s in one place (`activities.errors`).

Activity names (`@activity.defn(name=...)`) are part of recorded histories: they never
change. May import the services, the domain and the base; never `workflows`.
"""
