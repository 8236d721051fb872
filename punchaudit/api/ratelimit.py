"""Per-API-key request rate limit (OWASP API4: unrestricted resource consumption).

A token bucket per key: `api_rate_per_minute` requests a minute on average, bursts up to the same
number. Kept in process memory, so each server worker limits on its own; that bounds what one leaked
or runaway key can do without a shared store. 0 switches the limit off. Terminals are not limited
here: their pushes are idempotent and bounded by the body size limit.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from punchaudit.api.auth import Principal, authenticate


class TokenBuckets:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[int, tuple[float, float]] = {}  # key id -> (tokens, last refill, monotonic)

    def take(self, key_id: int, per_minute: int, now: float | None = None) -> float:
        """Spend one token; return 0 if allowed, else the seconds until a token is available."""
        now = time.monotonic() if now is None else now
        rate = per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key_id, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (1.0 - tokens) / rate


def rate_limited(request: Request, principal: Annotated[Principal, Depends(authenticate)]) -> None:
    """Router dependency: 429 with Retry-After once a key exceeds its rate."""
    per_minute = request.app.state.settings.api_rate_per_minute
    if per_minute <= 0:
        return
    buckets = getattr(request.app.state, "rate_buckets", None)
    if buckets is None:
        buckets = request.app.state.rate_buckets = TokenBuckets()
    wait = buckets.take(principal.key_id, per_minute)
    if wait > 0:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, f"rate limit of {per_minute} requests a minute exceeded",
                            headers={"Retry-After": str(math.ceil(wait))})
