"""Failed attempts counted per key (an account, a client address), refused past a limit.

The counts live in the cache, so they hold across server processes when the cache is the
shared Redis one. Windows are fixed: a key that failed `limit` times within the current
window of `window` seconds is refused until that window ends, whatever it presents,
even the right password or token, so that guessing gains nothing. Only failures count.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class FailureLimit:
    name: str  # what is being limited, e.g. "login-account"
    limit: int
    window: int  # seconds

    def _key(self, key: str, bucket: int) -> str:
        return f"throttle:{self.name}:{bucket}:{key}"

    def _bucket(self) -> tuple[int, int]:
        now = time.time()
        bucket = int(now // self.window)
        return bucket, max(int((bucket + 1) * self.window - now) + 1, 1)

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again; 0 if it may now."""
        bucket, left = self._bucket()
        failures = cache.get(self._key(key, bucket), 0)
        return left if failures >= self.limit else 0

    def failed(self, key: str) -> None:
        bucket, left = self._bucket()
        name = self._key(key, bucket)
        cache.add(name, 0, left)
        try:
            cache.incr(name)
        except ValueError:  # expired between add and incr: a new window
            cache.set(name, 1, self.window)

    def reset(self, key: str) -> None:
        cache.delete(self._key(key, self._bucket()[0]))


def client_address(request) -> str:
    # daphne puts the proxy's X-Forwarded-For here when started with --proxy-headers.
    return request.META.get("REMOTE_ADDR") or "unknown"


def login_failures_per_account() -> FailureLimit:
    return FailureLimit(
        "login-account",
        settings.EXPUSHER_LOGIN_FAILURES_PER_ACCOUNT,
        settings.EXPUSHER_THROTTLE_WINDOW_SECONDS,
    )


def failures_per_address(what: str) -> FailureLimit:
    """`what` keeps the dashboard login and the API's token checks counted apart."""
    return FailureLimit(
        f"{what}-address",
        settings.EXPUSHER_FAILURES_PER_ADDRESS,
        settings.EXPUSHER_THROTTLE_WINDOW_SECONDS,
    )
