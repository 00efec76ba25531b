"""Bounds on one HTTP exchange: a total deadline (connect + the whole answer) and a cap on the decoded body.

``requests`` only has a per-read timeout, so a server that sends its headers and then one byte every few
seconds keeps a request open for ever, and a small gzip body can expand to gigabytes in memory. Here every
request gets a :class:`Deadline`; a single watchdog thread shuts the request's socket down when it passes,
which wakes a read blocked anywhere in http.client or urllib3 (status line, headers, body). The body is read
in large chunks and counted after decoding, and reading stops at a limit.

The connection classes register themselves with the deadline of the request running in their thread; they
are installed by :class:`WatchedAdapter` (the session mounts it for http and https). The adapter also keeps
the service's :class:`~wizard.odata.overlap.Gate` (:func:`gate_of`): every request waits for a pause a 429/503
with Retry-After set, and the server's ``x-ms-dop-hint`` caps how many requests bulk calls overlap.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from wizard.odata.errors import ResponseTooLargeError, StoppedAnsweringError
from wizard.odata.overlap import DEFAULT_CONCURRENCY, Gate
from wizard.odata.retry import parse_retry_after

#: read the body this many bytes at a time (requests' default of 10 KiB makes a large page slow)
CHUNK_SIZE = 256 * 1024
#: the total time one request may take, connect and the whole answer included
DEFAULT_DEADLINE = 120.0
#: extra time per byte we upload (a 16 MB $batch of e-mails on a slow line): 32 KiB/s
UPLOAD_ALLOWANCE = 1.0 / (32 * 1024)
#: the largest decoded answer accepted: several times the largest legitimate page (5,000 rows of a wide
#: table, an e-mail's attachments in base64 up to Exchange's 150 MB message limit, a $batch of 1,000 answers)
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024


class Deadline:
    """One request's total deadline; when it passes, the socket the request uses is shut down."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._connection: HTTPConnection | None = None
        self._finished = False
        self._lock = threading.Lock()

    @property
    def passed(self) -> bool:
        return self.expired or time.monotonic() >= self.at

    def attach(self, connection: HTTPConnection) -> None:
        with self._lock:
            if self._finished:
                return
            self._connection = connection
            if self.expired:
                _shut_down(connection)

    def expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self.expired = True
            if self._connection is not None:
                _shut_down(self._connection)

    def finish(self) -> None:
        with self._lock:
            self._finished = True
            self._connection = None


def _shut_down(connection: HTTPConnection) -> None:
    sock = connection.sock
    if sock is None:
        return
    with contextlib.suppress(OSError, TypeError, AttributeError):
        # the plain socket's shutdown (SSLSocket.shutdown would also drop its TLS object under a reader)
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread that expires deadlines in time order (a heap; finished ones are skipped)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline) -> None:
        with self._wake:
            heapq.heappush(self._heap, (deadline.at, next(self._counter), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="odata-deadlines", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap:
                    self._wake.wait()
                at, _, deadline = self._heap[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
            deadline.expire()


_watchdog = _Watchdog()
_current = threading.local()


@contextlib.contextmanager
def guarded(seconds: float) -> Iterator[Deadline]:
    """Run one request (and the reading of its body) under a total deadline of ``seconds``."""
    deadline = Deadline(seconds)
    _watchdog.watch(deadline)
    previous = getattr(_current, "deadline", None)
    _current.deadline = deadline
    try:
        yield deadline
    finally:
        _current.deadline = previous
        deadline.finish()


def _attach(connection: HTTPConnection) -> None:
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.attach(connection)


class _WatchedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """A transport adapter whose connections obey the deadline of the request running in their thread, and
    whose requests pass the service's gate (a pause asked for by the server holds back every thread)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = Gate(DEFAULT_CONCURRENCY)

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        self.gate.wait_for_pause()
        response = super().send(request, *args, **kwargs)
        self.gate.hint(response.headers.get("x-ms-dop-hint"))
        if response.status_code in (429, 503):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after:
                self.gate.pause(retry_after)
        return response

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


#: the gate of a session that has none of its own (a stand-in for tests): one request at a time
_SEQUENTIAL = Gate(1)


def gate_of(session: object) -> Gate:
    """The gate of an :class:`~wizard.odata.session.ODataSession` (its adapter's for the service root); one that
    runs everything in sequence for anything else."""
    http = getattr(session, "http", None)
    if isinstance(http, requests.Session):
        with contextlib.suppress(Exception):
            gate = getattr(http.get_adapter(str(getattr(session, "root", ""))), "gate", None)
            if isinstance(gate, Gate):
                return gate
    return _SEQUENTIAL


def _host(url: str) -> str:
    return urlsplit(url).netloc or "the server"


def stopped_answering(url: str, seconds: float) -> StoppedAnsweringError:
    host = _host(url)
    return StoppedAnsweringError(
        f"{host} did not finish its answer within {seconds:.0f} s",
        user_text=(
            f"The server stopped answering: {host} did not finish its answer within {seconds:.0f} seconds. "
            "This part of the synchronization stopped; it will be tried again at the next run."
        ),
        url=url,
    )


def too_large(url: str, limit: int) -> ResponseTooLargeError:
    host = _host(url)
    megabytes = limit / (1024 * 1024)
    return ResponseTooLargeError(
        f"Answer from {host} larger than {megabytes:.0f} MB (decoded)",
        url=url,
        user_text=(
            f"{host} sent an answer larger than {megabytes:.0f} MB, far more than any page of data should "
            "be (possibly a compressed 'bomb' or a faulty proxy). It was not read to the end; this part of "
            "the synchronization stopped."
        ),
    )


def read_body(response: requests.Response, *, max_bytes: int, deadline: Deadline) -> bytes:
    """The decoded body of a streamed response, at most ``max_bytes``, read before ``deadline`` passes.

    Raises :class:`ResponseTooLargeError` or :class:`StoppedAnsweringError` (the response is closed then);
    transport failures surface as ``requests`` exceptions, as they would without streaming.
    """
    url = response.url or ""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        response.close()
        raise too_large(url, max_bytes)
    received = bytearray()
    for chunk in response.iter_content(CHUNK_SIZE):
        received += chunk
        if len(received) > max_bytes:
            response.close()
            raise too_large(url, max_bytes)
        if deadline.passed:
            response.close()
            raise stopped_answering(url, deadline.seconds)
    if deadline.expired:  # the watchdog cut the connection: what arrived may look complete but is not
        response.close()
        raise stopped_answering(url, deadline.seconds)
    return bytes(received)


__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "UPLOAD_ALLOWANCE",
    "Deadline",
    "WatchedAdapter",
    "guarded",
    "read_body",
    "stopped_answering",
    "too_large",
]
