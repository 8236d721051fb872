"""Rosters, schedules, presence rules, the vectorised matcher and face verification (no I/O)."""
