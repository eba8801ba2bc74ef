"""Runbooks: schema, matching and pure planning. Decisions are data with reasons."""

from aiops.runbook.guards import GuardFacts, check_guards
from aiops.runbook.loader import load_runbooks, parse_runbooks
from aiops.runbook.match import Match, explain_match, match
from aiops.runbook.planner import plan, resolve_replicas
from aiops.runbook.schema import Runbook

__all__ = [
    "GuardFacts",
    "Match",
    "Runbook",
    "check_guards",
    "explain_match",
    "load_runbooks",
    "match",
    "parse_runbooks",
    "plan",
    "resolve_replicas",
]
