"""Runbooks: schema, matching and pure planning. Decisions are data with reasons."""
