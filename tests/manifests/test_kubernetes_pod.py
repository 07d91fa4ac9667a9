"""What the pod runs with: security settings, probes, secrets by reference, and the pod's env run for real."""

from __future__ import annotations

import json
import re
from typing import Any

import anyio
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from mixpeek_tasks_mcp.sandbox import RunningSandbox

from .clients import REPO, entry_point
from .conftest import API_KEY, TOKEN, clean_env, serving
from .dockerfile import stages
from .kube import APP, container, kustomization, of_kind

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)


def _pod() -> dict[str, Any]:
    spec = of_kind("Deployment")["spec"]["template"]["spec"]
    assert isinstance(spec, dict)
    return spec


def _config() -> dict[str, str]:
    data = of_kind("ConfigMap")["data"]
    assert isinstance(data, dict)
    return data


def _service_names() -> list[str]:
    service, namespace = of_kind("Service")["metadata"]["name"], kustomization()["namespace"]
    return [service, f"{service}.{namespace}", f"{service}.{namespace}.svc", f"{service}.{namespace}.svc.cluster.local"]


def test_replicas_are_stateless_and_spread() -> None:
    deployment = of_kind("Deployment")
    assert deployment["spec"]["replicas"] >= 2
    assert _config()["MIXPEEK_STATELESS_HTTP"] == "true" and _config()["MIXPEEK_TRANSPORT"] == "streamable-http"
    assert _pod()["topologySpreadConstraints"]
    hpa = of_kind("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2" and hpa["spec"]["scaleTargetRef"]["name"] == APP
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    pdb = of_kind("PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for selector in (pdb["spec"]["selector"]["matchLabels"], of_kind("Service")["spec"]["selector"]):
        assert selector.items() <= labels.items()


def test_pod_security() -> None:
    pod, box = _pod()["securityContext"], container()["securityContext"]
    assert pod["runAsNonRoot"] is True and box["runAsNonRoot"] is True
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"} == box["seccompProfile"]
    assert box["allowPrivilegeEscalation"] is False and box["privileged"] is False
    assert box["readOnlyRootFilesystem"] is True
    assert box["capabilities"] == {"drop": ["ALL"]}
    assert _pod()["automountServiceAccountToken"] is False
    (user,) = [i for i in stages(REPO / "Dockerfile")[-1] if i.keyword == "USER"]
    assert str(pod["runAsUser"]) == user.value.split(":")[0], "the same uid as the image's USER"
    (mount,) = container()["volumeMounts"]
    volume = {v["name"]: v for v in _pod()["volumes"]}[mount["name"]]
    assert mount["mountPath"] == "/tmp" and "emptyDir" in volume


def test_resources_and_probes() -> None:
    resources = container()["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[kind])
    ports = {port["name"]: port for port in container()["ports"]}
    assert set(ports) == {"http", "metrics"}
    port = ports["http"]
    assert port["containerPort"] == int(_config()["MIXPEEK_PORT"])
    assert container()["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert container()["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    assert of_kind("Service")["spec"]["ports"][0]["targetPort"] == port["name"]
    grace = float(_config()["MIXPEEK_SHUTDOWN_GRACE_SECONDS"])
    assert grace < _pod()["terminationGracePeriodSeconds"]


def test_secrets_only_by_reference() -> None:
    env = {item["name"]: item for item in container()["env"]}
    for name, key in (("MIXPEEK_API_KEY", "api-key"), ("MIXPEEK_MCP_AUTH_TOKEN", "mcp-auth-token")):
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": APP, "key": key}
    assert not [n for n, item in env.items() if "value" in item and SECRET_NAME.search(n)]
    assert not [k for k in _config() if SECRET_NAME.search(k)], "the ConfigMap holds no secret"


def test_network_policy_allows_dns_and_https_out_and_the_mcp_port_in() -> None:
    policy = of_kind("NetworkPolicy")["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    labels = of_kind("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    out = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
    assert out == {(53, "UDP"), (53, "TCP"), (443, "TCP")}
    assert all("to" not in rule or rule["to"] for rule in policy["egress"])
    into = {(p["port"], p["protocol"]) for rule in policy["ingress"] for p in rule["ports"]}
    assert into == {(int(_config()["MIXPEEK_PORT"]), "TCP"), (int(_config()["MIXPEEK_METRICS_PORT"]), "TCP")}
    (scrape,) = [
        rule for rule in policy["ingress"] if rule["ports"][0]["port"] == int(_config()["MIXPEEK_METRICS_PORT"])
    ]
    assert scrape["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]


def test_prometheus_scrapes_the_metrics_port_which_the_service_leaves_out() -> None:
    annotations = of_kind("Deployment")["spec"]["template"]["metadata"]["annotations"]
    metrics = {port["name"]: port for port in container()["ports"]}["metrics"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
    assert int(annotations["prometheus.io/port"]) == metrics["containerPort"] == int(_config()["MIXPEEK_METRICS_PORT"])
    assert _config()["MIXPEEK_METRICS"] == "true"
    assert [port["targetPort"] for port in of_kind("Service")["spec"]["ports"]] == ["http"]


def test_the_pod_binds_all_interfaces_and_accepts_the_service_names() -> None:
    assert _config()["MIXPEEK_HOST"] == "0.0.0.0"
    allowed = json.loads(_config()["MIXPEEK_ALLOWED_HOSTS"])
    for name in _service_names():
        assert {name, f"{name}:*"} <= set(allowed)
    assert float(_config()["MIXPEEK_WAIT_DEFAULT_SECONDS"]) <= float(_config()["MIXPEEK_WAIT_MAX_SECONDS"]) < 300


@pytest.mark.anyio
async def test_the_pod_environment_serves_mcp_under_the_service_name(sandbox: RunningSandbox) -> None:
    """The container's args and env (ConfigMap + Secret values), bound to loopback and a free port for the test."""
    env = clean_env(**_config(), MIXPEEK_API_KEY=API_KEY, MIXPEEK_MCP_AUTH_TOKEN=TOKEN)
    env.update(MIXPEEK_HOST="127.0.0.1", MIXPEEK_PORT="0", MIXPEEK_API_BASE=sandbox.base_url)
    env.update(MIXPEEK_METRICS_PORT="0")
    with serving([entry_point(), *container()["args"]], env) as server:
        base = f"http://127.0.0.1:{server.port}"
        (metrics_url,) = re.findall(r"metrics on (http://\S+/metrics)", server.stderr)
        async with httpx2.AsyncClient(timeout=10.0) as http:
            for path in ("/healthz", "/readyz"):  # the kubelet's probes
                assert (await http.get(base + path)).status_code == 200, path
            scraped = await http.get(metrics_url)  # what Prometheus does: no token, by pod address
            assert scraped.status_code == 200 and "mixpeek_mcp_tool_calls" in scraped.text
            assert (await http.get(base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 404
            stranger = {"Host": "evil.example", "Authorization": f"Bearer {TOKEN}"}
            assert (await http.post(base + "/mcp", json={}, headers=stranger)).status_code == 421
        fqdn = _service_names()[-1]  # what a client in the cluster sends through the Service (port 80)
        headers = {"Host": fqdn, "Authorization": f"Bearer {TOKEN}"}
        with anyio.fail_after(60):
            async with (
                httpx2.AsyncClient(headers=headers, timeout=30.0) as http,
                streamable_http_client(base + "/mcp", http_client=http) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                tools = await session.list_tools()
                by_name = {tool.name: tool for tool in tools.tools}
                assert sorted(by_name) == ["inspect_batch", "list_tasks", "triage_tasks", "wait_for_task"]
                budget = by_name["wait_for_task"].input_schema["properties"]["timeout_seconds"]
                assert budget["maximum"] == float(_config()["MIXPEEK_WAIT_MAX_SECONDS"])
