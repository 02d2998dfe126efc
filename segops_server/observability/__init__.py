"""Observability: Prometheus metrics at /metrics, request ids and JSON logs."""
