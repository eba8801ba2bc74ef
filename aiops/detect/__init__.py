"""Streaming anomaly detection: pure, no I/O, no clocks. Scores with reasons."""
