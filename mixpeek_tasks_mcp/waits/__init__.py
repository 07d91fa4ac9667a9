"""Where the wait is: everything ``wait_for_task`` and subscriptions use to follow tasks until they finish.

One wait, top to bottom (each module calls only the ones below it):

- ``answer``: what to wait on (a task, task ids, a selection such as a batch), and the structured answer.
- ``text``: what the agent reads: outcomes, when each task finished vs when this call saw it, the next call.
- ``follow``: the wait itself: one task, many tasks (until all / any), or a selection until none is active.
- ``selection``: a selection's survey (what matches, what is active) and its outcome figures.
- ``poller``: the one shared poll loop (shared and batched checks, per credentials); it schedules each task's
  next check from ``schedule`` (the backoff, and its memory across calls) and ``estimate`` (a poll aimed at
  an estimated finish, only ever earlier than the backoff's).
- ``subscription``: a wait's side of the poller: the tasks it follows and the observations it was handed.
- ``rules``: when an observation ends a wait, with which outcome, and when the task finished (``settled``,
  ``outcome_of``, ``is_transient``, ``finish_time``).

Nothing is imported here: start-up loads only what the server itself needs (the poller, for subscriptions).
"""
