"""Our own observability: structlog setup and the explicit Prometheus registry."""
