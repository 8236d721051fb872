"""Benchmarks (`make bench`). Each module `bench/<area>.py` has `main(quick: bool) -> None` that prints
its figures, each also as a ratio to a baseline measured in the same run."""
