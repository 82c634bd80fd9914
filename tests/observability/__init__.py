"""Tests of the Prometheus scrape endpoint and its metrics."""
