"""Same-origin checks for the links a server hands back (nextLink, deltaLink, OData-EntityId, Location).

Every request the session sends carries the bearer token, so a link that came from the server may only lead
back to the service's own origin. The check parses with urllib3's ``parse_url``, the parser that opens the
connection, so what is checked is what is connected to: the standard library's ``urlsplit`` reads
``https://org.example:9999\\@org.example:443/`` as org.example:443 while urllib3 connects to port 9999.
Anything a careful server never sends (backslashes, user names, control characters and whitespace,
percent-encoding in the server name, other schemes, no server name) is refused outright, whatever it would
resolve to; scheme, host and port are compared after normalisation (default ports, case, one trailing dot,
IDNA, the canonical form of an IP address). Relative links are resolved against the service root first.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from wizard.odata.errors import UnsafeLinkError

DEFAULT_PORTS = {"http": 80, "https": 443}

#: longer than any real nextLink (Dataverse paging cookies included), short enough to show and log
MAX_LINK_LENGTH = 32_768

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")
# backslash, C0/C1 controls, space and the Unicode spaces and invisible marks a parser may skip or split on
_FORBIDDEN = re.compile("[\\\\\x00-\x20\x7f-\xa0\u1680\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]")


@dataclass(frozen=True)
class Origin:
    """Scheme, host and port of a URL after normalisation: two URLs with equal origins reach one server."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def _normal_host(host: str) -> str:
    host = host.lower()
    if (host.startswith("[") and host.endswith("]")) or ":" in host:
        try:
            return "[" + ipaddress.IPv6Address(host.strip("[]")).compressed + "]"
        except ValueError as exc:
            raise ValueError("an IPv6 address that is not valid") from exc
    if host.endswith("."):
        host = host[:-1]  # "org.example." is the same name, fully qualified
    if not host or not host.isascii():
        raise ValueError("a server name that is not valid")
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        return host


def origin_of(url: str) -> Origin:
    """The origin of an absolute http(s) URL as urllib3 will connect to it; ValueError names what is wrong."""
    if len(url) > MAX_LINK_LENGTH:
        raise ValueError(f"a link longer than {MAX_LINK_LENGTH} characters")
    if _FORBIDDEN.search(url):
        raise ValueError("a backslash, a control character or whitespace")
    match = _AUTHORITY.match(url)
    if match is None:
        raise ValueError("not an absolute http(s) address with a server name")
    authority = match.group(1)
    if "@" in authority:
        raise ValueError("a user name in the address")
    if "%" in authority:
        raise ValueError("percent-encoding in the server name")
    try:
        parsed = parse_url(url)
    except LocationParseError as exc:
        raise ValueError("an address that cannot be parsed") from exc
    scheme = (parsed.scheme or "").lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"the scheme {scheme or 'none'!r}")
    if parsed.auth is not None:
        raise ValueError("a user name in the address")
    if not parsed.host:
        raise ValueError("no server name")
    host = _normal_host(parsed.host)
    port = parsed.port if parsed.port is not None else DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise ValueError("a port that is not valid")
    # belt and braces: the standard library must read the same server, or some other reader would not
    try:
        split = urlsplit(url)
        split_port = split.port if split.port is not None else DEFAULT_PORTS[scheme]
        split_name = split.hostname or ""
        if not split_name.isascii():  # IDNA the way urllib3 does it
            split_name = parse_url(f"{scheme}://{split_name}/").host or ""
        split_host = _normal_host(split_name)
    except (ValueError, LocationParseError) as exc:
        raise ValueError("an address that parsers read differently") from exc
    if split_host != host or split_port != port:
        raise ValueError("an address that parsers read differently")
    return Origin(scheme, host, port)


def shown(link: object) -> str:
    """A link for messages and logs: without its query (delta tokens, filters), escaped, at most 120 chars."""
    text = str(link).split("?", 1)[0]
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= 120 else text[:120] + "…"


def same_origin(link: object, root: str, *, what: str) -> str:
    """The absolute URL of ``link`` if it leads to ``root``'s own origin; else :class:`UnsafeLinkError`.

    ``link`` may be relative (resolved against ``root``); ``what`` names it for the message
    ("@odata.nextLink", "OData-EntityId header", ...).
    """
    expected = origin_of(root)
    if not isinstance(link, str) or not link:
        raise _refused(what, link, root, "not a text")
    try:
        if _FORBIDDEN.search(link):  # before urljoin, which would otherwise strip or keep them
            raise ValueError("a backslash, a control character or whitespace")
        absolute = link if _SCHEME.match(link) else urljoin(root, link)
        origin = origin_of(absolute)
    except ValueError as exc:
        raise _refused(what, link, root, str(exc)) from None
    if origin != expected:
        raise _refused(what, link, root, f"it leads to {origin}, not to {expected}")
    return absolute


def _refused(what: str, link: object, root: str, why: str) -> UnsafeLinkError:
    origin = origin_of(root)
    host = origin.host if origin.port == DEFAULT_PORTS[origin.scheme] else f"{origin.host}:{origin.port}"
    return UnsafeLinkError(
        f"Refused {what} {shown(link)!r}: {why}",
        status=None,
        url=root,
        user_text=(
            f"{host} sent a {what} that does not lead back to {host} ({why}). It was not followed, so your "
            "sign-in was not sent anywhere else; this part of the synchronization stopped. If it keeps "
            "happening, a proxy or a compromised server may be rewriting answers: tell your administrator."
        ),
    )


__all__ = ["DEFAULT_PORTS", "MAX_LINK_LENGTH", "Origin", "origin_of", "same_origin", "shown"]
