"""The server's request budget: one per Mixpeek API key, learned from Mixpeek's own rate-limit headers.

- ``context``: who is asking (priority, owner session, still wanted?) and the note an answer reads;
- ``learned``: the X-RateLimit-* headers as numbers;
- ``adaptive``: AIMD from 429s alone, for an API that sends no headers;
- ``scheduler``: interactive before background, background sessions in turn;
- ``key``: one key's budget (a moving-window log rebased on the API's word, Retry-After pauses);
- ``keys``: the bounded table of per-key budgets;
- ``hooks``: where metrics listen.
"""

from .context import BudgetNote, Priority, RequestContext, acting_as, current_context, owner_of
from .key import BudgetPolicy, BudgetTimeout, KeyBudget, RequestDropped, SharedLimiter
from .keys import KeyBudgets, key_fingerprint

__all__ = [
    "BudgetNote",
    "BudgetPolicy",
    "BudgetTimeout",
    "KeyBudget",
    "KeyBudgets",
    "Priority",
    "RequestContext",
    "RequestDropped",
    "SharedLimiter",
    "acting_as",
    "current_context",
    "key_fingerprint",
    "owner_of",
]
