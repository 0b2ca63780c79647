"""A token bucket: how often one connection may publish."""

import time


class TokenBucket:
    """`rate` actions per second on average, bursts of up to `burst` (default: `rate`)."""

    __slots__ = ("rate", "burst", "tokens", "stamp")  # two per connection

    def __init__(self, rate: int, burst: int | None = None):
        self.rate = max(rate, 1)
        self.burst = max(burst or self.rate, 1)
        self.tokens = float(self.burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
