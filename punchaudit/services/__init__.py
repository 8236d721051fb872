"""Use cases: each service takes a session or engine plus domain inputs and runs one job."""
