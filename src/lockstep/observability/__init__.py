"""What an operator reads: logs with request and operation ids, Prometheus metrics.

Outside the layers like `cli.py`: the API and the worker see these only through the interfaces
bootstrap hands them (`api.ops.MetricsExporter`, `service.telemetry.Telemetry`).
"""
