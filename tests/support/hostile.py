"""A hostile HTTPS server for tests: 127.0.0.1 only, a private CA, answers scripted to misbehave.

Meant for every HTTP protocol path of the product: the OData session (Dataverse, Graph) uses it today; EWS
(SOAP over HTTPS) and any later path can script it the same way (its behaviours write raw HTTP, so a SOAP
answer, a 302 to Autodiscover or a drip-fed XML body are as easy as JSON); the POP3/SMTP paths can reuse
:class:`HostileCA` for their TLS listeners. What it can do:

- answer JSON or raw bytes (:func:`json_body`, :func:`raw`), redirect (:func:`redirect`), send crafted
  links in bodies or headers (``nextLink``/``deltaLink``/``Location``/``OData-EntityId``: just put them in);
- a slow body, one byte every N seconds (:func:`slow_body`), or slow headers (:func:`slow_headers`);
- a huge body streamed without building it in memory (:func:`huge_json`), a gzip bomb (:func:`gzip_bomb`);
- a nextLink that points to itself (:func:`self_next`), malformed JSON (:func:`malformed`);
- a request log (:attr:`HostileServer.requests`) so tests can assert what reached it, token included.

Everything is bounded: the server binds only to 127.0.0.1, every slow loop stops after ``max_seconds`` or
when the server stops, every socket has a timeout, and the threads are daemons joined on :meth:`stop`.
Clients trust it by passing ``verify=str(server.ca_file)`` per request (this machine sets
REQUESTS_CA_BUNDLE, which overrides ``Session.verify`` but not the per-request value).
"""

from __future__ import annotations

import gzip
import io
import json
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

JSON = "application/json; odata.metadata=minimal"


@dataclass
class Seen:
    """One request as it reached the server."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    port: int
    peer: int  # the client's port: one value per TCP connection


Behaviour = Callable[["HostileHandler", Seen], None]


class HostileCA:
    """A throw-away certificate authority; its servers hold certificates for 127.0.0.1 and localhost."""

    def __init__(self, folder: Path) -> None:
        self.ca = trustme.CA(organization_name="d365sync hostile test CA")
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_file = folder / "hostile-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context


class HostileHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _TLSServer
    timeout = 15  # no socket of this server waits longer for the client

    def log_message(self, format: str, *args: Any) -> None:
        return

    def send(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if not any(name.lower() == "content-length" for name in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def trickle(self, data: bytes, interval: float) -> None:
        """Write ``data`` one byte at a time, ``interval`` seconds apart, bounded by the server's limits."""
        owner = self.server.owner
        started = time.monotonic()
        for index in range(len(data)):
            if owner.stopping.is_set() or time.monotonic() - started > owner.max_seconds:
                return
            try:
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
            except OSError:
                return
            owner.stopping.wait(interval)

    def _any(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 64 * 1024 * 1024)) if length else b""
        seen = Seen(
            self.command, self.path, dict(self.headers.items()), body, owner.port, int(self.client_address[1])
        )
        behaviour = owner.record_and_route(seen)
        try:
            behaviour(self, seen)
        except OSError:
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = _any


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: HostileServer

    def finish_request(self, request: Any, client_address: Any) -> None:
        # the TLS handshake runs in the connection's own thread, so a stalled client cannot block accept()
        request.settimeout(HostileHandler.timeout)
        try:
            tls = self.owner.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


@dataclass
class _Route:
    method: str
    prefix: str
    behaviours: list[Behaviour]

    def next(self) -> Behaviour:
        return self.behaviours.pop(0) if len(self.behaviours) > 1 else self.behaviours[0]


@dataclass
class HostileServer:
    """One hostile HTTPS server on 127.0.0.1; ``on()`` scripts it, ``requests`` is what reached it."""

    ca: HostileCA
    max_seconds: float = 30.0
    requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.context = self.ca.server_context()
        self.stopping = threading.Event()
        self._routes: list[_Route] = []
        self._lock = threading.Lock()
        self._httpd = _TLSServer(("127.0.0.1", 0), HostileHandler)
        self._httpd.owner = self
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def ca_file(self) -> Path:
        return self.ca.ca_file

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def on(self, method: str, prefix: str, *behaviours: Behaviour) -> None:
        """Answer requests whose path starts with ``prefix`` with the behaviours in turn (the last repeats)."""
        with self._lock:
            self._routes.append(_Route(method.upper(), prefix, list(behaviours)))

    def record_and_route(self, seen: Seen) -> Behaviour:
        with self._lock:
            self.requests.append(seen)
            for route in self._routes:
                if route.method == seen.method and seen.path.startswith(route.prefix):
                    return route.next()
        return json_body({"error": {"code": "", "message": "no route"}}, status=404)

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


# -- behaviours ----------------------------------------------------------------------------------------------


def raw(status: int, headers: dict[str, str], body: bytes = b"") -> Behaviour:
    return lambda handler, _seen: handler.send(status, headers, body)


def json_body(document: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Behaviour:
    payload = document if isinstance(document, bytes) else json.dumps(document).encode()
    return raw(status, {"Content-Type": JSON, "OData-Version": "4.0", **(headers or {})}, payload)


def redirect(location: str, status: int = 302) -> Behaviour:
    return raw(status, {"Location": location, "Content-Type": "text/html"}, b"<html>moved</html>")


def self_next(root_path: str = "") -> Behaviour:
    """A page whose ``@odata.nextLink`` is the very URL that was asked for."""

    def behave(handler: HostileHandler, seen: Seen) -> None:
        link = f"https://127.0.0.1:{seen.port}{seen.path}"
        json_body({"value": [{"id": len(seen.path)}], "@odata.nextLink": link})(handler, seen)

    return behave


def slow_body(document: Any, *, interval: float = 1.0) -> Behaviour:
    """Headers at once (with the full Content-Length), then the body one byte every ``interval`` seconds."""
    payload = json.dumps(document).encode()

    def behave(handler: HostileHandler, _seen: Seen) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", JSON)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.flush()
        handler.trickle(payload, interval)
        handler.close_connection = True

    return behave


def slow_headers(*, interval: float = 1.0) -> Behaviour:
    """The status line and headers one byte every ``interval`` seconds (the body never comes)."""
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {JSON}\r\nX-Padding: {'x' * 200}\r\n\r\n".encode()

    def behave(handler: HostileHandler, _seen: Seen) -> None:
        handler.trickle(head, interval)
        handler.close_connection = True

    return behave


def huge_json(size: int, *, chunk: int = 1024 * 1024, declare_length: bool = False) -> Behaviour:
    """A JSON object of about ``size`` bytes, streamed without Content-Length (or with, if asked)."""
    head, tail = b'{"value":[{"x":"', b'"}]}'
    filler = size - len(head) - len(tail)

    def behave(handler: HostileHandler, _seen: Seen) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", JSON)
        if declare_length:
            handler.send_header("Content-Length", str(len(head) + filler + len(tail)))
        else:
            handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(head)
        left = filler
        block = b"a" * chunk
        while left > 0 and not handler.server.owner.stopping.is_set():
            handler.wfile.write(block[: min(chunk, left)])
            left -= chunk
        handler.wfile.write(tail)
        handler.close_connection = True

    return behave


@cache
def _bomb(decoded_size: int) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as packer:
        packer.write(b'{"value":[{"x":"')
        block = b"0" * (1024 * 1024)
        for _ in range(decoded_size // len(block)):
            packer.write(block)
        packer.write(b'"}]}')
    return out.getvalue()


def gzip_bomb(decoded_size: int = 256 * 1024 * 1024) -> Behaviour:
    """A small gzip body (about 1/1000 of ``decoded_size``) that expands to ``decoded_size`` bytes of JSON."""
    payload = _bomb(decoded_size)
    headers = {"Content-Type": JSON, "Content-Encoding": "gzip"}
    return raw(200, headers, payload)


def deflate_bomb(decoded_size: int = 256 * 1024 * 1024) -> Behaviour:
    """The same with ``Content-Encoding: deflate`` (zlib stream)."""
    packer = zlib.compressobj(9)
    parts = [packer.compress(b'{"value":"')]
    block = b"0" * (1024 * 1024)
    parts.extend(packer.compress(block) for _ in range(decoded_size // len(block)))
    parts.append(packer.compress(b'"}') + packer.flush())
    return raw(200, {"Content-Type": JSON, "Content-Encoding": "deflate"}, b"".join(parts))


MALFORMED: dict[str, bytes] = {
    "deeply nested": b"[" * 200_000 + b"]" * 200_000,
    "deeply nested object": b'{"value":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"}",
    "a string": b'"just a string"',
    "a list": b"[1, 2, 3]",
    "truncated": b'{"value": [{"a": 1}, {"b"',
    "rows that are strings": b'{"value": ["a", "b"]}',
    "value not a list": b'{"value": "abc"}',
    "not utf-8": b'{"value": ["\xff\xfe"]}',
    "a nextLink that is an object": b'{"value": [], "@odata.nextLink": {"href": "x"}}',
}


def malformed(kind: str) -> Behaviour:
    return raw(200, {"Content-Type": JSON}, MALFORMED[kind])


# -- fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture
def hostile_ca(tmp_path: Path) -> HostileCA:
    return HostileCA(tmp_path / "hostile-ca")


@pytest.fixture
def hostile(hostile_ca: HostileCA) -> Iterator[HostileServer]:
    server = HostileServer(hostile_ca)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hostile_pair(hostile_ca: HostileCA) -> Iterator[tuple[HostileServer, HostileServer]]:
    """Two servers with certificates from one CA: "the organization" and "the foreign host"."""
    first, second = HostileServer(hostile_ca), HostileServer(hostile_ca)
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()
