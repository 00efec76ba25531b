"""Benchmarks that hold the product's request-count bounds and record throughput figures.

Run them as modules (``python -m bench.bench_dataverse``); see bench/README.md.
"""
