"""Reliability: circuit breakers (pybreaker), retries with backoff and jitter, degradation."""
