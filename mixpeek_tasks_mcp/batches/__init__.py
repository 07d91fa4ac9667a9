"""Batches: from a diagnosis to an action (issue 20).

``inspect_batch`` (read-only) answers "what exactly went wrong in batch X": tiers, failed objects by class, the
failing tier's log tail, a sample of failed documents and the literal next calls. ``cancel_tasks`` and
``retry_batch`` act, only when the operator turned writes on, and only after a confirmation (an elicitation
form, or a preview plus a one-use token). ``tools`` registers them; the rest is imported on first use.
"""
