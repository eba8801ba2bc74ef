"""The model registry: every detector and forecaster configuration with its state is a version.

A model version is a configuration, the code that runs it and, once it has learnt, its
state (an ``npz`` blob: named arrays, never pickle), with its parent, the window it was
trained on, when it was created and its recorded benchmark metrics. The registry lives
in the state dir (``<state_dir>/models``); it decides which version of each kind is
live, and records who promoted or rolled back what and why.

Modules:

* :mod:`~aiops.models.versions` - kinds, version ids (config + code version) and the
  :class:`~aiops.models.versions.ModelVersion` record.
* :mod:`~aiops.models.events` - promotion and rollback events and the
  :class:`~aiops.models.events.EventLog` protocol (a JSON-lines file for now; the
  journal implements the same protocol when it takes these over).
* :mod:`~aiops.models.registry` - :class:`~aiops.models.registry.ModelRegistry`: the
  files, the live pointers, promote and rollback (state restored bit for bit).
* :mod:`~aiops.models.promotion` - the promotion gate: a candidate against the live
  version on recorded benchmarks (pure; the shadow window plugs in as more evidence).
* :mod:`~aiops.models.runtime` - what the daemon calls: run the live versions, and
  checkpoint their state.
"""
