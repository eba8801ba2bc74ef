"""Demand forecasting and the capacity policy: pure, no I/O, no clocks."""
