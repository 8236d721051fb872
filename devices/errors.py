"""The one error adapters raise: a body that cannot be parsed at all (as opposed to one bad line)."""
from __future__ import annotations


class ProtocolError(ValueError):
    """The whole payload is unusable; the message says what was expected and what was found."""
