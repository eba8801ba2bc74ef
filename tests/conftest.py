"""Shared pytest plugins (fixtures for real servers live in tests/realservers)."""

pytest_plugins = ["tests.realservers.plugin", "tests.realservers.postgres"]
