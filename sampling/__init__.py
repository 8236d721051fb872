"""Sampling mathematics: plans, ISO 2859-1 tables, switching, reproducible draws, evaluation.

Pure functions over integers, exact rationals and dataclasses; no I/O and nothing else of ours is
imported, so every number a decision rests on can be recomputed from this package alone.
"""
