"""Sign-in throttling: growing delays per account and address, never a lock that refuses the right password.

After `free_failures` wrong passwords for one account from one address, each further attempt for that
account from that address waits 2, 4, 8 … seconds after the last failure (at most `max_delay`), and is
refused before its password is checked. Other addresses are not slowed by those failures, so someone
guessing at the admin's account cannot keep the admin out; one address guessing at many accounts is
slowed the same way after ten times as many failures over all of them. A failure is forgotten an hour
after the last one (or twice the longest delay); a success clears the account's count from that address.

LoginThrottle keeps the counts in the process (SQLite, one process); SharedLoginThrottle keeps them where
voc.limits keeps the rate limits (PostgreSQL or Redis), so behind N processes an attacker gets no more
attempts than behind one."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from voc.limits import Limits

ADDRESS_FACTOR = 10  # failures over all accounts from one address before it is slowed, x free_failures


class LoginThrottle:
    """Failed sign-ins per (account, address) and per address, and the wait they impose."""

    def __init__(self, free_failures: int = 5, max_delay: float = 900.0, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free_failures = max(1, free_failures)
        self.max_delay = max_delay
        self.forget_after = max(3600.0, 2 * max_delay)
        self.max_keys = max_keys
        self.clock = clock
        self._failures: OrderedDict[tuple[str, ...], tuple[int, float]] = OrderedDict()  # key -> (count, last at)
        self._lock = threading.Lock()

    @staticmethod
    def _keys(account: str, address: str) -> tuple[tuple[str, str, str], tuple[str, str]]:
        return ("account", account.strip().lower()[:320], address), ("address", address)

    def admit(self, account: str, address: str) -> float:
        """Seconds this attempt must still wait before its password may be checked (0.0: check it now).

        An attempt let through while delays apply restarts the delay at once, so a burst of parallel
        requests gets one password checked, not one per request."""
        keys = self._keys(account, address)
        frees = (self.free_failures, self.free_failures * ADDRESS_FACTOR)
        now = self.clock()
        with self._lock:
            wait = max(self._wait(key, free, now) for key, free in zip(keys, frees, strict=True))
            if not wait:
                for key, free in zip(keys, frees, strict=True):
                    count, last_at = self._failures.get(key, (0, now))
                    if count >= free and now - last_at <= self.forget_after:
                        self._failures[key] = (count, now)
            return wait

    def failed(self, account: str, address: str) -> None:
        """Count a wrong password."""
        now = self.clock()
        with self._lock:
            for key in self._keys(account, address):
                count, last_at = self._failures.pop(key, (0, now))
                self._failures[key] = (1 if now - last_at > self.forget_after else count + 1, now)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, account: str, address: str) -> None:
        """The right password: that account starts afresh from that address (the address's count stays)."""
        with self._lock:
            self._failures.pop(self._keys(account, address)[0], None)

    def _wait(self, key: tuple[str, ...], free: int, now: float) -> float:
        count, last_at = self._failures.get(key, (0, now))
        if count < free or now - last_at > self.forget_after:
            return 0.0
        delay = min(self.max_delay, 2.0 ** min(count - free + 1, 30))
        return max(0.0, last_at + delay - now)


class SharedLoginThrottle:
    """LoginThrottle's rules with the counts in the shared limits store; while the store is unavailable,
    this process's own LoginThrottle decides (voc.limits.Guard)."""

    def __init__(self, limits: Limits, free_failures: int = 5, max_delay: float = 900.0) -> None:
        assert limits.guard is not None, "shared limits need a store"
        self.guard, self.store = limits.guard, limits.guard.store
        self.local = LoginThrottle(free_failures, max_delay)

    def _keys(self, account: str, address: str) -> tuple[str, str]:
        account_key, address_key = LoginThrottle._keys(account, address)
        return " ".join(("login", *account_key)), " ".join(("login", *address_key))

    def admit(self, account: str, address: str) -> float:
        """As LoginThrottle.admit, for every process at once."""
        keys = self._keys(account, address)
        frees = (self.local.free_failures, self.local.free_failures * ADDRESS_FACTOR)
        return self.guard.call(
            lambda: self.store.admit(list(zip(keys, frees, strict=True)), self.local.max_delay,
                                     self.local.forget_after),
            lambda: self.local.admit(account, address))

    def failed(self, account: str, address: str) -> None:
        """Count a wrong password."""
        self.guard.call(lambda: self.store.fail(self._keys(account, address), self.local.forget_after),
                        lambda: self.local.failed(account, address))

    def succeeded(self, account: str, address: str) -> None:
        """The right password: that account starts afresh from that address (the address's count stays)."""
        self.guard.call(lambda: self.store.clear(self._keys(account, address)[0]),
                        lambda: self.local.succeeded(account, address))
