"""Composition root and lifecycle: build every part from config, run the loops, stop cleanly.

:mod:`~aiops.daemon.core` holds the :class:`Daemon`; :mod:`~aiops.daemon.backends`
builds the source and actuator; :mod:`~aiops.daemon.snapshots` keeps detector and
forecaster state on disk.
"""

from aiops.daemon.backends import build_backends
from aiops.daemon.core import Daemon, RunOptions

__all__ = ["Daemon", "RunOptions", "build_backends"]
