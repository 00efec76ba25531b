"""Retry policies (exchangelib's FailFast / FaultTolerance idea), injected into an ODataSession.

The session decides *whether* a failure is transient (429, 503, dropped connections, timeouts on idempotent
requests); the policy decides *how long* to wait, or to give up. Waiting goes through an injectable sleeper so
tests do not really sleep.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass, field
from typing import Protocol


class Sleeper(Protocol):
    def __call__(self, seconds: float, /) -> None: ...


class RetryPolicy(Protocol):
    """Decides the wait before the next attempt of a request that failed transiently."""

    def next_delay(self, attempt: int, waited: float, retry_after: float | None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up.

        ``attempt`` counts the attempts already made (1 after the first failure), ``waited`` is the total
        seconds already spent waiting for this request, ``retry_after`` what the server asked for (if it did).
        """
        ...


@dataclass(frozen=True)
class FailFast:
    """Never retry: the first transient failure is raised (interactive checks, tests)."""

    def next_delay(self, attempt: int, waited: float, retry_after: float | None) -> float | None:
        return None


@dataclass
class FaultTolerance:
    """Retry with exponential back-off and jitter, honouring Retry-After, bounded by attempts and total wait.

    A server's Retry-After is obeyed as given (never shortened); if obeying it would exceed ``max_wait`` the
    request gives up instead of hammering the service, which would only lengthen the penalty.
    """

    max_wait: float = 300.0
    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 60.0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self, attempt: int, waited: float, retry_after: float | None) -> float | None:
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None and retry_after >= 0:
            delay = retry_after
        else:
            backoff = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
            delay = backoff * (0.5 + self.rng.random() / 2)  # "equal jitter": half fixed, half random
        if waited + delay > self.max_wait:
            return None
        return delay


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN guard
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
