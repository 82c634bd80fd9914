"""The built-in observability backends: Prometheus, Loki, Grafana and Alertmanager.

Each module is a plugin registered through `chom_register_observability_backends`, exactly as a
third party's would be, and returns its backend when its URL is set. The core adds the circuit
breaker, retries and the degraded cache around every call (`chom.services.observability`).
"""
