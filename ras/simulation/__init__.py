"""Plans under uncertainty (SPEC §17): draws, their costs, the robust margin."""
