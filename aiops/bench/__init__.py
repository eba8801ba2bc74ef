"""Benchmarks printed by ``make bench``: figures as ratios against in-run baselines."""
