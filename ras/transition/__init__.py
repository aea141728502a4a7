"""Transition (SPEC §13): what a new table does to each person, and protection from cuts."""
