"""The database schema, one module per area; importing this package registers every table on Base."""
from storage.schema.base import Base
from storage.schema import core  # noqa: F401  (registers tables)
from storage.schema import presence  # noqa: F401
from storage.schema import faces  # noqa: F401
from storage.schema import claims  # noqa: F401
from storage.schema import footage  # noqa: F401
from storage.schema import sampling  # noqa: F401

__all__ = ["Base"]
