"""Operational metrics: Volumes, lag, freshness, errors and latency of every product; SLO and SLA tracking; dashboard data."""
