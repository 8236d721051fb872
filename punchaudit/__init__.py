"""punchaudit application package: config, services, HTTP API, CLI and scheduler wiring."""

__version__ = "0.1.0"
