"""The shared kernel: settings, database, ids, clock, errors, logging, events and jobs.

Nothing in ``core`` imports a capability; capabilities build on it.
"""
