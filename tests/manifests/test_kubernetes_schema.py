"""manifests/kubernetes/ against the Kubernetes API schemas (offline, kubernetes-validate) and the kustomization."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from .clients import REPO
from .kube import APP, KUBE_DIR, container, kustomization, load_all, of_kind, resources

VERSIONS = ["1.30.0", latest_version()]
"""The oldest Kubernetes still widely run, and the newest whose schemas the package ships."""


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", sorted(p.name for p in KUBE_DIR.glob("*.yaml") if p.name != "kustomization.yaml"))
def test_each_manifest_is_valid_strictly(path: str, version: str) -> None:
    for doc in load_all(KUBE_DIR / path):
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validation_has_teeth() -> None:
    broken: dict[str, Any] = yaml.safe_load((KUBE_DIR / "deployment.yaml").read_text())
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[0], strict=True)
    broken["spec"]["replicas"] = 2
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFS"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[0], strict=True)


def test_kustomization_applies_everything_but_the_secret_example() -> None:
    listed = set(kustomization()["resources"])
    present = {p.name for p in KUBE_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present - {"secret.example.yaml"}
    assert "Secret" not in {doc["kind"] for doc in resources()}, "no Secret (and no secret value) is applied"
    kinds = {doc["kind"] for doc in resources()}
    expected = {"Namespace", "ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    assert kinds == expected | {"NetworkPolicy"} and len(resources()) == len(kinds)
    assert of_kind("Namespace")["metadata"]["name"] == kustomization()["namespace"]


def test_the_image_tag_is_the_package_version() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    (image,) = kustomization()["images"]
    assert container()["image"] == f"{image['name']}:{version}" and image["newTag"] == version


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed (its kustomize renders offline)")
def test_kustomize_renders_valid_objects() -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(KUBE_DIR)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    docs = [doc for doc in yaml.safe_load_all(rendered) if doc]
    assert len(docs) == len(resources())
    for doc in docs:
        kubernetes_validate.validate(doc, VERSIONS[0], strict=True)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == kustomization()["namespace"]
        assert doc["metadata"]["name"] == (kustomization()["namespace"] if doc["kind"] == "Namespace" else APP)
