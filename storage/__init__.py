"""Persistence: SQLAlchemy schema, Alembic migrations, repositories, the footage store and audit log."""
