"""Token buckets, in process: `rate` events a second, bursts of `burst`, per key.

One limiter paces each API key's requests; another counts failed authentications
per client address, so guessing keys slows to the refill rate.
"""

from __future__ import annotations

import threading
import time


class RateLimiter:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def allow(self, key: str) -> float:
        """0 when the request may go ahead (it spends a token), else the seconds to wait."""
        return self._take(key, spend=True)

    def wait(self, key: str) -> float:
        """The seconds until `key` has a token again (0 if it has one); spends nothing."""
        return self._take(key, spend=False)

    def _take(self, key: str, *, spend: bool) -> float:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                if spend:
                    self._buckets[key] = (tokens - 1.0, now)
                    self._forget_full(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate if self.rate > 0 else 60.0

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled, so many distinct keys cannot grow memory."""
        if len(self._buckets) < 10_000 or self.rate <= 0:
            return
        full = [
            k
            for k, (t, last) in self._buckets.items()
            if t + (now - last) * self.rate >= self.burst
        ]
        for k in full:
            del self._buckets[k]
