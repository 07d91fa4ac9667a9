"""Loading manifests/kubernetes/: the kustomization's resources, by kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .clients import REPO

KUBE_DIR = REPO / "manifests" / "kubernetes"
APP = "mixpeek-tasks-mcp"


def load_all(path: Path) -> list[dict[str, Any]]:
    docs = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]
    assert all(isinstance(doc, dict) for doc in docs)
    return docs


def kustomization() -> dict[str, Any]:
    (doc,) = load_all(KUBE_DIR / "kustomization.yaml")
    return doc


def resources() -> list[dict[str, Any]]:
    """Every object the kustomization applies, in its order."""
    return [doc for name in kustomization()["resources"] for doc in load_all(KUBE_DIR / name)]


def of_kind(kind: str) -> dict[str, Any]:
    (found,) = [doc for doc in resources() if doc["kind"] == kind]
    return found


def container() -> dict[str, Any]:
    (found,) = of_kind("Deployment")["spec"]["template"]["spec"]["containers"]
    assert isinstance(found, dict)
    return found
