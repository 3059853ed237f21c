"""Rate limits on what costs the server or invites abuse: logins, registrations, API writes, pushes.

The counts live in the account database, shared by every server process, so
two workers do not each allow the whole limit (an in-memory limiter would),
and a check and its count are one transaction, so parallel requests cannot
all slip under the limit.
"""

from __future__ import annotations

import math

from .auth import accounts, settings

# bucket -> (setting in [limits], window in seconds)
LIMITS = {
    "login": ("login_attempts", 15 * 60),
    "push": ("pushes_per_minute", 60),
    "api_write": ("api_writes_per_minute", 60),
    "register": ("registrations_per_hour", 3600),
}


class RateLimited(Exception):
    """Too many events of one kind from one account or address; ``retry_after`` says how long to wait."""

    def __init__(self, bucket: str, retry_after: int) -> None:
        super().__init__(bucket)
        self.bucket = bucket
        self.retry_after = retry_after


def count(bucket: str, key: str) -> None:
    """Count one event of ``bucket`` for ``key`` (an account or an address), or raise RateLimited."""
    setting, window = LIMITS[bucket]
    wait = accounts().take(bucket, key.casefold(), settings()["limits"][setting], window)
    if wait > 0:
        raise RateLimited(bucket, math.ceil(wait))


def check(bucket: str, key: str) -> None:
    """Raise RateLimited if ``key`` has used up ``bucket``, without counting anything."""
    setting, window = LIMITS[bucket]
    wait = accounts().waiting(bucket, key.casefold(), settings()["limits"][setting], window)
    if wait > 0:
        raise RateLimited(bucket, math.ceil(wait))


def forgive(bucket: str, key: str, *, all_events: bool = False) -> None:
    """Take back the last count of ``key`` (or all): the attempt it stood for was legitimate."""
    accounts().forgive(bucket, key.casefold(), all_events=all_events)
