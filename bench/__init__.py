"""Benchmarks (`make bench`): figures, not tests. See bench/README.md for what is measured."""
