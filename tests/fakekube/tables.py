"""Server-side printing: the ``meta.k8s.io/v1`` ``Table`` that ``kubectl get`` asks for.

``kubectl get`` sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...``; the
server answers with column definitions and one row of cells per object, the columns
``kubectl get`` shows for these kinds on a real cluster (``-o wide`` adds priority-1
columns). Objects of other kinds get ``Name`` and ``Age``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

Obj = dict[str, Any]
Column = tuple[str, str, int, Callable[[Obj, float], Any]]  # name, type, priority, cell


def wants_table(accept: str) -> bool:
    """Whether the ``Accept`` header asks for a Table."""
    return "as=Table" in accept


def human_duration(seconds: float) -> str:
    """Age as kubectl prints it (apimachinery ``duration.HumanDuration``).

    >>> [human_duration(s) for s in (5, 150, 3600 * 5 + 120, 86400 * 3)]
    ['5s', '2m30s', '5h2m', '3d']
    """
    s = int(seconds)
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    return f"{hours // 24}d"


def _age(obj: Obj, now: float) -> str:
    stamp = obj.get("metadata", {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    created = datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    return human_duration(now - created)


def _spec(obj: Obj) -> Obj:
    return dict(obj.get("spec") or {})


def _status(obj: Obj) -> Obj:
    return dict(obj.get("status") or {})


def _containers(obj: Obj) -> list[Obj]:
    return list(_spec(obj).get("template", {}).get("spec", {}).get("containers") or [])


def _selector(obj: Obj) -> str:
    labels = _spec(obj).get("selector", {}).get("matchLabels") or {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _names(obj: Obj) -> str:
    return ",".join(str(c.get("name", "")) for c in _containers(obj))


def _images(obj: Obj) -> str:
    return ",".join(str(c.get("image", "")) for c in _containers(obj))


def _pod_ready(pod: Obj, _now: float) -> str:
    statuses = _status(pod).get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    return f"{ready}/{len(_spec(pod).get('containers') or [])}"


def _restarts(pod: Obj, _now: float) -> int:
    return sum(int(c.get("restartCount", 0)) for c in _status(pod).get("containerStatuses") or [])


def _hpa_ref(hpa: Obj, _now: float) -> str:
    ref = _spec(hpa).get("scaleTargetRef") or {}
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


def _hpa_targets(hpa: Obj, _now: float) -> str:
    out = []
    for m in _spec(hpa).get("metrics") or []:
        target = (m.get("resource") or {}).get("target") or {}
        if "averageUtilization" in target:
            out.append(f"<unknown>/{target['averageUtilization']}%")
    return ", ".join(out) or "<none>"


NAME: Column = ("Name", "string", 0, lambda o, _n: o["metadata"]["name"])
AGE: Column = ("Age", "string", 0, _age)
COLUMNS: dict[str, list[Column]] = {
    "Deployment": [
        NAME,
        ("Ready", "string", 0,
         lambda o, _n: f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 1)}"),
        ("Up-to-date", "integer", 0, lambda o, _n: _status(o).get("updatedReplicas", 0)),
        ("Available", "integer", 0, lambda o, _n: _status(o).get("availableReplicas", 0)),
        AGE,
        ("Containers", "string", 1, lambda o, _n: _names(o)),
        ("Images", "string", 1, lambda o, _n: _images(o)),
        ("Selector", "string", 1, lambda o, _n: _selector(o)),
    ],
    "ReplicaSet": [
        NAME,
        ("Desired", "integer", 0, lambda o, _n: _spec(o).get("replicas", 1)),
        ("Current", "integer", 0, lambda o, _n: _status(o).get("replicas", 0)),
        ("Ready", "integer", 0, lambda o, _n: _status(o).get("readyReplicas", 0)),
        AGE,
        ("Containers", "string", 1, lambda o, _n: _names(o)),
        ("Images", "string", 1, lambda o, _n: _images(o)),
        ("Selector", "string", 1, lambda o, _n: _selector(o)),
    ],
    "StatefulSet": [
        NAME,
        ("Ready", "string", 0,
         lambda o, _n: f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 1)}"),
        AGE,
        ("Containers", "string", 1, lambda o, _n: _names(o)),
        ("Images", "string", 1, lambda o, _n: _images(o)),
    ],
    "Pod": [
        NAME,
        ("Ready", "string", 0, _pod_ready),
        ("Status", "string", 0, lambda o, _n: _status(o).get("phase", "Pending")),
        ("Restarts", "string", 0, _restarts),
        AGE,
    ],
    "HorizontalPodAutoscaler": [
        NAME,
        ("Reference", "string", 0, _hpa_ref),
        ("Targets", "string", 0, _hpa_targets),
        ("MinPods", "string", 0, lambda o, _n: _spec(o).get("minReplicas", 1)),
        ("MaxPods", "integer", 0, lambda o, _n: _spec(o).get("maxReplicas", 0)),
        ("Replicas", "integer", 0, lambda o, _n: _status(o).get("currentReplicas", 0)),
        AGE,
    ],
    "Lease": [NAME, ("Holder", "string", 0,
                     lambda o, _n: _spec(o).get("holderIdentity", "")), AGE],
}


def table(kind: str, objects: list[Obj], *, now: float, resource_version: str) -> Obj:
    """The Table of ``objects`` (all of one ``kind``)."""
    columns = COLUMNS.get(kind, [NAME, AGE])
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {"name": name, "type": type_, "format": "name" if name == "Name" else "",
             "description": "", "priority": priority}
            for name, type_, priority, _ in columns
        ],
        "rows": [
            {
                "cells": [cell(o, now) for *_, cell in columns],
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                           "metadata": o.get("metadata", {})},
            }
            for o in objects
        ],
    }
