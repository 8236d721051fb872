"""Declarative base with a constraint naming convention, so Alembic batch mode on SQLite can find
constraints by name and both databases get the same names."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# 64-bit ids on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    """Naive UTC: every stored timestamp without a zone column is UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
