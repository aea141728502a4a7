"""The transfer plan (SPEC §9): data, formulation (build), solve, and the plan.

Building the PuLP problem (:mod:`ras.optimiser.formulation`) is separate from solving it
(:mod:`ras.optimiser.solve`); raw solver objects never leave this package. This package
never imports ``ras.io`` or click.
"""

from ras.outputs import held_interrupts

# PuLP imports each solver's Python package inside a bare ``try: ... except:`` (HiGHS's
# takes numpy with it, a few tenths of a second): a Ctrl-C in that moment was swallowed,
# and `ras compare` or `ras optimise` ran on to the end. Every module here imports PuLP
# after this package, so its first import is made here, with Ctrl-C held and then
# delivered (SPEC §16: a Ctrl-C stops the run within 2 s).
with held_interrupts():
    import pulp  # noqa: F401
