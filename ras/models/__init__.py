"""Domain types: point tables, assessments, results."""
