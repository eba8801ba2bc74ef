"""Plain, frozen detector parameters taken from :class:`aiops.config.detect.DetectConfig`.

The vector core works on these so it can be built without pydantic (benchmarks, tests)
and so the parameters that shape learnt state can be hashed into snapshots.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from aiops.config.detect import DetectConfig


@dataclass(frozen=True, kw_only=True, slots=True)
class Params:
    """Everything the robust vector detector needs; see ``DetectConfig`` for meanings.

    >>> Params().warmup
    30
    >>> Params(alpha=0.1).state_hash() != Params().state_hash()
    True
    """

    warmup: int = 30
    alpha: float = 0.05
    fast_alpha: float = 0.2
    slow_alpha: float = 0.01
    scale_alpha: float = 0.02
    trend_scale_alpha: float = 0.001
    threshold: float = 0.9
    decades: float = 8.0
    clip: float = 4.0
    min_rel_scale: float = 0.001
    adopt_after: int = 40
    episode_open: float = 0.32
    episode_min: int = 300
    episode_calm: int = 30
    episode_renew: float = 0.0
    floor_share: float = 0.0
    floor_alpha: float = 0.002
    seasons: tuple[tuple[float, int, float], ...] = ()
    recurring_period: float = 0.0
    recurring_bins: int = 24
    recurring_neighbours: int = 1
    recurring_halflife_periods: float = 25.0
    recurring_discount: float = 1.0
    repeat_discount: float = 1.0
    repeat_level: float = 0.8
    repeat_margin: float = 0.5
    records: bool = False
    record_tolerance: float = 0.02
    drift_threshold: float = 0.0

    @classmethod
    def from_config(cls, config: DetectConfig) -> Params:
        """The parameters of a validated configuration section."""
        return cls(
            warmup=config.warmup,
            alpha=config.alpha,
            fast_alpha=config.fast_alpha,
            slow_alpha=config.slow_alpha,
            scale_alpha=config.scale_alpha,
            trend_scale_alpha=config.trend_scale_alpha,
            threshold=config.threshold,
            decades=config.decades,
            clip=config.clip,
            min_rel_scale=config.min_rel_scale,
            adopt_after=config.adopt_after,
            episode_open=config.episode_open,
            episode_min=config.episode_min,
            episode_calm=config.episode_calm,
            episode_renew=config.episode_renew,
            floor_share=config.floor_share,
            floor_alpha=config.floor_alpha,
            seasons=tuple((s.period, s.bins, s.alpha) for s in config.seasons),
            recurring_period=config.recurring_period,
            recurring_bins=config.recurring_bins,
            recurring_neighbours=config.recurring_neighbours,
            recurring_halflife_periods=config.recurring_halflife_periods,
            recurring_discount=config.recurring_discount,
            repeat_discount=config.repeat_discount,
            repeat_level=config.repeat_level,
            repeat_margin=config.repeat_margin,
            records=config.records,
            record_tolerance=config.record_tolerance,
            drift_threshold=config.drift_threshold,
        )

    def state_hash(self) -> str:
        """Short hash of every parameter that shapes learnt state (snapshots carry it)."""
        fields = asdict(self)
        # A feature that is off hashes as before it existed (old snapshots stay valid).
        off = []
        if self.recurring_period <= 0:
            off += ["recurring_", "repeat_"]
        elif self.repeat_discount >= 1.0:
            off.append("repeat_")
        if not self.records:
            off.append("record")
        if self.drift_threshold <= 0:
            off.append("drift_")
        if self.episode_renew <= 0:
            off.append("episode_renew")
        fields = {k: v for k, v in fields.items() if not k.startswith(tuple(off))}
        blob = json.dumps(fields, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
