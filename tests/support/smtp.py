"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 with TLS (trustme), AUTH and a message sink.

Three listeners share one sink:
- ``starttls_port``: STARTTLS required before AUTH (like 587),
- ``implicit_port``: TLS from the first byte (like 465),
- ``plain_port``: no TLS offered at all (to test that the client refuses to go on without it).
AUTH PLAIN and LOGIN accept exactly one user; every listener requires authentication.
Test modules should add ``SMTP_WARNING_FILTER`` to their marks (aiosmtpd warns about AUTH without TLS).
"""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.dovecot import free_port
from wizard.mailbox.pop3 import SmtpSettings, TransportSecurity
from wizard.sandbox.tls import make_tls

SMTP_WARNING_FILTER = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None
    tls: bool

    def parsed(self) -> EmailMessage:
        message = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class Sink:
    messages: list[ReceivedMail] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode()
        mail = ReceivedMail(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            data=bytes(envelope.original_content or envelope.content),
            login=login,
            # STARTTLS sets session.ssl; implicit TLS only shows on the transport
            tls=session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
        )
        with self._lock:
            self.messages.append(mail)
        return "250 Message accepted for delivery"


class SmtpServer:
    username = "smtp-user"
    password = "smtp-Pa55!"

    def __init__(self, folder: Path) -> None:
        tls = make_tls(folder)
        self.ca_file = tls.ca_file
        self.sink = Sink()
        common: dict[str, Any] = {
            "hostname": "127.0.0.1",
            "authenticator": self._authenticate,
            "auth_required": True,
        }
        self.starttls_port = free_port()
        self.implicit_port = free_port()
        self.plain_port = free_port()
        self._controllers = self._make_controllers(tls.server_context, common)

    def _make_controllers(self, context: ssl.SSLContext, common: dict[str, Any]) -> list[Controller]:
        return [
            Controller(
                self.sink,
                port=self.starttls_port,
                tls_context=context,
                require_starttls=True,
                auth_require_tls=True,
                **common,
            ),
            # implicit TLS: aiosmtpd only counts STARTTLS as TLS, so "require TLS for AUTH" must be off here
            Controller(
                self.sink,
                port=self.implicit_port,
                ssl_context=context,
                auth_require_tls=False,
                **common,
            ),
            Controller(self.sink, port=self.plain_port, auth_require_tls=False, **common),
        ]

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.username.encode()
            and auth_data.password == self.password.encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    @property
    def messages(self) -> list[ReceivedMail]:
        return list(self.sink.messages)

    def settings(
        self, security: TransportSecurity = TransportSecurity.STARTTLS, **overrides: object
    ) -> SmtpSettings:
        port = {
            TransportSecurity.STARTTLS: self.starttls_port,
            TransportSecurity.SSL: self.implicit_port,
            TransportSecurity.PLAIN: self.plain_port,
        }[security]
        values: dict[str, object] = {
            "host": "127.0.0.1",
            "port": port,
            "security": security,
            "username": self.username,
            "password": self.password,
            "ca_file": str(self.ca_file),
            "timeout": 10.0,
            "local_hostname": "client.test",
        }
        values.update(overrides)
        return SmtpSettings(**values)  # type: ignore[arg-type]

    def start(self) -> None:
        # aiosmtpd warns "AUTH without TLS" for the implicit-TLS and the deliberately plain listener, on
        # each new connection in its own thread: tests using this fixture filter that warning
        for controller in self._controllers:
            controller.start()

    def stop(self) -> None:
        for controller in self._controllers:
            with contextlib.suppress(AssertionError):  # never started
                controller.stop()


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    server = SmtpServer(tmp_path / "smtp-tls")
    server.start()
    try:
        yield server
    finally:
        server.stop()
