"""Schema profiles: the input schemas as advertised, or the OpenAI-strict view derived from them.

``default`` is what ``schema.py`` makes of the argument models, the shapes every client accepts. ``openai-strict``
(``MIXPEEK_SCHEMA_PROFILE=openai-strict``) is for hosts that turn on OpenAI strict function calling (or the Agents
SDK's strict option) on MCP tools. Strict mode makes the model fill every property and refuses keywords it does not
know, so the view:

- lists every property in ``required``; what the model may leave out becomes nullable (``anyOf [T, null]``);
- sets ``additionalProperties: false`` on every object;
- keeps only the keywords strict mode and its converters take (``STRICT_KEYWORDS``); the others (lengths, bounds,
  defaults, patterns, ...) are spelled out in the node's description, and the server still enforces them.

It is a transform of the default schema, so a new argument or a new tool gets it by being in its model; the checker
(``validation.absent``) reads the nulls, empty strings and empty lists such a model sends as "not given".
Output schemas are not touched: strict mode is about the arguments a model writes, and an output schema listing
every property as required would refuse the compact structured content the tools return.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal

SchemaProfile = Literal["default", "openai-strict"]
SCHEMA_PROFILES: tuple[SchemaProfile, ...] = ("default", "openai-strict")
STRICT_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties", "items", "anyOf", "enum"})
"""The keywords the strict view keeps (``description`` besides): all of them in OpenAI's supported subset."""
NULL = {"type": "null"}


def for_profile(schema: dict[str, Any], profile: SchemaProfile) -> dict[str, Any]:
    """The input schema as ``profile`` advertises it (a new dict; ``schema`` is left as it is)."""
    if profile == "openai-strict":
        return openai_strict(schema)
    return schema


def openai_strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI-strict view of a self-contained object schema (see the module docstring)."""
    if schema.get("type") != "object" or "anyOf" in schema:
        raise ValueError("a strict schema's root is a plain object")
    strict: dict[str, Any] = _strict(schema)
    return strict


def _strict(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    moved: dict[str, Any] = {}
    for key, value in node.items():
        if key == "description":
            continue
        if key not in STRICT_KEYWORDS:
            moved[key] = value
        elif key == "properties":
            required = set(node.get("required", ()))
            result[key] = {
                name: _strict(sub) if name in required else _nullable(_strict(sub)) for name, sub in value.items()
            }
        elif key == "items":
            result[key] = _strict(value)
        elif key == "anyOf":
            result[key] = [_strict(option) for option in value]
        elif key != "required" and key != "additionalProperties":
            result[key] = value
    if "properties" in result:
        result["required"] = list(result["properties"])
        result["additionalProperties"] = False
    description = " ".join(part for part in (node.get("description", ""), constraint_words(moved)) if part)
    if description:
        result["description"] = description
    return result


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    """``node`` or null: what a strict model writes for an argument it means to leave out."""
    if "anyOf" in node:
        return {**node, "anyOf": [*node["anyOf"], NULL]}
    description = node.get("description")
    inner = {key: value for key, value in node.items() if key != "description"}
    wrapped: dict[str, Any] = {"anyOf": [inner, NULL]}
    if description:
        wrapped["description"] = description
    return wrapped


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value)


def _span(low: Any, high: Any, unit: str) -> Iterable[str]:
    unit_text = f" {unit}" if unit else ""
    if unit and low == 1 and high is None:
        yield "Not empty."
    elif low is not None and high is not None:
        yield f"From {_number(low)} to {_number(high)}{unit_text}."
    elif low is not None:
        yield f"At least {_number(low)}{unit_text}."
    elif high is not None:
        yield f"At most {_number(high)}{unit_text}."


def constraint_words(moved: dict[str, Any]) -> str:
    """The keywords the strict view leaves out, in words the model reads (``From 1 to 100. Default 20.``)."""
    words: list[str] = []
    rest = dict(moved)
    words += _span(rest.pop("minimum", None), rest.pop("maximum", None), "")
    if "exclusiveMinimum" in rest:
        words.append(f"More than {_number(rest.pop('exclusiveMinimum'))}.")
    if "exclusiveMaximum" in rest:
        words.append(f"Less than {_number(rest.pop('exclusiveMaximum'))}.")
    words += _span(rest.pop("minLength", None), rest.pop("maxLength", None), "characters")
    words += _span(rest.pop("minItems", None), rest.pop("maxItems", None), "items")
    if "pattern" in rest:
        words.append(f"Matches the pattern {rest.pop('pattern')}.")
    if "default" in rest:
        default = rest.pop("default")
        if default is not None:
            words.append(f"Default {_number(default)} (send null for it).")
    words += [f"{key}: {json.dumps(value)}." for key, value in rest.items()]
    return " ".join(words)
