"""Actuators: sandbox, Kubernetes, systemd, webhook, command, recording."""
