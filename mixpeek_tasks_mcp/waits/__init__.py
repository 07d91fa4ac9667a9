"""Where the wait is: everything ``wait_for_task`` and subscriptions use to follow tasks until they finish.

- ``rules``: when an observation ends a wait, and with which outcome (``settled``, ``outcome_of``,
  ``is_transient``).
- ``schedule``: the backoff between polls, and the memory that resumes it across calls.
- ``estimate``: polls aimed at an estimated finish (tiers, queue position).
- ``poller``: the one shared poll loop (shared and batched checks, per credentials).
- ``follow``: a wait on one task, many tasks, or a selection, on the poller.
- ``answer``: what the agent reads (text, structured content, the call that keeps waiting).
- ``reference``: a stand-alone poll loop kept only for tests and the bench.

Nothing is imported here: start-up loads only what the server itself needs.
"""
