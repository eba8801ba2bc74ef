"""A minimal ``kustomize build`` for this repo's overlays (no kubectl needed in tests).

Supports what deploy/kubernetes uses: ``resources`` (files and directories),
``components`` (``kind: Component``: resources added, patches applied to everything),
``patches`` (strategic merge by kind and name; ``$patch: delete`` removes the object),
``images``, ``namespace`` and ``labels`` (metadata only). Its output was checked against
``kubectl kustomize``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.fakekube.patching import strategic_merge_patch

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec", {}).get("template", {}).get("spec", {})
    return list(spec.get("containers", [])) + list(spec.get("initContainers", []))


def _patched(directory: Path, k: dict[str, Any],
             objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``objs`` with the kustomization's patches applied (``$patch: delete`` removes)."""
    for patch in k.get("patches", []):
        doc = yaml.safe_load((directory / patch["path"]).read_text())
        key = (doc["kind"], doc["metadata"]["name"])
        hits = [i for i, o in enumerate(objs) if (o["kind"], o["metadata"]["name"]) == key]
        assert hits, f"patch {patch['path']} matches no resource"
        if doc.get("$patch") == "delete":
            objs = [o for i, o in enumerate(objs) if i not in hits]
            continue
        for i in hits:
            objs[i] = strategic_merge_patch(objs[i], doc)
    return objs


def _component(directory: Path, objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A ``kind: Component``: its resources join the parent's, its patches apply to all."""
    k = yaml.safe_load((directory / "kustomization.yaml").read_text())
    assert k["kind"] == "Component", f"{directory} is not a kustomize Component"
    for res in k.get("resources", []):
        objs = objs + [d for d in yaml.safe_load_all((directory / res).read_text()) if d]
    return _patched(directory, k, objs)


def build(directory: Path) -> list[dict[str, Any]]:
    """The objects ``kustomize build directory`` would emit (order aside)."""
    k = yaml.safe_load((directory / "kustomization.yaml").read_text())
    objs: list[dict[str, Any]] = []
    for res in k.get("resources", []):
        path = directory / res
        if path.is_dir():
            objs += build(path)
        else:
            objs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    for component in k.get("components", []):
        objs = _component(directory / component, objs)
    objs = _patched(directory, k, objs)
    for image in k.get("images", []):
        for obj in objs:
            for c in _containers(obj):
                name, _, tag = c["image"].partition(":")
                if name == image["name"]:
                    c["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"
    if k.get("namespace"):
        for obj in objs:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = k["namespace"]
    for entry in k.get("labels", []):
        for obj in objs:
            obj["metadata"].setdefault("labels", {}).update(entry["pairs"])
    return objs
