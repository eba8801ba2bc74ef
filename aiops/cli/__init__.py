"""Command-line interface: ``aiops run | check | incidents | detect | bench ...``.

Each command module registers itself on :data:`aiops.cli.app.app` when imported.
"""

from __future__ import annotations

from aiops.cli.app import app


def main() -> None:
    """Entry point of the ``aiops`` console script."""
    _load_commands()
    app(prog_name="aiops")  # also under `python -m aiops` (usage lines, completion)


def _load_commands() -> None:
    # Imported for their registration side effect; one line per command module.
    import aiops.cli.cmd_attack
    import aiops.cli.cmd_autoscale
    import aiops.cli.cmd_chaos
    import aiops.cli.cmd_completion
    import aiops.cli.cmd_daemon
    import aiops.cli.cmd_demo
    import aiops.cli.cmd_detect
    import aiops.cli.cmd_exporter
    import aiops.cli.cmd_feedback
    import aiops.cli.cmd_incidents
    import aiops.cli.cmd_journal
    import aiops.cli.cmd_models
    import aiops.cli.cmd_models_compare
    import aiops.cli.cmd_quiet
    import aiops.cli.cmd_runbook
    import aiops.cli.cmd_scale  # noqa: F401
