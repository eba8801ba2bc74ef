"""Demand forecasting and the capacity policy: pure, no I/O, no clocks.

Modules:

* :mod:`~aiops.forecast.base` - the ``Forecaster`` protocol (``learn_one`` /
  ``forecast`` / ``interval`` / ``snapshot`` / ``restore``) and the vectorized base
  class: many series in lockstep, gaps (NaN) skipped and counted, out-of-sample
  residuals per horizon kept in a bounded window.
* :mod:`~aiops.forecast.seasonal_naive`, :mod:`~aiops.forecast.holt_winters`,
  :mod:`~aiops.forecast.multi_seasonal`, :mod:`~aiops.forecast.auto` - the models;
  :mod:`~aiops.forecast.catalog` builds them by name for a sampling step.
* :mod:`~aiops.forecast.intervals` - residual windows and their quantiles (the bands).
* :mod:`~aiops.forecast.accuracy` - MASE and sMAPE.
* :mod:`~aiops.forecast.capacity` - the HPA rule and the (ramp-aware) predictive rule.
* :mod:`~aiops.forecast.replay` - simulated pods, to replay a policy on observed demand.
* :mod:`~aiops.forecast.gate` - the capacity gate: who controls each workload's
  replicas (the HPA until the predictive rule has beaten it on the replayed window).
* :mod:`~aiops.forecast.workloads` - what a forecast engine calls each cycle.

For the forecast engine, each cycle::

    wf = WorkloadForecasts(config.forecast)          # once; keep it, snapshot it
    signals = wf.update(
        [DemandSample(key=key, demand=req_per_s, current_replicas=n,
                      ready_replicas=ready, utilization=cpu_util_or_None)],
        now=now,
    )                                                 # -> list[ForecastSignal]

Each ``ForecastSignal`` carries the point forecast and band at ``now + startup +
interval``, current and desired replicas (from the policy the gate put in control,
``wf.decisions[key]``) and the reasons (``why``); the engine puts
them on the signal queue, where runbooks with a ``forecast`` trigger act on them (raise
the HPA's ``minReplicas``, or scale directly). ``wf.snapshot()`` / ``wf.restore()``
carry the state across restarts (npz, no pickle).
"""
