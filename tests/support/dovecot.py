"""A real Dovecot POP3 server for tests (Debian package ``dovecot-pop3d``).

One Dovecot per test session, with its own configuration in a temporary folder: it listens on 127.0.0.1
only (POP3 with STLS, and POP3S), uses a trustme certificate, authenticates from a passwd-file and logs
into the folder. Each test gets its own user and Maildir (:func:`dovecot` fixture), so tests never see
each other's mail. Mail is "delivered" by writing files into ``Maildir/new`` as an MDA would.

Running as root (CI, this machine): Dovecot refuses root for login and mail processes, so logins run as
the package's ``dovenull``/``dovecot`` users and mail access as ``nobody``; the folder is world-
traversable (mode 0755, made with mkdtemp outside pytest's private tmp folder) and Maildirs belong to
``nobody``. As an ordinary user everything runs as that user, without chroots.

When Dovecot is not installed the tests are skipped locally and fail in CI (``CI`` set): CI must never
silently skip the real-server tests.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme

from wizard.mailbox.pop3 import Pop3Settings, TransportSecurity

DOVECOT = Path("/usr/sbin/dovecot")
READY_TIMEOUT = 15.0
_user_numbers = itertools.count(1)
_delivery_numbers = itertools.count(1)


def require_dovecot() -> None:
    """Skip (locally) or fail (CI) when the Dovecot binary is missing."""
    if DOVECOT.exists() and os.access(DOVECOT, os.X_OK):
        return
    message = f"Dovecot is not installed ({DOVECOT}); install the Debian package dovecot-pop3d"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must run the POP3 tests)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DovecotMailbox:
    """One test user's maildrop on the shared Dovecot."""

    server: DovecotServer
    username: str
    password: str = field(repr=False)
    home: Path

    @property
    def maildir(self) -> Path:
        return self.home / "Maildir"

    def deliver(self, raw: bytes) -> str:
        """Put a message into Maildir/new (atomically via tmp/, as Maildir wants); returns its file name."""
        name = f"{time.time_ns()}.P{os.getpid()}Q{next(_delivery_numbers)}.d365sync-test"
        tmp = self.maildir / "tmp" / name
        tmp.write_bytes(raw)
        self.server.chown(tmp)
        os.rename(tmp, self.maildir / "new" / name)
        return name

    def message_files(self) -> list[Path]:
        return sorted(
            p for sub in ("new", "cur") for p in (self.maildir / sub).iterdir() if not p.name.startswith(".")
        )

    def logouts(self, count: int, timeout: float = READY_TIMEOUT) -> list[str]:
        """This user's "Logged out" lines from Dovecot's log, once there are at least ``count`` of them.

        Dovecot writes a session's line after answering QUIT, so a test that reads the log straight after
        its client has disconnected can be ahead of it; this waits (bounded) instead of reading too early.
        """
        marker = f"pop3({self.username})<"
        deadline = time.monotonic() + timeout
        while True:
            lines = [
                line
                for line in self.server.log_text().splitlines()
                if marker in line and "Logged out" in line
            ]
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def remove(self, name: str) -> None:
        """Delete a delivered message on the server side (as another mail client would)."""
        for path in self.message_files():
            if path.name.split(":", 1)[0] == name:
                path.unlink()
                return
        raise FileNotFoundError(name)

    def settings(
        self, security: TransportSecurity = TransportSecurity.SSL, **overrides: object
    ) -> Pop3Settings:
        port = self.server.pop3s_port if security is TransportSecurity.SSL else self.server.pop3_port
        values: dict[str, object] = {
            "host": "127.0.0.1",
            "port": port,
            "username": self.username,
            "password": self.password,
            "security": security,
            "ca_file": str(self.server.ca_file),
            "timeout": 10.0,
        }
        values.update(overrides)
        return Pop3Settings(**values)  # type: ignore[arg-type]


class DovecotServer:
    """A running Dovecot master process with its own config, certificate, users and logs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.is_root = os.geteuid() == 0
        # one passwd-file per user (path with %u): a user added while Dovecot runs is seen at once,
        # whereas an appended shared file is only re-read when Dovecot notices its mtime change
        self.passwd_dir = folder / "users"
        self.log_file = folder / "dovecot.log"
        self.config_file = folder / "dovecot.conf"
        self.homes = folder / "homes"
        self.process: subprocess.Popen[bytes] | None = None
        self.pop3_port = 0
        self.pop3s_port = 0
        if self.is_root:
            nobody = pwd.getpwnam("nobody")
            self.mail_uid, self.mail_gid = nobody.pw_uid, nobody.pw_gid
            for user in ("dovecot", "dovenull"):
                try:
                    pwd.getpwnam(user)
                except KeyError:
                    pytest.fail(f"system user {user!r} missing: the dovecot-core package was not installed")
        else:
            self.mail_uid, self.mail_gid = os.getuid(), os.getgid()
        self._make_tls()

    def _make_tls(self) -> None:
        ca = trustme.CA(organization_name="d365sync test CA (dovecot)")
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = self.folder / "ca.pem"
        self.cert_file = self.folder / "cert.pem"
        self.key_file = self.folder / "key.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        cert.cert_chain_pems[0].write_to_path(str(self.cert_file))
        cert.private_key_pem.write_to_path(str(self.key_file))
        self.key_file.chmod(0o600)

    def chown(self, path: Path) -> None:
        if self.is_root:
            os.chown(path, self.mail_uid, self.mail_gid)

    def _config(self) -> str:
        f = self.folder
        if self.is_root:
            users = ""
        else:
            me = pwd.getpwuid(os.getuid()).pw_name
            users = f"default_internal_user = {me}\ndefault_login_user = {me}\n"
        login_chroot = anvil_chroot = "" if self.is_root else "  chroot =\n"
        mail_user = pwd.getpwuid(self.mail_uid).pw_name
        return f"""# generated by tests/support/dovecot.py
protocols = pop3
listen = 127.0.0.1
base_dir = {f}/run
state_dir = {f}/state
instance_name = d365sync-test-{os.getpid()}
log_path = {self.log_file}
info_log_path = {self.log_file}
ssl = yes
ssl_cert = <{self.cert_file}
ssl_key = <{self.key_file}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_failure_delay = 0
{users}mail_uid = {mail_user}
mail_gid = {self.mail_gid}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.passwd_dir}/%u
}}
userdb {{
  driver = passwd-file
  args = {self.passwd_dir}/%u
}}
service pop3-login {{
{login_chroot}  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {self.pop3s_port}
    ssl = yes
  }}
}}
# no authentication penalty (failed logins would slow every later login from 127.0.0.1 by seconds)
service anvil {{
{anvil_chroot}  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""

    def start(self) -> None:
        self.folder.chmod(0o755)
        self.homes.mkdir(exist_ok=True)
        self.homes.chmod(0o755)
        self.passwd_dir.mkdir(exist_ok=True)
        last_error = ""
        for _ in range(3):  # a free port can be taken between probing and binding: try again
            self.pop3_port, self.pop3s_port = free_port(), free_port()
            self.config_file.write_text(self._config())
            self.process = subprocess.Popen(
                [str(DOVECOT), "-F", "-c", str(self.config_file)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            try:
                self._wait_ready()
                return
            except RuntimeError as exc:
                last_error = str(exc)
                self.stop()
        raise RuntimeError(f"Dovecot did not start: {last_error}")

    def _banner(self, port: int, tls: bool) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                if tls:
                    context = ssl.create_default_context(cafile=str(self.ca_file))
                    with context.wrap_socket(sock, server_hostname="127.0.0.1") as tls_sock:
                        return tls_sock.recv(64).startswith(b"+OK")
                return sock.recv(64).startswith(b"+OK")
        except OSError:
            return False

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT
        delay = 0.01
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode(errors="replace") if self.process.stdout else ""
                raise RuntimeError(
                    f"dovecot exited with {self.process.returncode}: {output}{self.log_text()}"
                )
            if self._banner(self.pop3_port, tls=False) and self._banner(self.pop3s_port, tls=True):
                return
            time.sleep(delay)  # polling back-off, not a wait for an event
            delay = min(delay * 2, 0.2)
        raise RuntimeError(f"dovecot not ready after {READY_TIMEOUT} s: {self.log_text()}")

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def add_user(self, password: str = "Pa55-wörd!") -> DovecotMailbox:
        username = f"user{next(_user_numbers)}"
        home = self.homes / username
        for sub in ("new", "cur", "tmp"):
            (home / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
        for path in (home, home / "Maildir", *[home / "Maildir" / s for s in ("new", "cur", "tmp")]):
            self.chown(path)
        (self.passwd_dir / username).write_text(f"{username}:{{PLAIN}}{password}::::{home}::\n", "utf-8")
        return DovecotMailbox(server=self, username=username, password=password, home=home)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    require_dovecot()
    folder = Path(tempfile.mkdtemp(prefix="d365sync-dovecot-"))
    server = DovecotServer(folder)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        with contextlib.suppress(OSError):
            shutil.rmtree(folder)


@pytest.fixture
def dovecot(dovecot_server: DovecotServer) -> DovecotMailbox:
    """A fresh user with an empty Maildir on the session's Dovecot."""
    return dovecot_server.add_user()
