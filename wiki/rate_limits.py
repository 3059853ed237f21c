"""Rate limits on what costs the server or invites abuse: registrations, API writes, pushes.

The counts live in the account database, shared by every server process, so
two workers do not each allow the whole limit (an in-memory limiter would).
Failed logins have their own rule (``Accounts.login_blocked``): they count
failures per account and address, not attempts.
"""

from __future__ import annotations

import math

from .auth import accounts, settings

# bucket -> (setting in [limits], window in seconds)
LIMITS = {
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
