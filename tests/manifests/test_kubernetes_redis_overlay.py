"""manifests/overlays/redis/: the base plus a Valkey the replicas share, valid against the Kubernetes schemas,
rendered by kustomize, and wired the way the server reads it (URL in the ConfigMap, password by reference)."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import kubernetes_validate
import pytest
import yaml

from .clients import REPO
from .kube import APP, load_all
from .test_kubernetes_schema import VERSIONS

OVERLAY = REPO / "manifests" / "overlays" / "redis"
VALKEY = f"{APP}-valkey"
WHOLE_OBJECTS = ["valkey.yaml", "networkpolicy-valkey.yaml", "secret.example.yaml", "ingress.example.yaml"]
"""The overlay's files that are complete objects (the others are patches)."""


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", WHOLE_OBJECTS)
def test_each_object_is_valid_strictly(path: str, version: str) -> None:
    for doc in load_all(OVERLAY / path):
        kubernetes_validate.validate(doc, version, strict=True)


def test_every_file_is_either_applied_or_an_example() -> None:
    (kustomization,) = load_all(OVERLAY / "kustomization.yaml")
    used = set(kustomization["resources"][1:]) | {patch["path"] for patch in kustomization["patches"]}
    present = {path.name for path in OVERLAY.glob("*.yaml")} - {"kustomization.yaml"}
    assert present - used == {"secret.example.yaml", "ingress.example.yaml"}
    assert kustomization["resources"][0] == "../../kubernetes"


def test_the_ingress_example_routes_a_session_to_one_replica() -> None:
    (ingress,) = load_all(OVERLAY / "ingress.example.yaml")
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/upstream-hash-by"] == "$http_mcp_session_id"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": APP, "port": {"name": "http"}}


@pytest.fixture(scope="module")
def rendered() -> dict[tuple[str, str], dict[str, Any]]:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed (its kustomize renders offline)")
    out = subprocess.run(["kubectl", "kustomize", str(OVERLAY)], capture_output=True, text=True, timeout=60, check=True)
    docs = [doc for doc in yaml.safe_load_all(out.stdout) if doc]
    for doc in docs:
        kubernetes_validate.validate(doc, VERSIONS[0], strict=True)
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def test_the_server_gets_the_url_from_the_configmap_and_the_password_by_reference(
    rendered: dict[tuple[str, str], dict[str, Any]],
) -> None:
    config = rendered[("ConfigMap", APP)]["data"]
    assert config["MIXPEEK_REDIS_URL"] == f"redis://{VALKEY}:6379/0" and "@" not in config["MIXPEEK_REDIS_URL"]
    env = {item["name"]: item for item in _container(rendered[("Deployment", APP)])["env"]}
    assert env["MIXPEEK_REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": APP, "key": "redis-password"}
    valkey = _container(rendered[("Deployment", VALKEY)])
    assert valkey["env"][0]["valueFrom"]["secretKeyRef"] == {"name": APP, "key": "redis-password"}
    assert "$(VALKEY_PASSWORD)" in valkey["args"] and "Secret" not in {kind for kind, _ in rendered}


def test_only_the_server_reaches_valkey_and_valkey_reaches_nothing(
    rendered: dict[tuple[str, str], dict[str, Any]],
) -> None:
    server_egress = rendered[("NetworkPolicy", APP)]["spec"]["egress"]
    to_valkey = [rule for rule in server_egress if "to" in rule]
    assert to_valkey == [
        {
            "to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": VALKEY}}}],
            "ports": [{"port": 6379, "protocol": "TCP"}],
        }
    ]
    assert len(server_egress) == 3  # DNS and HTTPS from the base are kept
    policy = rendered[("NetworkPolicy", VALKEY)]["spec"]
    assert policy["egress"] == [] and policy["policyTypes"] == ["Ingress", "Egress"]
    (ingress,) = policy["ingress"]
    assert ingress["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": APP}}}]
    service = rendered[("Service", VALKEY)]["spec"]
    assert service["selector"] == {"app.kubernetes.io/name": VALKEY} and service["ports"][0]["port"] == 6379


def test_valkey_runs_restricted_and_keeps_nothing_on_disk(rendered: dict[tuple[str, str], dict[str, Any]]) -> None:
    deployment = rendered[("Deployment", VALKEY)]
    pod, container = deployment["spec"]["template"]["spec"], _container(deployment)
    assert pod["securityContext"]["runAsNonRoot"] and pod["automountServiceAccountToken"] is False
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
    assert security["capabilities"]["drop"] == ["ALL"]
    args = container["args"]
    assert args[args.index("--save") + 1] == "" and args[args.index("--appendonly") + 1] == "no"
    assert pod["volumes"] == [{"name": "data", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}]
