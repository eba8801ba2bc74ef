"""Metric sources: sandbox, Prometheus, CSV replay, host. Each returns Samples."""
