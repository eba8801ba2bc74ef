"""Hold Python's cyclic garbage collector while a cycle's scores are built.

A 10,000-series cycle allocates 10,000 :class:`~aiops.model.Score` objects that outlive
the call. With the collector on, that many allocations set off a dozen young passes,
a middle one and now and then a full pass over the daemon's whole heap: about a third
of the scoring time, measured on ``aiops bench prom-cycle``. Held for the call, the
same objects cost one young pass afterwards. Nothing becomes garbage any later, and a
collector that was already off stays off. The detector core stays pure; the engines,
which own the process, decide this.

>>> import gc
>>> was = gc.isenabled()
>>> with collector_held():
...     gc.isenabled()
False
>>> gc.isenabled() == was
True
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_held() -> Iterator[None]:
    """Disable the cyclic collector for the block, then restore it as it was."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
