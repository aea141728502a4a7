"""The transfer plan (SPEC §9): data, formulation (build), solve, and the plan.

Building the PuLP problem (:mod:`ras.optimiser.formulation`) is separate from solving it
(:mod:`ras.optimiser.solve`); raw solver objects never leave this package. This package
never imports ``ras.io`` or click.
"""
