"""Benchmarks that show what the integration costs its host, against baselines."""
