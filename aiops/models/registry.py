"""The model registry on disk: versions, their state blobs, the live pointers, the events.

Layout under ``root`` (``<state_dir>/models``)::

    versions/<id>.json   one ModelVersion record each
    blobs/<sha256>.npz   state blobs, content-addressed (npz of named arrays, no pickle)
    live.json            {kind: version id}
    events.jsonl         registrations, promotions and rollbacks (the EventLog)

Writes are atomic (temp file + rename) and serialized by an ``flock`` on ``.lock``, so
the daemon's checkpoints and an operator's ``aiops models promote`` do not interleave.
A state blob is checked before it is stored: it must load with ``allow_pickle=False``.
Rollback makes the version that was live before the current one live again, with the
state it had then (the same bytes: blobs are immutable and addressed by their digest).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from aiops.errors import PermanentError
from aiops.models.events import EventLog, JsonlEventLog, ModelAction, ModelEvent
from aiops.models.versions import ModelKind, ModelVersion, version_id
from aiops.statedir import write_atomic


class RegistryError(PermanentError):
    """An unknown version, a kind mismatch, nothing to roll back to, or a bad blob."""


def check_blob(blob: bytes) -> None:
    """Refuse anything but an npz of plain arrays (no pickled objects)."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            for name in z.files:
                z[name]
    except (ValueError, OSError, EOFError) as exc:
        raise RegistryError(f"state is not an npz of plain arrays: {exc}") from None


class ModelRegistry:
    """Model versions of one daemon's state dir."""

    def __init__(self, root: Path, *, events: EventLog | None = None) -> None:
        self.root = root
        self.events: EventLog = events or JsonlEventLog(root / "events.jsonl")

    # -- reading ----------------------------------------------------------------------
    def versions(self, kind: ModelKind | None = None) -> list[ModelVersion]:
        """Every registered version (of ``kind``), oldest first."""
        out = []
        for path in sorted((self.root / "versions").glob("*.json")):
            v = self._load(path)
            if kind is None or v.kind is kind:
                out.append(v)
        return sorted(out, key=lambda v: (v.created, v.id))

    def get(self, ref: str) -> ModelVersion:
        """The version with id ``ref`` (or a unique prefix of one)."""
        path = self.root / "versions" / f"{ref}.json"
        if path.exists():
            return self._load(path)
        hits = [v for v in self.versions() if v.id.startswith(ref)] if ref else []
        if len(hits) == 1:
            return hits[0]
        what = "ambiguous" if hits else "unknown"
        raise RegistryError(f"{what} model version {ref!r}")

    def live(self, kind: ModelKind) -> ModelVersion | None:
        """The live version of ``kind`` (None before the first promotion)."""
        ref = self._live().get(kind.value)
        return self.get(ref) if ref else None

    def state(self, ref: str) -> bytes | None:
        """The version's state blob, checked against its digest (None: nothing learnt)."""
        v = self.get(ref)
        if v.state_digest is None:
            return None
        blob = (self.root / "blobs" / f"{v.state_digest}.npz").read_bytes()
        if hashlib.sha256(blob).hexdigest() != v.state_digest:
            raise RegistryError(f"state of {v.id} does not match its digest")
        return blob

    def history(self, kind: ModelKind | None = None) -> list[ModelEvent]:
        """Registrations, promotions and rollbacks, oldest first."""
        return self.events.history(kind)

    # -- writing ----------------------------------------------------------------------
    def register(
        self,
        kind: ModelKind,
        config: Mapping[str, Any],
        *,
        code: str,
        now: float,
        parent: str | None = None,
        by: str = "aiops",
        why: str = "registered",
    ) -> ModelVersion:
        """Register the version of ``config`` under ``code`` (a no-op if it exists)."""
        vid = version_id(kind, config, code)
        with self._locked():
            path = self.root / "versions" / f"{vid}.json"
            if path.exists():
                return self._load(path)
            v = ModelVersion(id=vid, kind=kind, config=dict(config), code_version=code,
                             created=now, parent=parent)
            self._save(v)
            self.events.record(ModelEvent(t=now, kind=kind, action=ModelAction.REGISTER,
                                          version=vid, previous=parent, by=by, why=why))
            return v

    def checkpoint(
        self,
        ref: str,
        state: bytes,
        *,
        now: float,
        trained_on: tuple[float, float] | None = None,
    ) -> ModelVersion:
        """Store ``state`` as the version's current state (unchanged bytes: a no-op)."""
        check_blob(state)
        digest = hashlib.sha256(state).hexdigest()
        with self._locked():
            v = self.get(ref)
            if v.state_digest == digest:
                return v
            blob = self.root / "blobs" / f"{digest}.npz"
            if not blob.exists():
                write_atomic(blob, state)
            old = v.state_digest
            start = v.trained_on[0] if v.trained_on else None
            if trained_on is not None and start is not None:
                trained_on = (min(start, trained_on[0]), trained_on[1])
            v = replace(v, state_digest=digest, state_bytes=len(state), checkpointed=now,
                        trained_on=trained_on or v.trained_on)
            self._save(v)
            if old is not None:
                self._drop_blob(old)
            return v

    def record_metrics(self, ref: str, metrics: Mapping[str, float]) -> ModelVersion:
        """Merge benchmark ``metrics`` into the version's record."""
        with self._locked():
            v = self.get(ref)
            v = replace(v, metrics={**v.metrics, **{k: float(x) for k, x in metrics.items()}})
            self._save(v)
            return v

    def promote(self, ref: str, *, by: str, why: str, now: float) -> ModelEvent:
        """Make ``ref`` the live version of its kind; recorded with who and why."""
        with self._locked():
            v = self.get(ref)
            current = self._live().get(v.kind.value)
            if current == v.id:
                raise RegistryError(f"{v.id} is already live")
            return self._set_live(v, current, ModelAction.PROMOTE, by=by, why=why, now=now)

    def rollback(
        self, kind: ModelKind, *, by: str, why: str, now: float, to: str | None = None
    ) -> ModelEvent:
        """Make the version live before the current one live again (or ``to``)."""
        with self._locked():
            current = self._live().get(kind.value)
            if current is None:
                raise RegistryError(f"no live {kind.value} to roll back")
            target = self.get(to) if to is not None else self._before(kind, current)
            if target.kind is not kind:
                raise RegistryError(f"{target.id} is a {target.kind.value}, not a {kind.value}")
            if target.id == current:
                raise RegistryError(f"{target.id} is already live")
            return self._set_live(target, current, ModelAction.ROLLBACK, by=by, why=why, now=now)

    # -- internals --------------------------------------------------------------------
    def _before(self, kind: ModelKind, current: str) -> ModelVersion:
        for e in reversed(self.events.history(kind)):
            if e.action is not ModelAction.REGISTER and e.version == current:
                if e.previous is None:
                    break
                return self.get(e.previous)
        raise RegistryError(f"nothing was live before {current}")

    def _set_live(
        self, v: ModelVersion, current: str | None, action: ModelAction, *, by: str, why: str,
        now: float,
    ) -> ModelEvent:
        live = self._live()
        live[v.kind.value] = v.id
        write_atomic(self.root / "live.json", json.dumps(live, sort_keys=True).encode())
        event = ModelEvent(t=now, kind=v.kind, action=action, version=v.id, previous=current,
                           by=by, why=why)
        self.events.record(event)
        return event

    def _live(self) -> dict[str, str]:
        path = self.root / "live.json"
        if not path.exists():
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.items()}

    def _drop_blob(self, digest: str) -> None:
        if any(v.state_digest == digest for v in self.versions()):
            return
        (self.root / "blobs" / f"{digest}.npz").unlink(missing_ok=True)

    def _load(self, path: Path) -> ModelVersion:
        try:
            return ModelVersion.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as exc:
            raise RegistryError(f"{path}: not a model version record ({exc})") from None

    def _save(self, v: ModelVersion) -> None:
        text = json.dumps(v.to_json(), sort_keys=True, indent=1)
        write_atomic(self.root / "versions" / f"{v.id}.json", text.encode())

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
