"""The journal: every signal, plan, step and outcome in SQLite, surviving restarts."""

from aiops.journal.store import Journal
from aiops.journal.views import ActionView, EventView, IncidentView

__all__ = ["ActionView", "EventView", "IncidentView", "Journal"]
