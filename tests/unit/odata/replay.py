"""A tiny loopback HTTP server that replays scripted answers, including Microsoft's sample payloads verbatim.

Samples come from tests/samples/dataverse (a copy of ../shared/reference/samples/dataverse); ``[Organization URI]``
placeholders are replaced with the server's own URL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "dataverse"
DROP = object()  # close the connection without answering


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = tuple[int, dict[str, str], bytes]
Responder = Callable[[Recorded], Any]


@dataclass
class Route:
    method: str
    prefix: str
    answers: list[Any]
    sticky: bool = True  # the last answer repeats

    def next(self) -> Any:
        if len(self.answers) > 1 or not self.sticky:
            return self.answers.pop(0)
        return self.answers[0]


@dataclass
class ReplayServer:
    routes: list[Route] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = Recorded(self.command, self.path, dict(self.headers.items()), body)
                replay.requests.append(recorded)
                answer = replay.answer_for(recorded)
                if answer is DROP:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status, headers, payload = answer
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def root(self) -> str:
        return self.url + "/api/data/v9.2/"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def on(self, method: str, prefix: str, *answers: Any, sticky: bool = True) -> None:
        """Answer requests whose path starts with ``prefix`` (relative prefixes are under /api/data/v9.2/)."""
        if not prefix.startswith("/"):
            prefix = "/api/data/v9.2/" + prefix
        self.routes.append(Route(method.upper(), prefix, list(answers), sticky))

    def answer_for(self, recorded: Recorded) -> Any:
        for route in self.routes:
            if route.method == recorded.method and recorded.path.startswith(route.prefix) and route.answers:
                answer = route.next()
                return answer(recorded) if callable(answer) else answer
        return (404, {"Content-Type": "application/json"}, b'{"error":{"code":"","message":"no route"}}')

    # -- samples ---------------------------------------------------------------------------------------------
    def sample_text(self, name: str) -> str:
        text = (SAMPLES / name).read_text(encoding="utf-8")
        return text.replace("[Organization URI]", self.url).replace("[Organization Uri]", self.url)

    def sample_json(self, name: str, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
        return json_answer(self.sample_text(name), status, headers)

    def sample_http(self, name: str, extra_headers: dict[str, str] | None = None) -> Answer:
        """A ``.http`` sample: status line, headers, body (tolerates the doc's missing blank line)."""
        return parse_http(self.sample_text(name), extra_headers)


def json_answer(document: Any, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    payload = document.encode("utf-8") if isinstance(document, str) else json.dumps(document).encode("utf-8")
    base = {"Content-Type": "application/json; odata.metadata=minimal", "OData-Version": "4.0"}
    base.update(headers or {})
    return status, base, payload


def parse_http(text: str, extra_headers: dict[str, str] | None = None) -> Answer:
    lines = text.split("\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    index = 1
    while index < len(lines):
        line = lines[index].rstrip("\r").rstrip()
        if not line or line.startswith("{") or line.startswith("--"):
            break
        name, _, value = line.partition(":")
        if name.strip().lower() != "content-length":  # the server computes its own
            headers[name.strip()] = value.strip()
        index += 1
    body = "\n".join(lines[index:]).lstrip("\n")
    headers.update(extra_headers or {})
    return status, headers, body.encode("utf-8")


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def iter_paths(server: ReplayServer, method: str | None = None) -> Iterator[str]:
    for r in server.requests:
        if method is None or r.method == method:
            yield r.path
