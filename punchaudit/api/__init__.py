"""The FastAPI service: terminal endpoints (ZKTeco PUSH, Hikvision ISAPI) and the REST API."""
