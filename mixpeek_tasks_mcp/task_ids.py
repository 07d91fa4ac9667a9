"""What a task id may be, checked the same way by every surface that takes one (issue 18, point 6).

Mixpeek puts no format on task ids (UUIDs, or custom strings), but a task id becomes a path segment of
``GET /v1/tasks/{task_id}``: ``.`` and ``..`` survive percent-quoting and the HTTP client resolves them
(``/v1/tasks/..`` is ``/v1``), and ``/``, ``\\``, ``?``, ``#``, ``%`` or whitespace could change the request path
in a proxy on the way. Such ids are refused by the tools, the resource URIs, the prompts and subscribe, and
``TasksClient.get_task`` refuses to build such a path even if a caller forgot (defence in depth).
"""

from __future__ import annotations

from typing import Final

MAX_TASK_ID_CHARS: Final = 200
MAX_ECHO_CHARS: Final = 60
"""How much of a refused id an error quotes."""
PATH_CHARACTERS: Final = frozenset("/\\?#%")


def task_id_problem(task_id: str) -> str | None:
    """Why ``task_id`` (already stripped) is not a task id, or None when it is one."""
    if not task_id:
        return "is empty"
    if len(task_id) > MAX_TASK_ID_CHARS:
        return f"is {len(task_id):,} characters long (a task id has at most {MAX_TASK_ID_CHARS})"
    if set(task_id) == {"."}:
        return "is a dot segment, not a task id"
    if PATH_CHARACTERS.intersection(task_id):
        return "holds a character that would change the request path (/ \\ ? # %)"
    if any(character.isspace() or not character.isprintable() for character in task_id):
        return "holds whitespace or a control character"
    return None


def echo(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """A short quotation of what was refused (its repr, clipped), never the whole input."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"


def checked_task_id(task_id: str) -> str:
    """``task_id`` stripped; ValueError saying what is wrong (with a short echo) if it is not a task id."""
    stripped = task_id.strip()
    problem = task_id_problem(stripped)
    if problem is not None:
        raise ValueError(f"{echo(task_id)} {problem}: copy a task id from list_tasks.")
    return stripped
