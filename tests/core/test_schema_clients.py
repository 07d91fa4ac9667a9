"""Every tool's input and output schema, in both profiles, through the clients' own schema libraries.

- JSON Schema 2020-12 (``jsonschema``'s meta-schema check), as any spec-following client reads it;
- ajv's ``Ajv2020`` with ``strict: true`` (VS Code, the MCP TypeScript SDK), pinned in tests/npm;
- google-genai: ``types.Schema``, ``FunctionDeclaration`` and its MCP bridge ``mcp_to_gemini_tool`` (Gemini);
- anthropic's ``transform_schema`` (Claude's strict tools);
- openai-agents' ``ensure_strict_json_schema`` as its MCP utility calls it, and OpenAI's strict-mode rules
  written out, on the ``openai-strict`` profile.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import mcp.types
import pytest
from agents.strict_schema import ensure_strict_json_schema
from anthropic.lib._parse._transform import transform_schema
from google.genai import types as genai
from google.genai._mcp_utils import mcp_to_gemini_tool

from mixpeek_tasks_mcp.schema_profiles import SchemaProfile

from .schema_walk import PROFILES, every_schema, listed_tools, schema_nodes

NPM = Path(__file__).parent.parent / "npm"
NODE = NPM / "node_modules" / ".bin" / "node"
CASES = [(profile, name) for profile in PROFILES for name, _ in every_schema(profile)]


def schema_of(profile: SchemaProfile, name: str) -> dict[str, Any]:
    return dict(every_schema(profile))[name]


@pytest.mark.parametrize(("profile", "name"), CASES)
def test_every_node_has_a_type(profile: SchemaProfile, name: str) -> None:
    """Typeless nodes make Anthropic's transform_schema raise and leave Gemini guessing."""
    for path, node, _ in schema_nodes(schema_of(profile, name)):
        assert "type" in node or node.get("anyOf"), f"{name} {path} has no type: {node}"
        for option in node.get("anyOf", []):
            assert "type" in option or option.get("anyOf"), f"{name} {path} anyOf option without a type"


@pytest.mark.parametrize(("profile", "name"), CASES)
def test_json_schema_2020_12_meta_schema(profile: SchemaProfile, name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(schema_of(profile, name))


@pytest.mark.parametrize(("profile", "name"), CASES)
def test_google_genai_schema_and_function_declaration(profile: SchemaProfile, name: str) -> None:
    schema = schema_of(profile, name)
    parsed = genai.Schema.model_validate(schema)
    assert parsed.type == genai.Type.OBJECT
    genai.FunctionDeclaration(name="tool", description="d", parameters=parsed)
    genai.FunctionDeclaration(name="tool", description="d", parameters_json_schema=schema)


def test_google_genai_mcp_bridge_on_the_default_profile() -> None:
    """google-genai's own MCP bridge: it drops camelCase constraints (minLength, maxItems, ...) silently,
    which is why the server enforces every one itself. (It fails on ``additionalProperties: false``, so the
    openai-strict profile is not for Gemini hosts; the README says so.)"""
    for tool in listed_tools("default"):
        converted = mcp_to_gemini_tool(mcp.types.Tool.model_validate(tool))
        (declaration,) = converted.function_declarations or []
        assert declaration.name == tool["name"]
        assert declaration.parameters is not None
        assert set(declaration.parameters.properties or {}) == set(tool["inputSchema"]["properties"])


@pytest.mark.parametrize(("profile", "name"), CASES)
def test_anthropic_transform_schema(profile: SchemaProfile, name: str) -> None:
    schema = schema_of(profile, name)
    transformed = transform_schema(schema)
    assert transformed["type"] == "object"
    assert set(transformed["properties"]) == set(schema["properties"])


@pytest.mark.parametrize("profile", PROFILES)
def test_openai_agents_strict_conversion(profile: SchemaProfile) -> None:
    """What the Agents SDK's MCP utility does with convert_schemas_to_strict=True; on the strict profile the
    schema is already strict, so the conversion changes nothing."""
    for tool in listed_tools(profile):
        schema = tool["inputSchema"]
        converted = ensure_strict_json_schema(copy.deepcopy(schema), _reject_open_objects=True)
        if profile == "openai-strict":
            assert converted == schema, tool["name"]


OPENAI_STRICT_KEYWORDS = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "anyOf",
    "enum",
    "const",
    "description",
    # supported constraints (kept out of our strict view anyway: older strict implementations refuse them)
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
}
OPENAI_MAX_OBJECT_DEPTH = 10
OPENAI_MAX_PROPERTIES = 5000
OPENAI_MAX_SCHEMA_STRINGS = 120_000


def openai_strict_problems(schema: dict[str, Any]) -> list[str]:
    """OpenAI's structured-outputs rules for strict function parameters, written out."""
    problems = []
    if schema.get("type") != "object" or "anyOf" in schema:
        problems.append("the root must be a plain object")
    properties = 0
    strings = 0
    for path, node, depth in schema_nodes(schema):
        for keyword in set(node) - OPENAI_STRICT_KEYWORDS:
            problems.append(f"{path}: keyword {keyword} is not supported in strict mode")
        if node.get("type") == "object":
            if node.get("additionalProperties") is not False:
                problems.append(f"{path}: additionalProperties must be false")
            if set(node.get("required", [])) != set(node.get("properties", {})):
                problems.append(f"{path}: every property must be required")
            if depth > OPENAI_MAX_OBJECT_DEPTH:
                problems.append(f"{path}: nested {depth} objects deep")
            properties += len(node.get("properties", {}))
            strings += sum(len(name) for name in node.get("properties", {}))
        strings += sum(len(str(value)) for value in node.get("enum", []))
        if "type" not in node and "anyOf" not in node and "enum" not in node:
            problems.append(f"{path}: no type")
    if properties > OPENAI_MAX_PROPERTIES:
        problems.append(f"{properties} properties in all")
    if strings > OPENAI_MAX_SCHEMA_STRINGS:
        problems.append(f"{strings} characters of property names and enum values")
    return problems


def test_the_strict_profile_follows_openai_strict_rules() -> None:
    for tool in listed_tools("openai-strict"):
        assert openai_strict_problems(tool["inputSchema"]) == [], tool["name"]


def test_the_default_profile_is_not_strict_so_the_rules_can_fail() -> None:
    """The default schemas keep minLength, default, optional properties...: the rule check finds them."""
    for tool in listed_tools("default"):
        problems = openai_strict_problems(tool["inputSchema"])
        assert any("every property must be required" in problem for problem in problems), tool["name"]
        assert any("additionalProperties" in problem for problem in problems), tool["name"]


def test_the_strict_profile_keeps_the_constraints_in_words() -> None:
    tools = {tool["name"]: tool["inputSchema"]["properties"] for tool in listed_tools("openai-strict")}
    limit = tools["list_tasks"]["limit"]
    assert limit["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    assert "From 1 to 100." in limit["description"] and "Default 20" in limit["description"]
    assert "From 1 to 200 characters." in tools["wait_for_task"]["task_id"]["description"]
    assert "more than 0." in tools["triage_tasks"]["timeout_seconds"]["description"]
    assert tools["list_tasks"]["status"]["anyOf"][-1] == {"type": "null"}


@pytest.fixture(scope="module")
def node() -> Path:
    if not NODE.exists():
        reason = "pinned npm packages missing: run `npm ci` in tests/npm"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI must run these tests, not skip them)")
        pytest.skip(reason)
    return NODE


def ajv_compile(node: Path, schemas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(node), str(NPM / "ajv_compile.mjs")],
        input=json.dumps(schemas),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=NPM,
    )
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


@pytest.mark.npm
def test_ajv_2020_strict_compiles_every_schema(node: Path) -> None:
    schemas = [{"name": f"{profile} {name}", "schema": schema_of(profile, name)} for profile, name in CASES]
    control = {"name": "control", "schema": {"type": "object", "properties": {"a": {"type": "string", "frob": 1}}}}
    results = ajv_compile(node, [*schemas, control])
    assert results[-1]["ok"] is False and "frob" in results[-1]["error"], results[-1]
    failures = [result for result in results[:-1] if not result["ok"]]
    assert failures == []
    assert len(results) == len(CASES) + 1
