"""The loopback HTTP(S) server every stand-in runs on, with fault injection.

Each stand-in subclasses :class:`SandboxHandler` and implements ``route()``; the server binds to 127.0.0.1 on
an ephemeral port, runs in a daemon thread and speaks HTTP/1.1 with keep-alive. :class:`FaultPlan` makes
requests slow, throttled (429 + Retry-After, or whatever the stand-in's protocol uses), failing (5xx) or
dropped (the connection is closed without an answer), for the next N requests or a fraction of them.
:attr:`SandboxServer.latency` is a fixed wait before every answer (``d365sync sandbox --latency-ms``): a
network's round trip, which this kernel cannot add (no netem), and which ``FaultPlan.clear()`` leaves alone.

One handler object serves one TCP connection (keep-alive), so it also holds that connection's NTLM state
(:attr:`SandboxHandler.ntlm`): IIS signs in connections, not requests (:mod:`wizard.sandbox.ntlm`).
"""

from __future__ import annotations

import contextlib
import json
import random
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from wizard.sandbox.ntlm import IIS_401_PAGE, SCHEMES, NtlmAccounts, NtlmConnection, Outcome
from wizard.sandbox.tls import SandboxTLS


@dataclass
class Fault:
    kind: str  # "latency" | "throttle" | "error" | "drop"
    remaining: int | None = None  # how many more requests it hits; None = until cleared
    probability: float = 1.0
    seconds: float = 0.0  # latency, or Retry-After for "throttle"
    status: int = 503  # for "error"
    path_contains: str = ""  # only requests whose path contains this


@dataclass
class FaultPlan:
    """Faults applied to incoming requests, in the order they were added. Thread-safe."""

    seed: int = 0
    faults: list[Fault] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(self.seed)

    def add(self, kind: str, **kwargs: Any) -> Fault:
        fault = Fault(kind=kind, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def latency(self, seconds: float, **kwargs: Any) -> Fault:
        return self.add("latency", seconds=seconds, **kwargs)

    def throttle(self, retry_after: float = 1, **kwargs: Any) -> Fault:
        return self.add("throttle", seconds=retry_after, **kwargs)

    def error(self, status: int = 503, **kwargs: Any) -> Fault:
        return self.add("error", status=status, **kwargs)

    def drop(self, **kwargs: Any) -> Fault:
        return self.add("drop", **kwargs)

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def pick(self, path: str) -> list[Fault]:
        """The faults that hit this request (at most one non-latency fault)."""
        chosen: list[Fault] = []
        with self._lock:
            for fault in list(self.faults):
                if fault.path_contains and fault.path_contains not in path:
                    continue
                if fault.probability < 1.0 and self._random.random() >= fault.probability:
                    continue
                if fault.kind != "latency" and any(f.kind != "latency" for f in chosen):
                    continue
                chosen.append(fault)
                self.hits[fault.kind] = self.hits.get(fault.kind, 0) + 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.remove(fault)
        return chosen


class SandboxHandler(BaseHTTPRequestHandler):
    """Base request handler: HTTP/1.1, quiet logs, request counting and faults.

    Subclasses implement :meth:`route` and may override :meth:`send_throttled` / :meth:`send_failure` to answer
    in their protocol's own words (a SOAP fault for EWS, an OData error body for Dataverse).
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = (
        True  # headers and body go out as separate writes; Nagle + delayed ACK cost ~40 ms each
    )
    server_version = "d365sync-sandbox"
    sys_version = ""
    timeout = 30

    server: SandboxServer

    def setup(self) -> None:
        self.ntlm = NtlmConnection()  # this connection's Windows sign-in (handshake or signed-in user)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(self.timeout)
            self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self, method: str) -> None:
        self.server.count_request(method, self.path)
        self.server.count_in_flight(+1)
        try:
            self._answer(method)
        finally:
            self.server.count_in_flight(-1)

    def _answer(self, method: str) -> None:
        body = self.read_body()
        if self.server.latency > 0:
            time.sleep(self.server.latency)
        for fault in self.server.faults.pick(self.path):
            if fault.kind == "latency":
                time.sleep(fault.seconds)
            elif fault.kind == "drop":
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(2)
                return
            elif fault.kind == "throttle":
                self.send_throttled(fault.seconds)
                return
            elif fault.kind == "error":
                self.send_failure(fault.status)
                return
        self.route(method, body)

    def route(self, method: str, body: bytes) -> None:
        raise NotImplementedError

    # -- answers ---------------------------------------------------------------------------------
    def send_bytes(
        self,
        status: int,
        payload: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        repeated: Sequence[tuple[str, str]] = (),
    ) -> None:
        """``repeated``: headers sent once per value (``WWW-Authenticate`` with one challenge each)."""
        self.send_response(status)
        if payload:  # an empty body has no media type (sendMail's 202 "doesn't return anything")
            self.send_header("Content-Type", content_type)
        for name, value in [*repeated, *(headers or {}).items()]:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def send_json(self, status: int, document: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(document, ensure_ascii=False).encode("utf-8")
        self.send_bytes(status, payload, "application/json; charset=utf-8", headers)

    def send_unauthorized(
        self,
        challenges: Sequence[str] = SCHEMES,
        payload: bytes = IIS_401_PAGE,
        content_type: str = "text/html",
        headers: dict[str, str] | None = None,
    ) -> None:
        """401 with one ``WWW-Authenticate`` header per challenge (as IIS sends them); the connection stays open."""
        self.send_bytes(
            401, payload, content_type, headers, repeated=[("WWW-Authenticate", c) for c in challenges]
        )

    def windows_sign_in(self, accounts: NtlmAccounts, offer: Sequence[str] = SCHEMES) -> str | None:
        """The UPN this connection is signed in as with NTLM, after this request's step of the handshake.

        None means a 401 has been sent: the CHALLENGE for a NEGOTIATE, else ``offer`` (no or wrong credentials,
        an AUTHENTICATE without a CHALLENGE on this connection, another scheme).
        """
        outcome = self.ntlm_step(accounts)
        if outcome.kind == "signed_in":
            return outcome.upn
        self.send_unauthorized([outcome.header] if outcome.kind == "challenge" else offer)
        return None

    def ntlm_step(self, accounts: NtlmAccounts) -> Outcome:
        """This request's step of the connection's NTLM handshake (counted in ``server.ntlm_sign_ins``)."""
        outcome = self.ntlm.accept(self.headers.get("Authorization"), accounts)
        if outcome.handshake:
            self.server.count_sign_in()
        return outcome

    def send_throttled(self, retry_after: float) -> None:
        self.send_bytes(429, b"Too Many Requests", "text/plain", {"Retry-After": str(int(retry_after))})

    def send_failure(self, status: int) -> None:
        self.send_bytes(status, b"Service Unavailable", "text/plain")


class SandboxServer(ThreadingHTTPServer):
    """A threaded loopback server (127.0.0.1 only) with an optional TLS context."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        handler: type[SandboxHandler],
        tls: SandboxTLS | None = None,
        faults: FaultPlan | None = None,
        port: int = 0,
    ) -> None:
        super().__init__(("127.0.0.1", port), handler)
        self.tls = tls
        self.faults = faults or FaultPlan()
        self.request_log: list[tuple[str, str]] = []
        self.ntlm_sign_ins = 0  # completed NTLM handshakes (one per connection that signed in)
        self.latency = 0.0  # seconds every request waits before it is answered (a network's round trip)
        self._count_lock = threading.Lock()
        self.in_flight = 0  # requests being answered now (each on its own thread)
        self.most_in_flight = 0  # the most at once since the start or the last reset_counts()
        self._thread: threading.Thread | None = None
        if tls is not None:
            # The handshake runs in the request's own thread (SandboxHandler.setup), not in accept().
            self.socket = tls.server_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )
        self.on_request: Callable[[str, str], None] | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def count_request(self, method: str, path: str) -> None:
        with self._count_lock:
            self.request_log.append((method, path))
        if self.on_request is not None:
            self.on_request(method, path)

    def count_in_flight(self, change: int) -> None:
        """A request starts (+1) or has been answered (-1); :attr:`most_in_flight` keeps the peak."""
        with self._count_lock:
            self.in_flight += change
            self.most_in_flight = max(self.most_in_flight, self.in_flight)

    def count_sign_in(self) -> None:
        with self._count_lock:
            self.ntlm_sign_ins += 1

    def reset_counts(self) -> None:
        with self._count_lock:
            self.request_log.clear()
            self.most_in_flight = self.in_flight

    @property
    def request_count(self) -> int:
        return len(self.request_log)

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self.serve_forever, name=f"sandbox-{self.port}", kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; a server that never started is only closed (``shutdown()``
        would wait forever for a loop that never ran)."""
        if self._thread is None:
            self.server_close()
            return
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (or a TLS handshake a test aborts) is not a server bug.
        return
