"""Read "not given" the way a model that fills every field writes it: null, "", [] or {} for an optional argument.

Strict function calling (OpenAI's strict tools, the Agents SDK's strict option, the ``openai-strict`` schema
profile) makes a model fill every property, so for what it means to leave out it writes ``null``, an empty string or
an empty list: ``{"task_id": "t1", "task_ids": null, "filters": {"AND": [...], "OR": [], "NOT": []}}``. Those
are dropped here, before any check, and so is an optional object holding only such values, false flags or its
keys' own defaults (``"sort": {"field": "", "direction": "desc"}``), and ``false`` for an optional flag that
defaults to null (``case_sensitive``: off either way). So they neither conflict with the arguments
that are given nor get refused as empty. A value that still conflicts (``offset: 5`` with a cursor) is refused
by the checks as before.

What is optional is read from the argument model's own JSON schema (its ``required`` lists), at every level the
arguments nest: filter groups, conditions, sort. So a new argument, or a new tool's model, is covered by being
declared. A condition's ``value`` is required, so ``"value": null`` still reaches the check that explains it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from ..schema import model_schema
from .problems import UndecodableJSON, decode_json_text

MAX_WALK_DEPTH = 24
"""Levels of arguments walked (5 filter groups take ~12); deeper input is left to the checks, which refuse it."""
MAX_BRANCH_DEPTH = 8
"""``$ref``/``anyOf`` hops followed to find a node's concrete shapes."""


def is_absent(value: Any) -> bool:
    """null, a blank string, an empty list or an empty object."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, list | dict) and not value)


def _holds_nothing(value: dict[Any, Any], shape: dict[str, Any]) -> bool:
    """An object whose every value is absent, false, or its key's own default: ``{"field": "", "direction":
    "desc"}`` for a sort, ``{"case_sensitive": false}`` for a filter group with only empty lists."""
    properties: dict[str, Any] = shape.get("properties", {})
    return all(
        is_absent(item) or item is False or (key in properties and properties[key].get("default", None) == item)
        for key, item in value.items()
    )


def without_absent(arguments: Mapping[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """``arguments`` without the optional ones, at any depth, that hold nothing (see the module docstring)."""
    schema = model_schema(model, "validation")
    return _prune_object(dict(arguments), schema, schema.get("$defs", {}), 0)


def _shapes(node: Any, definitions: dict[str, Any], hops: int = 0) -> list[dict[str, Any]]:
    """The concrete schemas a node stands for: ``$ref`` followed, ``anyOf``/``oneOf`` flattened."""
    if not isinstance(node, dict) or hops > MAX_BRANCH_DEPTH:
        return []
    if "$ref" in node:
        return _shapes(definitions.get(str(node["$ref"]).rsplit("/", 1)[-1]), definitions, hops + 1)
    options = node.get("anyOf") or node.get("oneOf")
    if isinstance(options, list):
        return [shape for option in options for shape in _shapes(option, definitions, hops + 1)]
    return [node]


def _prune(value: Any, node: Any, definitions: dict[str, Any], depth: int) -> Any:
    if depth > MAX_WALK_DEPTH:
        return value
    shapes = _shapes(node, definitions)
    objects = [shape for shape in shapes if shape.get("type") == "object" and "properties" in shape]
    arrays = [shape for shape in shapes if shape.get("type") == "array" and "items" in shape]
    if isinstance(value, str) and (objects or arrays):
        try:
            decoded = decode_json_text(value)  # the checks decode JSON texts too; they refuse what is undecodable
        except UndecodableJSON:
            return value
        if isinstance(decoded, dict | list):
            value = decoded
    if isinstance(value, dict) and objects:
        shape = _best_shape(value, objects)
        return _prune_object(value, shape, definitions, depth + 1)
    if isinstance(value, list) and arrays:
        return [_prune(item, arrays[0]["items"], definitions, depth + 1) for item in value]
    return value


def _best_shape(value: dict[Any, Any], objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The object shape that declares most of the given keys: a condition (field, operator, value) or a group."""
    return max(objects, key=lambda shape: sum(1 for key in value if key in shape["properties"]))


def _empty_object(value: Any, node: Any, definitions: dict[str, Any]) -> bool:
    if not isinstance(value, dict):
        return False
    objects = [shape for shape in _shapes(node, definitions) if shape.get("type") == "object" and "properties" in shape]
    return bool(objects) and _holds_nothing(value, _best_shape(value, objects))


def _off_flag(value: Any, node: Any, definitions: dict[str, Any]) -> bool:
    """``false`` for an optional flag whose default is null: off, as leaving it out is (``case_sensitive``)."""
    if value is not False or not isinstance(node, dict) or node.get("default") is not None:
        return False
    kinds = {shape.get("type") for shape in _shapes(node, definitions)}
    return kinds <= {"boolean", "null"} and "boolean" in kinds


def _prune_object(
    value: dict[Any, Any], node: dict[str, Any], definitions: dict[str, Any], depth: int
) -> dict[str, Any]:
    properties: dict[str, Any] = node.get("properties", {})
    required = set(node.get("required", ()))
    result: dict[Any, Any] = {}
    for key, item in value.items():
        if isinstance(key, str) and key in properties:
            item = _prune(item, properties[key], definitions, depth)
            blank = is_absent(item) or _off_flag(item, properties[key], definitions)
            if key not in required and (blank or _empty_object(item, properties[key], definitions)):
                continue
        result[key] = item
    return result
