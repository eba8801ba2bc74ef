"""Pytest fixtures that start real Prometheus and Alertmanager servers on loopback."""
