"""Rate limits on what costs the server or invites abuse: logins, registrations, API writes, pushes.

The counts live in the account database, shared by every server process, so
two workers do not each allow the whole limit (an in-memory limiter would),
and a check and its count are one transaction, so parallel requests cannot
all slip under the limit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask_babel import ngettext

from ..app.errors import DomainError, Gettext
from .auth import accounts, settings

# bucket -> (setting in [limits], window in seconds)
LIMITS = {
    "push": ("pushes_per_minute", 60),
    "api_write": ("api_writes_per_minute", 60),
    "register": ("registrations_per_hour", 3600),
}

# The time source of the login limits: tests move it instead of sleeping.
clock: Callable[[], float] = time.time

LOGIN_WAIT_CAP = 15 * 60  # the longest wait after failed logins
PAIR_MEMORY = 24 * 3600  # how long a failure counts against one address for one account
ADDRESS_MEMORY = 3600  # … and against one address for any account (a shared address forgets sooner)
ACCOUNT_CEILING_FACTOR = 20  # failures per hour on one account, from everywhere, in units of limits.login_attempts
ACCOUNT_CEILING_WINDOW = 3600


class RateLimited(DomainError):
    """Too many events of one kind from one account or address; ``retry_after`` says how long to wait."""

    code = "rate_limited"
    status = 429

    def __init__(self, bucket: str, retry_after: int) -> None:
        super().__init__(bucket)
        self.bucket = bucket
        self.retry_after = retry_after

    def describe(self, gettext: Gettext) -> str:
        # A plural: the sentence depends on the number of seconds, so it takes ``ngettext``.
        return ngettext(
            "Too many requests in a short time; please try again in %(num)d second.",
            "Too many requests in a short time; please try again in %(num)d seconds.",
            self.retry_after,
        )

    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": str(self.retry_after)}


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


# -- logins ------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """``free`` events, then each further one waits 1 s, 2 s, 4 s… (at most ``cap``) after the one before.

    Events count for ``memory`` seconds. The wait runs from the latest event,
    so a guesser who keeps trying at the earliest moment doubles it each
    time, while a person who mistypes twice loses a second or two.
    """

    bucket: str
    key: str
    free: int
    memory: float
    cap: float = LOGIN_WAIT_CAP

    def since(self, now: float) -> float:
        return now - self.memory

    def wait(self, times: list[float], now: float) -> float:
        beyond = len(times) - self.free
        if beyond < 0:
            return 0.0
        return max(0.0, times[-1] + min(self.cap, 2.0 ** min(beyond, 32)) - now)


@dataclass(frozen=True)
class Ceiling:
    """At most ``limit`` events in any ``window`` seconds; then wait until the oldest leaves the window."""

    bucket: str
    key: str
    limit: int
    window: float

    def since(self, now: float) -> float:
        return now - self.window

    def wait(self, times: list[float], now: float) -> float:
        if len(times) < self.limit:
            return 0.0
        return max(0.0, times[len(times) - self.limit] + self.window - now)


@dataclass
class LoginAttempt:
    """A login attempt that the limits let through and counted; ``failed`` or ``succeeded`` says how it went."""

    pair: str
    events: list[int] = field(default_factory=list)

    def failed(self) -> None:
        """A wrong password: the wait before the next try runs from now, when the slow check has ended."""
        accounts().restamp_events(self.events, clock())

    def succeeded(self) -> None:
        """The right password: this address's failures for this account are forgiven, and this attempt uncounted.

        The address's failures for other names stay (someone who owns one
        account must not wipe their record of guessing others by logging in),
        and so do the account's failures from elsewhere.
        """
        accounts().forget_events(self.events)
        accounts().forgive("login", self.pair, all_events=True)


def login_attempt(name: str, address: str, *, known_device: bool) -> LoginAttempt:
    """Let a login attempt through and count it, or raise RateLimited with the seconds to wait.

    Failures slow the guesser, never the account's owner elsewhere. An attempt
    is counted before its (slow) password check, so parallel guesses cannot
    slip under the limits, and a success takes it back. Three counts:

    - **address and account**: after ``limits.login_attempts`` failures
      from one address on one name, each further try waits 1 s, 2 s, 4 s…
      up to 15 minutes. This is what slows a guesser; since it is keyed by the
      address too, the right password from any other address gets in at once.
    - **address**: the same backoff over every name tried from one address
      (forgotten after an hour), so that trying many names is no faster.
    - **account, from everywhere**: a high ceiling (20 × ``login_attempts``
      failures an hour, 100 by default) against guessing from thousands of
      addresses. Past it, the name's logins are delayed (never for longer than
      the hour's window) for browsers that have never logged into it, but not
      for a *known device*: a browser holding the signed cookie set at its
      last successful login on that name (the "device cookie" scheme
      recommended by OWASP). The owner's usual browsers are never held back;
      only a new browser waits during a massive attack, which is the price of
      not letting that attack guess freely. Known devices are not counted in
      the ceiling either, so they cannot be pushed over it.

    Everything is keyed by the name as typed, whether or not such an account
    exists, and a held-back attempt never reaches the password check: the
    answers say nothing about which accounts exist.
    """
    free = settings()["limits"]["login_attempts"]
    name = name.casefold()
    pair = f"{address}\n{name}"
    policies: list = [
        Backoff("login", pair, free, PAIR_MEMORY),
        Backoff("login_address", address, free, ADDRESS_MEMORY),
    ]
    if not known_device:
        policies.append(Ceiling("login_account", name, ACCOUNT_CEILING_FACTOR * free, ACCOUNT_CEILING_WINDOW))
    wait, events = accounts().take_all(policies, clock())
    if wait > 0:
        raise RateLimited("login", math.ceil(wait))
    return LoginAttempt(pair, events)
