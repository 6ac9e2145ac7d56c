"""Benchmarks of the collection server: figures against baselines of the same run."""
