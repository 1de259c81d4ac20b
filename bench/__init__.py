"""Benchmarks: run with `just bench`; results go to bench/results/."""
