"""The joint view: one HalfSpaceTrees detector per workload over its metric vector.

A *workload* is a label set shared by several series (``cpu_usage``, ``memory_usage``
and ``latency_p99`` of ``{namespace="shop", workload="checkout"}``), the same grouping
the bank's contributions use. Each cycle, :meth:`JointBank.update` builds the vector
of the configured metrics (``detect.joint.metrics``) per workload and scores it with a
:class:`~aiops.detect.detectors.HalfSpaceDetector` (score before learn).

Decisions:

* **Complete vectors only.** A workload is scored only when every configured metric
  has a finite sample in this call; otherwise the vector is skipped and counted in
  ``incomplete`` (no action is ever taken on missing data). Label sets carrying none of
  the metrics are not workloads here. Two samples of one series in a call: the later
  one (by ``t``) is used.
* **Calibration.** HalfSpaceTrees' raw score is ``1 - mass / max mass``: bounded,
  high (0.5-0.9) for normal points and saturating for outliers, so not a probability.
  Each workload keeps its last ``calibration`` values of ``m = -log10(1 - raw)`` (the
  log of the mass share). Beyond their 90th percentile ``q`` the tail is taken as
  exponential (peaks over threshold, scale ``e``), so a new ``m`` has tail
  probability ``p = 0.1 * exp(-(m - q) / e)`` and the score is ``-log10(p) / decades``
  clipped to [0, 1]. HalfSpaceTrees' mass estimates cannot
  tell apart tails much finer than its window, hence ``decades = 3`` by default:
  score 0.9 means about one vector in 500. On i.i.d. correlated test data 0.2-1.4%
  of normal cycles still reach 0.9; one reason the view is opt-in.
* **Learning.** A vector scoring at or above ``detect.threshold`` is neither learnt
  by the trees nor added to the calibration window until more than
  ``detect.adopt_after`` consecutive vectors have been (a lasting change becomes the
  new normal, as in the bank). So a lasting joint change stays flagged for about
  ``adopt_after`` cycles and ``for:`` triggers can see it; letting anomalous raw
  scores into the window instead made a held outlier fade within 1-3 cycles. The
  window's tail scale is the median excess over ``ln 2``, so one saturated outlier in
  it does not stretch the whole tail.
* **Warm-up.** ``warmup`` vectors to learn each metric's range, one HalfSpaceTrees
  window, then 32 calibration scores: until then Scores have ``warm=False``, score 0.
* **The Score.** Key ``SeriesKey(metric="joint", labels=<workload labels>)``,
  ``value`` = the score, ``expected`` = ``lower`` = 0 and ``upper`` = ``threshold``
  (the band of a score-only detector: inside it the vector is usual), ``kind="joint"``,
  ``detectors=("halfspace",)``, ``contributions`` from
  :meth:`HalfSpaceDetector.contributions` (top metric first, for scores >= 0.5) and
  ``why`` like ``"workload checkout joint cpu_usage/memory_usage/latency_p99 unusual,
  score 0.93: latency_p99 72%"``.
* **Bounded memory.** At most ``max_workloads`` workloads; vectors of further ones are
  ignored and counted in ``overflow`` (the scrape engine logs it once).
* **State.** River trees are Python objects and bank snapshots are npz without
  pickle, so the joint bank is not snapshotted: it is rebuilt from the source's
  history at start-up (``ScrapeEngine.warm``), and warms up afresh when there is none.

Disabled (the default), :meth:`JointBank.update` returns nothing and keeps nothing.

>>> from aiops.config.detect import DetectConfig
>>> from aiops.model import Sample, SeriesKey
>>> cfg = DetectConfig.model_validate({"joint": {"enabled": True, "metrics": ["cpu", "mem"]}})
>>> bank = JointBank(cfg)
>>> cpu = Sample(key=SeriesKey.of("cpu", workload="web"), t=0.0, value=0.5)
>>> mem = Sample(key=SeriesKey.of("mem", workload="web"), t=0.0, value=300.0)
>>> [s] = bank.update([cpu, mem])
>>> s.key, s.warm, s.why
(SeriesKey(metric='joint', labels=(('workload', 'web'),)), False, \
'workload web joint cpu/mem warming up (1/232 vectors)')
>>> bank.update([cpu]), bank.incomplete
([], 1)
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aiops.config.detect import DetectConfig
from aiops.detect.detectors import HalfSpaceDetector
from aiops.model import Labels, Sample, Score, SeriesKey

METRIC = "joint"
MIN_CALIBRATION = 32
_TAIL = 0.1
_EXCESS_FLOOR = 0.01
_CONTRIB_FLOOR = 0.5


@dataclass(kw_only=True, slots=True)
class _Workload:
    """One workload's detector and the bookkeeping around it."""

    detector: HalfSpaceDetector
    raws: deque[float]
    seen: int = 0
    anomalous_run: int = 0
    _tail: tuple[float, float] | None = None


class JointBank:
    """HalfSpaceTrees per workload over the joint vector of the configured metrics."""

    def __init__(self, config: DetectConfig | None = None) -> None:
        self.config = config if config is not None else DetectConfig()
        self.joint = self.config.joint
        self.metrics = tuple(self.joint.metrics)
        self._wanted = frozenset(self.metrics)
        self._workloads: dict[Labels, _Workload] = {}
        self.incomplete = 0
        self.overflow = 0
        self.warm_after = self.joint.warmup + self.joint.window_size + MIN_CALIBRATION

    @property
    def enabled(self) -> bool:
        return self.joint.enabled

    def __len__(self) -> int:
        return len(self._workloads)

    def update(self, samples: Sequence[Sample], now: float | None = None) -> list[Score]:
        """Score then learn each workload's complete vector; one Score per workload scored.

        ``now`` is the time given to a Score when its samples carry none later (the
        Score's ``t`` is the latest ``t`` of the vector's samples).
        """
        if not self.enabled:
            return []
        groups: dict[Labels, dict[str, Sample]] = {}
        for s in samples:
            if s.key.metric in self._wanted:
                got = groups.setdefault(s.key.labels, {})
                old = got.get(s.key.metric)
                if old is None or s.t >= old.t:
                    got[s.key.metric] = s
        out: list[Score] = []
        for labels, got in groups.items():
            if len(got) < len(self.metrics) or not all(s.valid for s in got.values()):
                self.incomplete += 1
                continue
            wl = self._workload(labels)
            if wl is None:
                self.overflow += 1
                continue
            x = {m: got[m].value for m in self.metrics}
            t = max([s.t for s in got.values()] + ([] if now is None else [now]))
            out.append(self._step(wl, labels, x, t))
        return out

    def _workload(self, labels: Labels) -> _Workload | None:
        wl = self._workloads.get(labels)
        if wl is None and len(self._workloads) < self.joint.max_workloads:
            j = self.joint
            wl = _Workload(
                detector=HalfSpaceDetector(
                    self.metrics, warmup=j.warmup, n_trees=j.n_trees, height=j.height,
                    window_size=j.window_size, seed=0,
                ),
                raws=deque(maxlen=j.calibration),
            )
            self._workloads[labels] = wl
        return wl

    def _step(self, wl: _Workload, labels: Labels, x: dict[str, float], t: float) -> Score:
        key = SeriesKey(metric=METRIC, labels=labels)
        threshold = self.config.threshold
        ready = wl.seen >= self.joint.warmup + self.joint.window_size
        raw = wl.detector.score_one(x) if ready else 0.0
        warm = ready and len(wl.raws) >= MIN_CALIBRATION
        score = self._calibrate(wl, raw) if warm else 0.0
        anomalous = score >= threshold
        wl.anomalous_run = wl.anomalous_run + 1 if anomalous else 0
        if not anomalous or wl.anomalous_run > self.config.adopt_after:
            wl.detector.learn_one(x)
            wl.seen += 1
            if ready:
                wl.raws.append(_log_mass(raw))
                wl._tail = None
        shares = wl.detector.contributions(x) if score >= _CONTRIB_FLOOR else ()
        names = "/".join(self.metrics)
        who = f"workload {_name(labels)} joint {names}"
        if not warm:
            why = f"{who} warming up ({wl.seen}/{self.warm_after} vectors)"
        else:
            why = f"{who} {'unusual' if anomalous else 'usual'}, score {score:.2f}"
            if shares:
                why += f": {shares[0][0]} {100 * shares[0][1]:.0f}%"
        return Score(
            key=key, t=t, value=score, score=score, expected=0.0, lower=0.0,
            upper=threshold, warm=warm, kind=METRIC, detectors=("halfspace",) if warm else (),
            contributions=shares, why=why,
        )

    def _calibrate(self, wl: _Workload, raw: float) -> float:
        if wl._tail is None:
            arr = np.fromiter(wl.raws, dtype=np.float64)
            knee = float(np.quantile(arr, 1.0 - _TAIL))
            excess = arr[arr > knee] - knee
            # The exponential's mean from the median excess (median = mean * ln 2): one
            # saturated outlier in the window does not stretch the whole tail.
            scale = float(np.median(excess)) / math.log(2.0) if excess.size else 0.0
            wl._tail = (knee, max(scale, _EXCESS_FLOOR))
        knee, mean_excess = wl._tail
        beyond = _log_mass(raw) - knee
        if beyond <= 0:
            return 0.0
        log10_p = math.log10(_TAIL) - beyond / mean_excess / math.log(10.0)
        return min(1.0, -log10_p / self.joint.decades)


def _log_mass(raw: float) -> float:
    """``-log10`` of the mass share behind a raw HalfSpaceTrees score (``1 - raw``).

    >>> round(_log_mass(0.99), 6)
    2.0
    """
    return -math.log10(max(1.0 - raw, 1e-9))


def _name(labels: Labels) -> str:
    """The workload's name: its ``workload`` label, else all its labels.

    >>> _name((("namespace", "shop"), ("workload", "checkout")))
    'checkout'
    >>> _name((("job", "node"),))
    '{job="node"}'
    """
    for k, v in labels:
        if k == "workload":
            return v
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}"
