"""The journal: every signal, plan, step and outcome, in SQLite (default) or PostgreSQL
shared by replicas, surviving restarts and failovers (see docs/journal.md)."""

from aiops.journal.check import Inspection, JournalUnusable, inspect, move_aside
from aiops.journal.store import Journal, JournalWriteError
from aiops.journal.tx import Tx
from aiops.journal.views import ActionStatus, ActionView, EventView, IncidentView

__all__ = ["ActionStatus", "ActionView", "EventView", "IncidentView", "Inspection", "Journal",
           "JournalUnusable", "JournalWriteError", "Tx", "inspect", "move_aside"]
