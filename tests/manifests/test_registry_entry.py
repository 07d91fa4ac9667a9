"""manifests/mcp/server.json: valid against the registry's schema, in step with the package, claimed in the README."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema

import mixpeek_tasks_mcp
from mixpeek_tasks_mcp.settings import Settings

from .clients import REPO

SERVER_JSON = REPO / "manifests" / "mcp" / "server.json"
SCHEMA = Path(__file__).with_name("server.schema.json")
SCHEMA_SHA256 = "3fba09590c99f61735d234822279f4223fab9e300c0a81e81c91ab62a4114de0"
SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"


def _entry() -> dict[str, Any]:
    data = json.loads(SERVER_JSON.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _pyproject() -> dict[str, Any]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert isinstance(project, dict)
    return project


def test_the_vendored_schema_is_the_published_one() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256
    assert json.loads(SCHEMA.read_text(encoding="utf-8"))["$id"] == SCHEMA_URL


def test_server_json_is_valid_against_the_registry_schema() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(_entry())]
    assert errors == []
    assert _entry()["$schema"] == SCHEMA_URL


def test_the_schema_check_has_teeth() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    for broken in ({"name": "no-slash"}, {"description": "x" * 101}, {"packages": [{"identifier": "x"}]}):
        assert not jsonschema.Draft7Validator(schema).is_valid({**_entry(), **broken}), broken


def test_versions_agree() -> None:
    entry = _entry()
    (package,) = entry["packages"]
    versions = {
        "pyproject": _pyproject()["version"],
        "__version__": mixpeek_tasks_mcp.__version__,
        "server.json version": entry["version"],
        "server.json package version": package["version"],
    }
    assert len(set(versions.values())) == 1, versions


def test_the_package_is_the_pypi_stdio_server() -> None:
    entry = _entry()
    (package,) = entry["packages"]
    assert re.fullmatch(r"io\.github\.[A-Za-z0-9-]+/[a-z0-9-]+", entry["name"])
    assert package["registryType"] == "pypi" and package["identifier"] == _pyproject()["name"]
    assert package["transport"] == {"type": "stdio"}
    assert _pyproject()["scripts"][package["identifier"]], "uvx runs the script named like the package"


def test_environment_variables_are_real_settings_with_their_defaults() -> None:
    (package,) = _entry()["packages"]
    variables = {v["name"]: v for v in package["environmentVariables"]}
    key = variables["MIXPEEK_API_KEY"]
    assert key["isSecret"] is True and key["isRequired"] is True
    assert [n for n, v in variables.items() if v.get("isSecret")] == ["MIXPEEK_API_KEY"]
    assert {"MIXPEEK_API_BASE", "MIXPEEK_NAMESPACE", "MIXPEEK_WAIT_DEFAULT_SECONDS"} <= set(variables)
    fields = Settings.model_fields
    for name, variable in variables.items():
        field = fields[name.removeprefix("MIXPEEK_").lower()]
        assert variable["description"]
        if "default" in variable:
            default = field.default
            assert variable["default"] == (f"{default:g}" if isinstance(default, float) else str(default)), name


def test_readme_claims_the_registry_name() -> None:
    """The registry checks PyPI ownership by finding ``mcp-name: <name>`` in the package's README."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"mcp-name: {_entry()['name']}" in readme
