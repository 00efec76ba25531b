"""Overlapped round trips: up to N requests of one service on the wire at once, answers back in order.

Both services (Dataverse ``$batch`` writes, EWS ``CreateItem`` / ``UpdateItem`` / ``GetItem`` chunks) use the
same two pieces:

* :class:`Gate`, one per service connection: how many requests may be in flight (the profile's setting,
  lowered by the server's ``x-ms-dop-hint``), and a shared pause: a 429/503 with Retry-After (or EWS's
  ``BackOffMilliseconds``) on one request holds back every request of that service until it has passed, not
  only the thread that got it.
* :class:`InOrder`, one per bulk call: runs the HTTP round trips on a small thread pool while the calling
  thread builds the next batch; the caller takes the answers in the order it submitted them. Everything
  else (the state DB, journal and links) stays on the calling thread. With a limit of 1 the call runs on
  the calling thread when it is submitted: exactly the sequential behaviour.

The calling thread's loop::

    with InOrder(gate) as pipe:
        for batch in batches:
            for key, answer in pipe.room():  # answers in order, until one more may go
                record(key, answer)
            if stopped:
                break  # no new batch is sent; those on the wire finish below
            journal(batch)
            pipe.submit(batch, functools.partial(send, batch))
        for key, answer in pipe.drain():
            record(key, answer)
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from wizard.settings.profile import DEFAULT_CONCURRENT_REQUESTS, MAX_CONCURRENT_REQUESTS

K = TypeVar("K")
T = TypeVar("T")

#: requests of one service in flight at once unless the profile says otherwise
DEFAULT_CONCURRENCY = DEFAULT_CONCURRENT_REQUESTS
#: the most the profile may ask for
MAX_CONCURRENCY = MAX_CONCURRENT_REQUESTS


def checked_limit(value: int) -> int:
    """``value`` if it is a valid concurrency (1 to :data:`MAX_CONCURRENCY`); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENCY:
        raise ValueError(f"concurrent requests must be a whole number from 1 to {MAX_CONCURRENCY}")
    return value


class Gate:
    """One service's admission: the concurrency limit, the server's hint, and a pause all requests honour.

    Thread-safe. ``clock`` and ``sleeper`` are injectable so tests need not really wait.
    """

    def __init__(
        self,
        limit: int = DEFAULT_CONCURRENCY,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleeper: Callable[[float], None] = time.sleep,
    ) -> None:
        self._configured = checked_limit(limit)
        self._hint: int | None = None
        self._until = 0.0
        self._pauser: int | None = None
        self._busy = 0
        self._clock = clock
        self._sleeper = sleeper
        self._cond = threading.Condition()
        self._local = threading.local()  # per thread: slots held, and whether it set the pause
        #: the most requests that held a slot at once (for tests and benchmarks)
        self.most_busy = 0

    @property
    def configured(self) -> int:
        return self._configured

    @property
    def limit(self) -> int:
        """Requests that may be in flight now: the setting, capped by the server's hint."""
        with self._cond:
            return min(self._configured, self._hint) if self._hint else self._configured

    def configure(self, limit: int) -> None:
        with self._cond:
            self._configured = checked_limit(limit)
            self._cond.notify_all()

    def hint(self, value: str | int | None) -> None:
        """The server's degree-of-parallelism hint (Dataverse ``x-ms-dop-hint``); unreadable values are ignored."""
        try:
            number = int(str(value).strip()) if value is not None else 0
        except ValueError:
            return
        if number >= 1:
            with self._cond:
                self._hint = number
                self._cond.notify_all()

    def pause(self, seconds: float) -> None:
        """No request of this service starts before ``seconds`` from now (a longer pause already set stays).

        The thread that got the answer asking for it waits through its own retry policy (which honours the
        same Retry-After), so the pause holds back the *other* threads."""
        if seconds > 0:
            with self._cond:
                until = self._clock() + seconds
                if until > self._until:
                    self._until = until
                    self._pauser = threading.get_ident()

    def remaining_pause(self) -> float:
        with self._cond:
            return max(0.0, self._until - self._clock())

    def wait_for_pause(self) -> float:
        """Sleep until the service's pause (if any) has passed; the seconds slept. The thread that set the
        pause does not wait here (its retry policy already does)."""
        slept = 0.0
        while (remaining := self.remaining_pause()) > 0:
            with self._cond:
                if self._pauser == threading.get_ident():
                    break
            self._sleeper(remaining)
            slept += remaining
        return slept

    def held_here(self) -> bool:
        """True in a thread that holds one of this gate's slots (a nested bulk call then runs sequentially)."""
        return bool(getattr(self._local, "held", 0))

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the service's request slots (waiting for one, and for a pause, first). Re-entrant: a
        thread that holds one already keeps using it."""
        if self.held_here():
            yield
            return
        with self._cond:
            while self._busy >= (min(self._configured, self._hint) if self._hint else self._configured):
                self._cond.wait()
            self._busy += 1
            self.most_busy = max(self.most_busy, self._busy)
            if self._pauser == threading.get_ident():  # a new call on this thread: the pause holds it too
                self._pauser = None
        self._local.held = 1
        try:
            self.wait_for_pause()
            yield
        finally:
            self._local.held = 0
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()


@dataclass(frozen=True)
class Answer(Generic[T]):
    """What one submitted call ended with: its value, or the exception it raised."""

    value: T | None = None
    error: BaseException | None = None

    def result(self) -> T:
        """The value, or the call's exception raised again."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class InOrder(Generic[K, T]):
    """Calls run on up to ``gate.limit`` threads; :meth:`room` and :meth:`drain` hand the answers back in the
    order the calls were submitted. Leaving the ``with`` block waits for every call still running (a call on
    the wire is never abandoned), so an error raised by the caller loses no answer that is being received."""

    def __init__(self, gate: Gate, name: str = "overlap") -> None:
        self.gate = gate
        self._name = name
        self._pool: ThreadPoolExecutor | None = None
        self._pending: collections.deque[tuple[K, Future[T]]] = collections.deque()

    def __enter__(self) -> InOrder[K, T]:
        return self

    def __exit__(self, *exc: object) -> None:
        for _key, future in self._pending:
            with contextlib.suppress(BaseException):
                future.exception()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    @property
    def in_flight(self) -> int:
        return sum(1 for _, f in self._pending if not f.done())

    def submit(self, key: K, call: Callable[[], T]) -> None:
        """Start ``call`` (on a worker thread, in one of the gate's slots); its answer comes back under ``key``."""
        future: Future[T] = Future()
        if self.gate.configured <= 1 or self.gate.held_here():
            # sequential (as before overlapping existed, or nested in a call that holds a slot already):
            # run it here and now
            try:
                with self.gate.slot():
                    future.set_result(call())
            except BaseException as exc:  # handed back through the Answer, as a worker's would be
                future.set_exception(exc)
            self._pending.append((key, future))
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.gate.configured, thread_name_prefix=self._name)
        self._pending.append((key, self._pool.submit(self._slotted, call)))

    def _slotted(self, call: Callable[[], T]) -> T:
        with self.gate.slot():
            return call()

    def _pop(self) -> tuple[K, Answer[T]]:
        key, future = self._pending.popleft()
        try:
            return key, Answer(value=future.result())
        except BaseException as exc:
            return key, Answer(error=exc)

    def room(self) -> Iterator[tuple[K, Answer[T]]]:
        """The answers already in (in order), then more (waiting) until one more call may be submitted."""
        while self._pending and (self._pending[0][1].done() or len(self._pending) >= self.gate.limit):
            yield self._pop()

    def drain(self) -> Iterator[tuple[K, Answer[T]]]:
        """Every remaining answer, in order, waiting for each."""
        while self._pending:
            yield self._pop()


def run_in_order(gate: Gate, calls: Sequence[Callable[[], T]], name: str = "overlap") -> list[Answer[T]]:
    """Every call of ``calls`` through :class:`InOrder`; their answers in the same order (for reads, where
    nothing is recorded between two calls)."""
    answers: list[Answer[T]] = []
    with InOrder[int, T](gate, name) as pipe:
        for n, call in enumerate(calls):
            answers.extend(answer for _, answer in pipe.room())
            pipe.submit(n, call)
        answers.extend(answer for _, answer in pipe.drain())
    return answers
