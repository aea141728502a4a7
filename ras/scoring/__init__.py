"""Scoring: validate raw rows, points from answers, money from points (pure)."""
