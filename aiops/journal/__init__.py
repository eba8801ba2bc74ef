"""The journal: every signal, plan, step and outcome in SQLite, surviving restarts."""
