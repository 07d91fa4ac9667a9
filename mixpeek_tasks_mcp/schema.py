"""Turn Pydantic model schemas into self-contained JSON schemas every MCP client accepts.

What comes out: no ``$ref``/``$defs`` (inlined, recursion unrolled to a fixed depth), no ``title``,
optionality through ``required`` instead of ``anyOf [T, null]``, ``anyOf`` instead of ``oneOf``, no
``additionalProperties`` (the server refuses unknown keys by name itself), ``type: object`` at the top, and
``minimum`` instead of ``exclusiveMinimum`` (google-genai's ``types.Schema`` refuses the latter; the words say
"more than", and the server still refuses the bound itself).

``schema_profiles`` derives the opt-in OpenAI-strict view from what this module produces.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel

from .models import MAX_FILTER_DEPTH

RECURSIVE_MODEL = "LogicalOperator"
CONDITION_MODEL = "FilterCondition"
UNROLLED_GROUP_LEVELS = 1
"""Group levels spelled out in full. AND/OR/NOT each hold groups, so a full unroll grows ~3x per level
(5 KB at 1 level, 11 KB at 2, 28 KB at 3, 422 KB at 5), and a client resends the schema with every request.
Nested groups are described as objects of the same shape: the schema stays small, still accepts every depth
the server allows, and the server checks every level with path-precise refusals."""
_SCALARS = [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]
NESTED_ITEM = {
    "type": "object",
    "properties": {
        "field": {"type": "string"},
        "operator": {"type": "string"},
        "value": {"anyOf": [*_SCALARS, {"type": "array", "items": {"anyOf": _SCALARS}}]},
    },
}
"""An item of a nested group. Every object carries properties (Gemini's OpenAPI subset turns a bare object
into a property-less OBJECT, which its API rejects); listing no ``required`` and no ``additionalProperties``
keeps deeper groups valid too."""
NESTED_GROUP = {
    "type": "object",
    "description": f"A nested AND/OR/NOT group of the same shape as its parent (at most {MAX_FILTER_DEPTH} "
    "levels in all); its items are conditions or further groups.",
    "properties": {
        **{key: {"type": "array", "items": NESTED_ITEM} for key in ("AND", "OR", "NOT")},
        "case_sensitive": {"type": "boolean"},
    },
}
DROPPED_KEYS = frozenset({"title", "$defs", "additionalProperties", "discriminator"})


@cache
def model_schema(model: type[BaseModel], mode: Literal["validation", "serialization"] = "validation") -> dict[str, Any]:
    """Pydantic's JSON schema of the model, made once per process (start-up builds it for tools/list; the checker
    reads its ``required`` lists, see ``validation.absent``). Shared: never mutate it."""
    return model.model_json_schema(mode=mode)


def self_contained_schema(model: type[BaseModel], *, mode: str = "validation") -> dict[str, Any]:
    """The model's JSON schema, inlined and simplified (see the module docstring)."""
    raw = model_schema(model, "validation" if mode == "validation" else "serialization")
    definitions: dict[str, Any] = raw.get("$defs", {})
    result = _simplify(raw, definitions, ())
    if not isinstance(result, dict) or result.get("type") != "object":
        raise ValueError(f"{model.__name__} does not produce an object schema")
    return result


def _simplify(node: Any, definitions: dict[str, Any], stack: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_simplify(item, definitions, stack) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name == RECURSIVE_MODEL and stack.count(name) >= UNROLLED_GROUP_LEVELS:
            return copy.deepcopy(NESTED_GROUP)
        target = _simplify(definitions[name], definitions, (*stack, name))
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        merged = {**target, **_simplify(siblings, definitions, stack)}
        return merged
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROPPED_KEYS or (key == "default" and value is None):
            continue
        if key == "properties":
            result[key] = {name: _simplify(sub, definitions, stack) for name, sub in value.items()}
        elif key in ("anyOf", "oneOf"):
            options = [
                option for option in (_simplify(sub, definitions, stack) for sub in value) if option != {"type": "null"}
            ]
            if len(options) == 1:
                result.update(options[0])
            else:
                result["anyOf"] = options
        else:
            result[key] = _simplify(value, definitions, stack)
    if "exclusiveMinimum" in result:
        bound = result.pop("exclusiveMinimum")
        result["minimum"] = bound
        result["description"] = f"{result.get('description', '')} Must be more than {bound}.".strip()
    if "anyOf" in result and {"type": "number"} in result["anyOf"] and {"type": "integer"} in result["anyOf"]:
        result["anyOf"].remove({"type": "integer"})  # number already admits integers
    if CONDITION_MODEL in stack or stack.count(RECURSIVE_MODEL) > 1:
        result.pop("description", None)  # repeated copies: the filters description explains them once
    return result
