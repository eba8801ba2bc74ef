"""aiops: a monitoring and self-healing daemon.

Streaming anomaly detection over metric series, declarative YAML runbooks that scale,
restart or roll back workloads, Alertmanager webhooks as triggers, and demand
forecasting so capacity arrives before traffic does.
"""

__version__ = "0.1.0"
