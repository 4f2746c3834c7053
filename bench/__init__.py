"""Benchmarks: each runs against a local Temporal dev server; `python -m bench.NAME [--quick]`."""
