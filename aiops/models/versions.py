"""Model kinds, version ids and the version record.

A version id is a digest of the kind, the canonical JSON of the configuration and the
code version, so the same configuration under the same code is the same version on
every host. The code version is the package version plus a digest of the source of the
package that runs the model (``aiops/detect`` or ``aiops/forecast``): a change to the
algorithm is a new version even when the configuration is not.

>>> a = version_id(ModelKind.FORECASTER, {"quantile": 0.9, "model": "auto"}, "0.1.0+abc")
>>> a == version_id(ModelKind.FORECASTER, {"model": "auto", "quantile": 0.9}, "0.1.0+abc")
True
>>> a == version_id(ModelKind.FORECASTER, {"quantile": 0.8, "model": "auto"}, "0.1.0+abc")
False
>>> a.startswith("forecaster-")
True
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import aiops


class ModelKind(StrEnum):
    """What a model version is a version of."""

    DETECTOR = "detector"  # the detector bank (config: the ``detect`` section)
    FORECASTER = "forecaster"  # per-workload forecasts and capacity (``forecast`` section)


_PACKAGES = {ModelKind.DETECTOR: "detect", ModelKind.FORECASTER: "forecast"}


def canonical(config: Mapping[str, Any]) -> str:
    """The configuration as canonical JSON (sorted keys, no spaces)."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)


def version_id(kind: ModelKind, config: Mapping[str, Any], code: str) -> str:
    """``<kind>-<12 hex>`` from the kind, the canonical configuration and the code version."""
    digest = hashlib.sha256(f"{kind.value}\n{canonical(config)}\n{code}".encode()).hexdigest()
    return f"{kind.value}-{digest[:12]}"


@functools.cache
def code_version(kind: ModelKind) -> str:
    """``<package version>+<digest of the model package's source files>``."""
    root = Path(aiops.__file__).parent / _PACKAGES[kind]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return f"{aiops.__version__}+{h.hexdigest()[:10]}"


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelVersion:
    """One registered version: identity, lineage, the state it holds and its metrics."""

    id: str
    kind: ModelKind
    config: Mapping[str, Any]
    code_version: str
    created: float
    parent: str | None = None
    state_digest: str | None = None  # sha256 of the state blob; None: nothing learnt yet
    state_bytes: int = 0
    trained_on: tuple[float, float] | None = None  # first and last time learnt
    checkpointed: float | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "config": dict(self.config),
            "code_version": self.code_version,
            "created": self.created,
            "parent": self.parent,
            "state_digest": self.state_digest,
            "state_bytes": self.state_bytes,
            "trained_on": list(self.trained_on) if self.trained_on else None,
            "checkpointed": self.checkpointed,
            "metrics": dict(self.metrics),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelVersion:
        """Inverse of :meth:`to_json` (a missing or mistyped field raises)."""
        trained = data.get("trained_on")
        return cls(
            id=str(data["id"]),
            kind=ModelKind(data["kind"]),
            config=dict(data["config"]),
            code_version=str(data["code_version"]),
            created=float(data["created"]),
            parent=data.get("parent"),
            state_digest=data.get("state_digest"),
            state_bytes=int(data.get("state_bytes", 0)),
            trained_on=(float(trained[0]), float(trained[1])) if trained else None,
            checkpointed=data.get("checkpointed"),
            metrics={str(k): float(v) for k, v in (data.get("metrics") or {}).items()},
        )
