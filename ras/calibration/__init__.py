"""Calibration: fit a point table to current costs and to the money available."""
