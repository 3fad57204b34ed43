"""Spacing requests to a geocoding service: at most one per ``min_delay`` for the deployment.

geopy's RateLimiter spaces one callable in one thread and swallows errors; we need one gap
shared by every thread (the Nominatim policy counts the whole application), a way to hold
back after a 429's Retry-After, and no swallowing. ``ProcessSpacer`` covers one process;
``RedisSpacer`` (used when FIELDSYNC_REDIS_URL is set) covers every process and machine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from redis.exceptions import RedisError

log = logging.getLogger("fieldsync.geocoding")

DEFAULT_MAX_WAIT = 10.0


class HeldBackError(Exception):
    """The next slot is further away than the caller will wait (a Retry-After is running)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"held back for {seconds:.0f} s")
        self.seconds = seconds


class Spacer(Protocol):
    def wait(self, max_wait: float = DEFAULT_MAX_WAIT) -> float:
        """Block until the next request may go out; return the seconds waited. Raise
        HeldBackError, reserving nothing, when that is more than ``max_wait`` away."""

    def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (a Retry-After)."""


class NoSpacer:
    """For the embedded gazetteer: no service to protect."""

    def wait(self, max_wait: float = DEFAULT_MAX_WAIT) -> float:
        return 0.0

    def hold(self, seconds: float) -> None:
        return None


class ProcessSpacer:
    """Slots reserved under a lock, slept outside it: callers go out in order, one per gap."""

    def __init__(
        self,
        min_delay: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.min_delay = min_delay
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self, max_wait: float = DEFAULT_MAX_WAIT) -> float:
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            if start - now > max_wait:
                raise HeldBackError(start - now)
            self._next = start + self.min_delay
        if start > now:
            self._sleep(start - now)
        return max(0.0, start - now)

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)


# Reserve the next slot atomically on the Redis server's own clock (machines' clocks differ).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local next_slot = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(now, next_slot)
local hold = tonumber(ARGV[2])
if hold > 0 then
  start = math.max(next_slot, now + hold)
  redis.call('SET', KEYS[1], tostring(start), 'PX', math.ceil((start - now) * 1000) + 1000)
  return '0'
end
if start - now > tonumber(ARGV[3]) then
  return tostring(now - start)
end
local following = start + tonumber(ARGV[1])
redis.call('SET', KEYS[1], tostring(following), 'PX', math.ceil((following - now) * 1000) + 1000)
return tostring(start - now)
"""


class RedisSpacer:
    """The same reservation, shared by every process that talks to one Redis. If Redis
    fails, this process spaces its own requests (never faster than the policy) meanwhile."""

    def __init__(
        self,
        client: Any,
        key: str,
        min_delay: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.min_delay = min_delay
        self.key = key
        self._script = client.register_script(_RESERVE)
        self._sleep = sleep
        self._fallback = process_spacer(key, min_delay)

    def wait(self, max_wait: float = DEFAULT_MAX_WAIT) -> float:
        try:
            delay = float(self._script(keys=[self.key], args=[self.min_delay, 0, max_wait]))
        except RedisError:
            log.warning("redis unavailable: spacing geocoder requests per process")
            return self._fallback.wait(max_wait)
        if delay < 0:  # the script reserved nothing: the slot is too far away
            raise HeldBackError(-delay)
        if delay > 0:
            self._sleep(delay)
        return delay

    def hold(self, seconds: float) -> None:
        self._fallback.hold(seconds)
        try:
            self._script(keys=[self.key], args=[self.min_delay, max(seconds, 0.001), 0])
        except RedisError:
            log.warning("redis unavailable: the Retry-After holds in this process only")


_registry: dict[str, ProcessSpacer] = {}
_registry_lock = threading.Lock()


def process_spacer(key: str, min_delay: float) -> ProcessSpacer:
    """The one spacer of this process for a service endpoint (apps and threads share it)."""
    with _registry_lock:
        spacer = _registry.get(key)
        if spacer is None:
            spacer = _registry[key] = ProcessSpacer(min_delay)
        spacer.min_delay = max(spacer.min_delay, min_delay)  # the stricter setting wins
        return spacer


def redis_client(url: str) -> Any:
    """A client that fails fast: when Redis is down the process spaces requests itself
    rather than wait for redis-py's retries."""
    import redis  # only deployments with Redis pay for the client
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url, socket_timeout=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )


def spacer_for(key: str, min_delay: float, redis_url: str | None = None) -> Spacer:
    """Redis-wide spacing when Redis is configured, else process-wide. Even without a delay
    a network service gets one: a Retry-After must hold back every request, not one."""
    if redis_url:
        return RedisSpacer(redis_client(redis_url), f"fieldsync:geocoder:{key}", min_delay)
    return process_spacer(key, min_delay)
