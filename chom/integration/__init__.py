"""Integration layer: how CHOM reaches VPSes, queues and backends."""
