"""triage_tasks: what is failing or stuck across thousands of tasks, and why, in one bounded answer.

``run`` drives it: ``scan`` walks the matching tasks page by page into a ``Tally`` (counters, not tasks);
``groups`` turns the error signatures into ranked causes with drill-down calls; ``stuck`` judges the active
tasks; ``report`` writes the text within its budget. Nothing is imported here, so the server can start without
loading any of it (the tool imports ``run`` on its first call).
"""
