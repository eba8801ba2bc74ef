"""Kubernetes actuator: scale, restart, roll back and delete pods the way kubectl does.

- ``scale``: ``spec.replicas`` set with a merge patch that carries the action id in the
  same request (the state ``kubectl scale`` leaves, written atomically with its
  idempotency key); when an HPA targets the workload and ``scale_via_hpa`` (or the
  action's ``via_hpa``) is set, the HPA's ``minReplicas`` is set to ``n`` instead, clamped
  to ``maxReplicas`` unless ``hpa_raise_max``.
- ``restart``: ``kubectl rollout restart``: strategic-merge patch of the pod-template
  annotation ``kubectl.kubernetes.io/restartedAt`` (RFC 3339 of ``now``); paused
  Deployments are refused.
- ``rollback`` (Deployments): ``kubectl rollout undo``; see :mod:`kubernetes_rollout`.
  The revision rolled back from is recorded in ``aiops.dev/rolled-back-from``; a second
  undo that would restore that revision (a blind flip back) is refused.
- ``delete_pod``: the named pod or the least healthy one; the intent is recorded on the
  workload first (``aiops.dev/pending-action``) so a retry deletes the same pod, never two.

Idempotency: the ids of applied actions are annotations on the object written in the same
request as the change (``aiops.dev/last-action-id``, ``aiops.dev/action-ids``), and every
write carries the ``resourceVersion`` it was computed from. Each call makes **one
attempt** and raises :class:`TemporaryError` on a 409, 429, 5xx or timeout; the engine
schedules the retry (``action.attempt`` counts them) and the retry re-reads first, so a
lost response never applies an action twice. :meth:`KubernetesActuator.reconcile` reads
the same annotations back after a crash. Dry-run sends the same requests with
``dryRun=All`` and returns the would-be object diff in ``Outcome.after``. Each applied or
refused action leaves a core/v1 Event on the target naming the incident. The requests
themselves (which client method, which RBAC verb) are in
:mod:`aiops.actuators.kubernetes_workloads`.
"""

from __future__ import annotations

import dataclasses
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiops.actuators import kubernetes_rollout as ro
from aiops.actuators import kubernetes_state as st
from aiops.actuators.kubernetes_api import (
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    KubeApi,
)
from aiops.actuators.kubernetes_workloads import Workloads
from aiops.config.actuators import KubernetesConfig
from aiops.errors import PermanentError, TemporaryError
from aiops.model import (
    Action,
    Outcome,
    OutcomeStatus,
    Reconciled,
    Reconciliation,
    Target,
    TargetState,
)

KINDS = ("Deployment", "StatefulSet")

Obj = dict[str, Any]


class KubernetesActuator:
    """Applies actions to Deployments and StatefulSets through the official client."""

    name = "kubernetes"

    def __init__(
        self, config: KubernetesConfig, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.cfg = config
        self.api = KubeApi(config)
        self.workloads = Workloads(self.api, field_manager=config.field_manager)
        self._sleep = sleep
        self._instance = socket.gethostname()

    # ---- protocol ----------------------------------------------------------------
    def apply(self, action: Action, *, now: float) -> Outcome:
        """Apply ``action`` with one attempt; a repeat of an applied id changes nothing."""
        _check_target(action.target)
        handler = {
            "scale": self._scale,
            "restart": self._restart,
            "rollback": self._rollback,
            "delete_pod": self._delete_pod,
        }.get(action.kind)
        if handler is None:
            raise PermanentError(f"kubernetes actuator cannot {action.kind!r}")
        try:
            outcome = handler(action, now, action.attempt)
        except PermanentError as e:
            if not action.dry_run:
                self._event(action, now, f"refused: {e}", warning=True)
            raise
        if outcome.status is OutcomeStatus.DONE:
            note = self._event(action, now, outcome.message)
            if note:
                outcome = dataclasses.replace(outcome, message=f"{outcome.message}; {note}")
        return outcome

    def observe(self, target: Target, *, now: float) -> TargetState:
        """Replicas, readiness, revision, rollout progress and HPA floor of a workload."""
        _check_target(target)
        return self._observe(target)

    def reconcile(
        self, action: Action, *, before: Mapping[str, Any], now: float
    ) -> Reconciliation:
        """Did ``action`` reach the object? Its id is in the annotations of the same write.

        A pod deletion records its intent first: with the intent on the workload and the
        pod gone, it happened; with the pod still there, it did not (the retry deletes
        that same pod).
        """
        _check_target(action.target)
        obj = self.workloads.read(action.target)
        hpa = self.workloads.hpa_for(action.target) if action.kind == "scale" else None
        for o in (obj, hpa):
            if o is not None and action.id in ro.applied_ids(o):
                return Reconciliation(action_id=action.id, status=Reconciled.DONE, message=(
                    f"{o.get('kind', 'object')} {o['metadata'].get('name')} records action "
                    f"{action.id}"))
        pending = ro.annotations_of(obj).get(ro.PENDING_ACTION, "")
        if action.kind == "delete_pod" and pending.startswith(action.id + ":"):
            pod = pending[len(action.id) + 1:]
            names = {p["metadata"]["name"] for p in self.workloads.pods(obj, action.target)}
            if pod not in names:
                return Reconciliation(action_id=action.id, status=Reconciled.DONE,
                                      message=f"pod {pod} (recorded intent) is gone")
            return Reconciliation(action_id=action.id, status=Reconciled.NOT_DONE,
                                  message=f"pod {pod} (recorded intent) still exists")
        return Reconciliation(action_id=action.id, status=Reconciled.NOT_DONE, message=(
            f"{action.target} carries no record of action {action.id}"))

    def close(self) -> None:
        self.api.close()

    def wait_for_rollout(self, target: Target, *, timeout: float, poll: float = 1.0) -> bool:
        """Poll until the rollout converged (a blocking helper for tools, never the engine)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.observe(target, now=time.time())
            if not state.rollout_in_progress:
                return True
            if time.monotonic() >= deadline:
                return False
            self._sleep(poll)

    # ---- plumbing ------------------------------------------------------------------
    def _already(self, action: Action, attempt: int, *objs: Obj | None) -> Outcome | None:
        for obj in objs:
            if obj is not None and action.id in ro.applied_ids(obj):
                if attempt == 0:
                    return Outcome(
                        action_id=action.id,
                        status=OutcomeStatus.ALREADY_DONE,
                        message=f"action {action.id} was already applied",
                    )
                return Outcome(
                    action_id=action.id,
                    status=OutcomeStatus.DONE,
                    message="applied (confirmed on re-read after a failed response)",
                )
        return None

    def _result(self, action: Action, message: str, before: Obj, after: Obj) -> Outcome:
        status = OutcomeStatus.DRY_RUN if action.dry_run else OutcomeStatus.DONE
        if action.dry_run:
            message = f"dry-run: would {message}"
        return Outcome(
            action_id=action.id,
            status=status,
            message=message,
            before=st.summary(before),
            after={**st.summary(after), "diff": ro.diff(before, after)},
        )

    # ---- actions ---------------------------------------------------------------------
    def _scale(self, action: Action, now: float, attempt: int) -> Outcome:
        target, dry = action.target, action.dry_run
        replicas = action.params.get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise PermanentError(
                f"scale needs an absolute non-negative 'replicas', got {replicas!r}"
            )
        obj = self.workloads.read(target)
        via_hpa = bool(action.params.get("via_hpa", self.cfg.scale_via_hpa))
        hpa = self.workloads.hpa_for(target) if via_hpa else None
        done = self._already(action, attempt, obj, hpa)
        if done is not None:
            return done
        if hpa is not None:
            return self._scale_hpa(action, hpa, replicas)
        body: Obj = {
            "metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
            "spec": {"replicas": replicas},
        }
        if not dry:
            body["metadata"]["annotations"] = ro.id_annotations(obj, action.id, now)
        after = self.workloads.patch(target, body, MERGE_PATCH, dry)
        old = obj["spec"].get("replicas")
        return self._result(action, f"scale {target} from {old} to {replicas} replicas", obj, after)

    def _scale_hpa(self, action: Action, hpa: Obj, replicas: int) -> Outcome:
        spec = hpa.get("spec", {})
        low, high = int(spec.get("minReplicas", 1)), int(spec["maxReplicas"])
        new_min, new_spec, note = max(1, replicas), {}, ""
        if new_min > high:
            if self.cfg.hpa_raise_max:
                new_spec["maxReplicas"] = new_min
                note = f", maxReplicas raised from {high}"
            else:
                note = f" (clamped to maxReplicas {high}; {replicas} requested)"
                new_min = high
        new_spec["minReplicas"] = new_min
        meta = hpa["metadata"]
        body = {
            "metadata": {
                "resourceVersion": meta["resourceVersion"],
                "annotations": ro.id_annotations(hpa, action.id),
            },
            "spec": new_spec,
        }
        after = self.workloads.patch_hpa(hpa, body, action.dry_run)
        message = (
            f"set HPA {meta['name']} minReplicas from {low} to {new_min}{note} for {action.target}"
        )
        return self._result(action, message, hpa, after)

    def _restart(self, action: Action, now: float, attempt: int) -> Outcome:
        target = action.target
        obj = self.workloads.read(target)
        done = self._already(action, attempt, obj)
        if done is not None:
            return done
        if target.kind == "Deployment" and obj["spec"].get("paused"):
            raise PermanentError(
                f"can't restart paused deployment {target} (run rollout resume first)"
            )
        stamp = ro.rfc3339(now)
        body = {
            "metadata": {
                "resourceVersion": obj["metadata"]["resourceVersion"],
                "annotations": ro.id_annotations(obj, action.id, now),
            },
            "spec": {"template": {"metadata": {"annotations": {ro.RESTARTED_AT: stamp}}}},
        }
        after = self.workloads.patch(target, body, STRATEGIC_MERGE_PATCH, action.dry_run)
        return self._result(action, f"restart {target} (restartedAt {stamp})", obj, after)

    def _rollback(self, action: Action, now: float, attempt: int) -> Outcome:
        target = action.target
        if target.kind != "Deployment":
            raise PermanentError(f"rollback supports Deployments only, not {target.kind}")
        dep = self.workloads.read(target)
        done = self._already(action, attempt, dep)
        if done is not None:
            return done
        if dep["spec"].get("paused"):
            raise PermanentError(
                f"you cannot rollback a paused deployment {target}; resume it first"
            )
        rss = self.workloads.replicasets(dep, target)
        previous = ro.previous_replicaset(rss)
        if previous is None:
            raise PermanentError(f"no rollout history found for deployment {target}")
        current_rev, to_rev = ro.revision(dep), ro.revision(previous)
        if ro.annotations_of(dep).get(ro.ROLLED_BACK_FROM) == str(to_rev):
            raise PermanentError(
                f"refusing a blind second undo of {target}: revision {to_rev} is the one "
                f"aiops rolled back from; roll forward or pick a revision explicitly"
            )
        within = action.params.get("only_if_changed_within")
        if within is not None:
            changed = st.changed_at(rss)
            if changed is None or now - changed > float(within):
                raise PermanentError(
                    f"refusing rollback of {target}: last change is older than {within}s"
                )
        if ro.equal_ignore_hash(previous["spec"]["template"], dep["spec"]["template"]):
            return Outcome(
                action_id=action.id,
                status=OutcomeStatus.FAILED,
                message=f"skipped rollback (current template already matches revision {to_rev})",
            )
        extra = {
            ro.ROLLED_BACK_FROM: str(current_rev),
            ro.ROLLED_BACK_TO: str(to_rev),
            **ro.id_annotations(dep, action.id, now),
        }
        after = self.workloads.patch(
            target, ro.rollback_patch(dep, previous, extra), JSON_PATCH, action.dry_run
        )
        return self._result(
            action,
            f"roll back {target} from revision {current_rev} to revision {to_rev}",
            dep,
            after,
        )

    def _delete_pod(self, action: Action, now: float, attempt: int) -> Outcome:
        target, dry = action.target, action.dry_run
        obj = self.workloads.read(target)
        done = self._already(action, attempt, obj)
        if done is not None:
            return done
        pending = ro.annotations_of(obj).get(ro.PENDING_ACTION, "")
        if pending.startswith(action.id + ":"):
            pod_name = pending[len(action.id) + 1 :]
        else:
            pods = self.workloads.pods(obj, target)
            names = [p["metadata"]["name"] for p in pods]
            wanted = action.params.get("pod")
            if wanted is not None and wanted not in names:
                raise PermanentError(f"pod {wanted!r} does not belong to {target}")
            if not pods:
                raise PermanentError(f"{target} has no pods to delete")
            pod_name = str(wanted or min(pods, key=ro.pod_health)["metadata"]["name"])
            if not dry:
                self.workloads.patch(
                    target,
                    {
                        "metadata": {
                            "resourceVersion": obj["metadata"]["resourceVersion"],
                            "annotations": {ro.PENDING_ACTION: f"{action.id}:{pod_name}"},
                        }
                    },
                    MERGE_PATCH,
                    False,
                )
        try:
            self.workloads.delete_pod(target, pod_name, dry)
        except PermanentError as e:
            if not str(e).startswith("not found"):  # already gone is what we wanted
                raise
        after = obj
        if not dry:
            notes: dict[str, Any] = {
                **ro.id_annotations(obj, action.id, now), ro.PENDING_ACTION: None
            }
            body = {"metadata": {"annotations": notes}}
            after = self.workloads.patch(target, body, MERGE_PATCH, False)
        outcome = self._result(action, f"delete pod {pod_name} of {target}", obj, after)
        return dataclasses.replace(outcome, after={**outcome.after, "deleted_pod": pod_name})

    # ---- observe & events --------------------------------------------------------------
    def _observe(self, target: Target) -> TargetState:
        try:
            obj = self.workloads.read(target)
        except PermanentError as e:
            if str(e).startswith("not found"):
                return TargetState(target=target, exists=False, details={"error": str(e)})
            raise
        rss = self.workloads.replicasets(obj, target) if target.kind == "Deployment" else None
        return st.target_state(target, obj, self.workloads.hpa_for(target), rss)

    def _event(self, action: Action, now: float, message: str, *, warning: bool = False) -> str:
        """Record a core/v1 Event on the target; returns a note if that failed."""
        if not self.cfg.events:
            return ""
        target = action.target
        body = st.event_body(action, now, message, warning=warning, instance=self._instance)
        try:
            self.workloads.create_event(target.namespace, body)
        except (TemporaryError, PermanentError) as e:
            return f"event not recorded: {e}"
        return ""

def _check_target(target: Target) -> None:
    if target.kind not in KINDS:
        raise PermanentError(f"kubernetes actuator handles {KINDS}, not {target.kind!r}")
    if not target.namespace:
        raise PermanentError(f"{target} needs a namespace")
