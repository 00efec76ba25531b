"""Windows integrated sign-in (NTLM over HTTP) for the stand-ins, as IIS answers it.

The handshake is pyspnego's NTLM acceptor (``spnego.server(protocol="ntlm")``), which checks real NTLMv2
responses. It is bound to one TCP connection, as in IIS: ``NEGOTIATE`` (type 1) gets a 401 whose
``WWW-Authenticate: NTLM <CHALLENGE>`` must be answered with ``AUTHENTICATE`` (type 3) on the same connection;
after that the connection stays signed in, and later requests on it need no ``Authorization`` header.

pyspnego's acceptor reads the accounts only from the file the ``NTLM_USER_FILE`` environment variable names
(lines ``DOMAIN:USER:PASSWORD``); it has no other way to be given them. So :data:`USER_FILE` keeps one file for the
whole process: every running stand-in that speaks NTLM adds its accounts and removes them when it stops, and the
variable is set once, the first time, to that file in a private temporary folder. Two running stand-ins may
not give one logon name two different passwords (that is refused with a ValueError).

Logon names: ``DOMAIN\\user`` (``CONTOSO\\anna.schmidt`` for ``anna.schmidt@contoso.com``; the NetBIOS domain is
the first label of the UPN's domain) and the UPN itself, both case-insensitive.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import spnego
import spnego.exceptions

ENV_VAR = "NTLM_USER_FILE"
SIGNATURE = b"NTLMSSP\x00"
NEGOTIATE, CHALLENGE, AUTHENTICATE = 1, 2, 3
SCHEMES = ("Negotiate", "NTLM")  # what IIS offers with Windows Authentication on, in its order

# IIS's answer to a request without (valid) Windows credentials ("401.1"/"401.2", remote clients' short page).
IIS_401_PAGE = (
    b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
    b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\r\n'
    b'<html xmlns="http://www.w3.org/1999/xhtml">\r\n<head>\r\n'
    b'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>\r\n'
    b"<title>401 - Unauthorized: Access is denied due to invalid credentials.</title>\r\n</head>\r\n"
    b"<body>\r\n<h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2>\r\n"
    b"<h3>You do not have permission to view this directory or page using the credentials that you "
    b"supplied.</h3>\r\n</body>\r\n</html>\r\n"
)


def netbios_domain(upn: str) -> str:
    """``anna.schmidt@contoso.com`` -> ``CONTOSO`` (at most 15 characters, as NetBIOS names are)."""
    domain = upn.rpartition("@")[2]
    return domain.split(".", 1)[0].upper()[:15]


def down_level_name(upn: str) -> str:
    """``anna.schmidt@contoso.com`` -> ``CONTOSO\\anna.schmidt`` (the pre-Windows 2000 logon name)."""
    return f"{netbios_domain(upn)}\\{upn.partition('@')[0]}"


def _line_part(text: str, what: str) -> str:
    if any(ch in text for ch in ":\r\n"):
        raise ValueError(f"an NTLM {what} may not contain ':' or a line break (NTLM_USER_FILE format)")
    return text


class _UserFile:
    """The process's one ``NTLM_USER_FILE``: the union of the accounts of every running NTLM stand-in."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, dict[tuple[str, str], tuple[str, str, str]]] = {}
        self._next = 0
        self._folder: Path | None = None

    @property
    def path(self) -> Path | None:
        return None if self._folder is None else self._folder / "ntlm_users"

    def register(self, accounts: Iterable[tuple[str, str]]) -> int:
        """Add ``(logon name, password)`` pairs; returns the handle for :meth:`release`."""
        entries: dict[tuple[str, str], tuple[str, str, str]] = {}
        for logon, password in accounts:
            domain, _, user = logon.rpartition("\\")
            line = (
                _line_part(domain, "domain"),
                _line_part(user, "user name"),
                _line_part(password, "password"),
            )
            entries[(domain.upper(), user.upper())] = line
        with self._lock:
            for handle, others in self._entries.items():
                for key, line in entries.items():
                    if key in others and others[key][2] != line[2]:
                        raise ValueError(
                            f"NTLM logon name {line[0]}\\{line[1]} already has another password in a running "
                            f"stand-in (handle {handle}); one process can hold only one password per name"
                        )
            self._next += 1
            self._entries[self._next] = entries
            self._write()
            return self._next

    def release(self, handle: int) -> None:
        with self._lock:
            if self._entries.pop(handle, None) is not None:
                self._write()

    def _write(self) -> None:
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="d365sync-ntlm-"))
            atexit.register(shutil.rmtree, self._folder, True)
        path = self._folder / "ntlm_users"
        lines: dict[tuple[str, str], str] = {}
        for entries in self._entries.values():
            for key, (domain, user, password) in entries.items():
                lines.setdefault(key, f"{domain}:{user}:{password}")
        scratch = path.with_suffix(".new")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("".join(line + "\n" for line in lines.values()))
        os.replace(scratch, path)
        if os.environ.get(ENV_VAR) != str(path):
            os.environ[ENV_VAR] = str(path)  # once per process (again only if someone changed it meanwhile)


USER_FILE = _UserFile()


class NtlmAccounts:
    """Who may sign in to one stand-in with NTLM: UPN -> password, under both logon names of each user."""

    def __init__(self, accounts: Iterable[tuple[str, str]]) -> None:
        self._logons: list[tuple[str, str]] = []  # (logon name, password) as written to the file
        self._by_logon: dict[str, str] = {}  # lower-case logon name -> UPN
        for upn, password in accounts:
            if upn and password:
                for name in (down_level_name(upn), upn):
                    self._logons.append((name, password))
                    self._by_logon[name.lower()] = upn
        self._handle: int | None = None

    def __repr__(self) -> str:
        return f"NtlmAccounts({sorted(set(self._by_logon.values()))!r})"  # never the passwords

    def start(self) -> None:
        """Put the accounts into the process's NTLM_USER_FILE (idempotent)."""
        if self._handle is None:
            self._handle = USER_FILE.register(self._logons)

    def stop(self) -> None:
        if self._handle is not None:
            USER_FILE.release(self._handle)
            self._handle = None

    def resolve(self, principal: str) -> str | None:
        """The UPN of an authenticated logon name (``DOMAIN\\user`` or UPN), or None if it is not ours."""
        return self._by_logon.get(principal.strip().lower())


@dataclass(frozen=True)
class Outcome:
    """What one request's ``Authorization`` header did to its connection's NTLM state."""

    # "challenge" | "signed_in" | "denied" | "none" (no header, connection not signed in) | "other" (another scheme)
    kind: str
    header: str = ""  # for "challenge": the WWW-Authenticate value
    upn: str = ""  # for "signed_in"
    handshake: bool = (
        False  # "signed_in" by this request's AUTHENTICATE (not by the connection's earlier one)
    )


def message_type(token: bytes) -> int | None:
    """1, 2 or 3 for an NTLMSSP message, None for anything else (e.g. a Kerberos/SPNEGO token)."""
    if len(token) < 12 or not token.startswith(SIGNATURE):
        return None
    return int.from_bytes(token[8:12], "little")


class NtlmConnection:
    """The NTLM state of one TCP connection: a pending handshake, or the user it signed in as."""

    def __init__(self) -> None:
        self._pending: spnego.ContextProxy | None = None
        self.upn: str | None = None

    def accept(self, authorization: str | None, accounts: NtlmAccounts) -> Outcome:
        """Advance the handshake with this request's ``Authorization`` header.

        No header: "signed_in" if the connection already is, else "none"; another scheme (Basic, Bearer):
        "other"; both leave the state alone. A new NEGOTIATE starts over (signed out until it completes).
        """
        scheme, _, value = (authorization or "").strip().partition(" ")
        if not scheme:
            return Outcome("signed_in", upn=self.upn) if self.upn else Outcome("none")
        if scheme.lower() not in ("ntlm", "negotiate"):
            return Outcome("other")
        try:
            token = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            token = b""
        kind = message_type(token)
        if kind == NEGOTIATE:
            self.upn = None
            try:
                self._pending = spnego.server(protocol="ntlm")
                challenge = self._pending.step(token) or b""
            except (spnego.exceptions.SpnegoError, ValueError):
                self._pending = None
                return Outcome("denied")
            return Outcome(
                "challenge", header=f"{scheme_name(scheme)} {base64.b64encode(challenge).decode()}"
            )
        if kind == AUTHENTICATE and self._pending is not None:
            context, self._pending = self._pending, None
            try:
                context.step(token)
            except (spnego.exceptions.SpnegoError, ValueError):
                return Outcome("denied")
            upn = accounts.resolve(context.client_principal or "") if context.complete else None
            if upn is None:
                return Outcome("denied")
            self.upn = upn
            return Outcome("signed_in", upn=upn, handshake=True)
        # An AUTHENTICATE on a connection that never got its CHALLENGE, a Kerberos token, garbage.
        self._pending = None
        self.upn = None
        return Outcome("denied")


def scheme_name(scheme: str) -> str:
    """The scheme as the client wrote it back in the challenge (``NTLM`` or ``Negotiate``)."""
    return "Negotiate" if scheme.lower() == "negotiate" else "NTLM"
