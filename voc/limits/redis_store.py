"""Limits kept in Redis (VOC_REDIS_URL): each decision is one Lua script, run atomically by Redis.

The scripts do what voc.limits.postgres does in SQL, on a hash per key (tokens or failures, and the time
of the last change on Redis's clock), and give each key an expiry for when it says nothing any more, so
Redis forgets it by itself. Short socket timeouts: a Redis that does not answer lets the process decide
alone (voc.limits.Guard) rather than hold requests. On the event loop (the public routes' middleware) the
bucket is taken with redis.asyncio, a client per loop: no thread hop, about half the time of one."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import Any

_NOW = "local clock = redis.call('TIME') local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000\n"
TAKE = _NOW + """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil or at == nil then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(math.max(now, at)))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return tostring(wait)
"""
ADMIT = _NOW + """
local max_delay, forget = tonumber(ARGV[1]), tonumber(ARGV[2])
local wait, over = 0, {}
for i, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'failures', 'at')
  local failures, at, free = tonumber(state[1]), tonumber(state[2]), tonumber(ARGV[i + 2])
  if failures and at and failures >= free and now - at <= forget then
    over[#over + 1] = key
    wait = math.max(wait, at + math.min(max_delay, 2 ^ math.min(failures - free + 1, 30)) - now)
  end
end
if wait > 0 then return tostring(wait) end
for _, key in ipairs(over) do
  redis.call('HSET', key, 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(forget * 1000))
end
return '0'
"""
FAIL = _NOW + """
local forget = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'failures', 'at')
  local failures, at = tonumber(state[1]) or 0, tonumber(state[2]) or now
  if now - at > forget then failures = 1 else failures = failures + 1 end
  redis.call('HSET', key, 'failures', tostring(failures), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(forget * 1000))
end
return 0
"""


class RedisStore:
    """Token buckets and sign-in failure counts in Redis, under `prefix`."""

    name = "redis"

    def __init__(self, url: str, *, prefix: str = "voc:limit:", timeout: float = 0.5) -> None:
        import redis  # the `redis` extra: imported only when VOC_REDIS_URL is set

        self.prefix, self.url, self.timeout = prefix, url, timeout
        self.client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                           health_check_interval=30)
        self._async_takes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
        self._take = self.client.register_script(TAKE)
        self._admit = self.client.register_script(ADMIT)
        self._fail = self.client.register_script(FAIL)

    def take(self, key: str, rate: float, burst: float) -> float:
        """Take a token from `key`'s bucket (`rate` tokens a second, at most `burst`): 0.0, or seconds to wait."""
        return float(self._take(keys=[self.prefix + key], args=[float(rate), float(burst)]))

    async def take_async(self, key: str, rate: float, burst: float) -> float:
        """take(), awaited on the event loop."""
        loop = asyncio.get_running_loop()
        script = self._async_takes.get(loop)
        if script is None:
            import redis.asyncio

            client = redis.asyncio.Redis.from_url(self.url, socket_timeout=self.timeout,
                                                  socket_connect_timeout=self.timeout, health_check_interval=30)
            script = self._async_takes[loop] = client.register_script(TAKE)
        return float(await script(keys=[self.prefix + key], args=[float(rate), float(burst)]))

    def admit(self, keys: Sequence[tuple[str, int]], max_delay: float, forget_after: float) -> float:
        """Seconds to wait before a password may be checked for these (key, free failures); 0.0 restarts the
        delay of every key past its free failures (see voc.auth.throttle)."""
        return float(self._admit(keys=[self.prefix + key for key, _ in keys],
                                 args=[float(max_delay), float(forget_after), *(int(free) for _, free in keys)]))

    def fail(self, keys: Sequence[str], forget_after: float) -> None:
        """Count a failure for each key (starting afresh when the last one is forgotten)."""
        self._fail(keys=[self.prefix + key for key in keys], args=[float(forget_after)])

    def clear(self, key: str) -> None:
        """Forget a key."""
        self.client.delete(self.prefix + key)

    def close(self) -> None:
        self.client.close()
