"""What replicas share through Redis (or Valkey) when ``MIXPEEK_REDIS_URL`` is set; nothing here runs without it.

- ``status``: is Redis in use and reachable (``redis_status()``, ``redis_up()``), read by /healthz and gauges.
  Importing it imports no Redis client.
- ``link``: the one connection manager: short timeouts on every call, a warning once per outage,
  reconnection with backoff, never an exception a caller has to know about beyond ``SharedUnavailable``.
- ``limiter``: the per-key request budget as one atomic Lua token bucket per grant.
- ``observations``: a lease per task and poll step, so one replica polls and the others read its result.
- ``events``: a ``SubscriptionBus`` over Redis pub/sub, and the per-key task-change topics.
- ``progress``: triage's progress memory, with a TTL.
- ``setup``: builds all of it from the settings (imported only when the URL is set).

Redis holds no secret: keys are named by a hash of the key identity, every value is small and has a TTL.
"""
