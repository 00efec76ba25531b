"""SOAP Autodiscover (GetUserSettings): the EWS URL for a mailbox address.

Speaks exchangelib's SOAP Autodiscover to explicit candidate URLs, or to the candidates exchangelib derives
from the email domain (``https://<domain>/…``, ``https://autodiscover.<domain>/…``, then the SRV record); no
DNS is asked when candidates are given (tests). Only https URLs are contacted (plain http to loopback only).

The credentials go only to servers the user vouched for (:class:`RedirectPolicy`): the address's own domain
(its registrable domain, by the Public Suffix List: ``autodiscover.eu.contoso.com`` for ``contoso.com``), the
Autodiscover URLs the user gave, and the hosts the user confirmed. A redirect (an HTTP 302, a ``RedirectUrl``
answer) or an SRV target anywhere else is not followed: the remaining candidates are tried, and if none
answers, :class:`~wizard.mailbox.base.AutodiscoverRedirect` names the host so that the user can confirm it
(Outlook asks the same question before following a redirect to another domain).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
from exchangelib import Configuration
from exchangelib.errors import RedirectError, UnauthorizedError

from wizard.errors import ConfigurationError
from wizard.mailbox.base import AutodiscoverRedirect, ProtocolError, ServerUnreachable
from wizard.mailbox.ews.errors import is_tls_error, translate_error
from wizard.odata.links import origin_of, shown
from wizard.tls import is_loopback_host

log = logging.getLogger(__name__)


AUTODISCOVER_PATH = "/autodiscover/autodiscover.svc"


@dataclass(frozen=True)
class Discovered:
    ews_url: str
    address: str
    build: tuple[int, int, int, int] | None


@cache
def _suffix_list() -> Any:
    """The Public Suffix List snapshot bundled with ``publicsuffixlist`` (read once; never fetched)."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def host_of(text: str) -> str:
    """The normalised server name of a URL or a bare host name (``Mail.Contoso.com.`` -> ``mail.contoso.com``);
    ValueError names what is wrong."""
    text = text.strip()
    url = text if "://" in text else f"https://{text}/"
    return origin_of(url).host


def registrable_domain(host: str) -> str | None:
    """The domain one owner registered (``contoso.co.uk`` for ``mail.eu.contoso.co.uk``); None for an IP
    address or a name that is itself a public suffix or has no dot (``localhost``)."""
    if _is_ip(host):
        return None
    found = _suffix_list().privatesuffix(host)
    return str(found) if found else None


class RedirectPolicy:
    """Which Autodiscover servers may receive the mailbox's credentials without asking the user.

    The address's own domain (by registrable domain; an address whose domain has none, ``anna@corp``, by
    that name alone), the hosts of the Autodiscover URLs the user gave, and ``allowed_hosts``
    (confirmed by the user: the wizard's question, the CLI's ``--allow-redirect``).
    """

    def __init__(self, address: str, *, trusted_urls: Sequence[str] = (), allowed_hosts: Sequence[str] = ()):
        raw_domain = address.rsplit("@", 1)[-1]
        try:
            self.domain = host_of(raw_domain)
        except ValueError:
            self.domain = raw_domain.strip().lower()
        self.registrable = registrable_domain(self.domain) if self.domain else None
        self.hosts: set[str] = set()
        for url in trusted_urls:
            try:
                self.hosts.add(host_of(url))
            except ValueError:
                continue  # such a URL is refused when it is tried
        for host in allowed_hosts:
            try:
                self.hosts.add(host_of(host))
            except ValueError as exc:
                raise ConfigurationError(
                    f"not a server name: {host!r}",
                    user_text=f"{shown(host)!r} is not a server name ({exc}); name the server to allow, "
                    "e.g. autodiscover.contoso.com.",
                ) from None

    @property
    def shown_domain(self) -> str:
        return self.registrable or self.domain or "the address's domain"

    def allows(self, host: str) -> bool:
        if host in self.hosts:
            return True
        if not self.domain or _is_ip(host):
            return False
        if self.registrable is not None:
            return registrable_domain(host) == self.registrable
        return host == self.domain  # no registrable domain (a public suffix, a single label): that name only

    def refusal(self, address: str, host: str, url: str) -> AutodiscoverRedirect:
        domain = self.shown_domain
        return AutodiscoverRedirect(
            f"autodiscover redirect to {host} (outside {domain}) not confirmed",
            host=host,
            url=url,
            user_text=f"Autodiscover for {address} leads to the server {host}, which is outside {domain}. "
            f"Your password was not sent there. If {host} belongs to your mail provider, allow it "
            f"(on the command line: --allow-redirect {host}); otherwise enter the server's EWS address "
            "(https://…/EWS/Exchange.asmx) instead.",
        )


def autodiscover_candidates(address: str) -> list[str]:
    """The SOAP Autodiscover URLs exchangelib tries for an address, in its order (SRV comes later)."""
    domain = address.rsplit("@", 1)[-1].strip().lower()
    return [f"https://{domain}{AUTODISCOVER_PATH}", f"https://autodiscover.{domain}{AUTODISCOVER_PATH}"]


def _srv_candidates(domain: str) -> list[str]:
    """``_autodiscover._tcp.<domain>`` SRV targets (highest priority first) as Autodiscover URLs."""
    try:
        import dns.resolver

        answers = dns.resolver.resolve(f"_autodiscover._tcp.{domain}.", "SRV", lifetime=10)
    except Exception:
        return []
    records = sorted(answers, key=lambda r: (r.priority, -r.weight))
    return [f"https://{str(r.target).rstrip('.')}{AUTODISCOVER_PATH}" for r in records if r.port == 443]


def autodiscover(
    address: str,
    credentials: Any,
    *,
    auth_type: str,
    adapter_cls: type[requests.adapters.HTTPAdapter],
    candidates: Sequence[str] = (),
    allowed_hosts: Sequence[str] = (),
    max_redirects: int = 5,
) -> Discovered:
    """Find the EWS URL for ``address`` with SOAP Autodiscover (GetUserSettings).

    Tries ``candidates`` (or the domain's standard ones, then SRV), follows address redirects; only https
    URLs are ever contacted (plain-HTTP redirect discovery, exchangelib's step 3, is left out on purpose),
    and only on servers :class:`RedirectPolicy` allows (``allowed_hosts``: confirmed by the user). When no
    server answered and a redirect to an unconfirmed server was left unfollowed, raises
    :class:`~wizard.mailbox.base.AutodiscoverRedirect` naming its host.
    """
    from exchangelib.autodiscover.protocol import AutodiscoverProtocol
    from exchangelib.errors import ErrorNonExistentMailbox
    from exchangelib.protocol import FailFast

    protocol_cls = type(
        "StoreAutodiscoverProtocol", (AutodiscoverProtocol,), {"HTTP_ADAPTER_CLS": adapter_cls}
    )
    email = address
    urls = list(candidates) or autodiscover_candidates(address)
    # the URLs the user gave, or the ones derived from the address itself; SRV targets and redirects are not
    policy = RedirectPolicy(address, trusted_urls=list(urls), allowed_hosts=allowed_hosts)
    refused: AutodiscoverRedirect | None = None
    tried_srv = bool(candidates)
    last: BaseException | None = None
    redirects = 0
    index = 0
    while True:
        if index >= len(urls):
            if tried_srv:
                break
            tried_srv = True  # the DNS step comes last, and only when the https candidates failed
            urls.extend(_srv_candidates(address.rsplit("@", 1)[-1]))
            continue
        url = urls[index]
        index += 1
        parts = urlsplit(url)
        if parts.scheme != "https" and not (
            parts.scheme == "http" and is_loopback_host(parts.hostname or "")
        ):
            continue
        try:
            host = host_of(url)
        except ValueError as exc:
            log.warning("autodiscover: not following %r: %s", shown(url), exc)
            last = ProtocolError(f"autodiscover pointed to an address that is not valid: {exc}")
            continue
        if not policy.allows(host):
            log.warning(
                "autodiscover: not sending the credentials to %s (outside %s, not confirmed)",
                host,
                policy.shown_domain,
            )
            refused = refused or policy.refusal(address, host, url)
            continue
        protocol = protocol_cls(
            config=Configuration(
                service_endpoint=url, credentials=credentials, auth_type=auth_type, retry_policy=FailFast()
            )
        )
        try:
            response = protocol.get_user_settings(user=email)
        except RedirectError as exc:
            protocol.close()
            if redirects < max_redirects and exc.url.startswith("https://"):
                redirects += 1
                urls.insert(index, exc.url)
            continue
        except UnauthorizedError as exc:
            protocol.close()
            raise translate_error(exc, server=parts.hostname or "the server") from exc
        except Exception as exc:  # unreachable, TLS, not an autodiscover server: next candidate
            protocol.close()
            last = exc
            log.info("autodiscover candidate %s failed: %s", url, type(exc).__name__)
            continue
        protocol.close()
        if response.redirect_address and redirects < max_redirects:
            redirects += 1
            email = response.redirect_address
            index -= 1  # ask the same server about the new address
            continue
        if response.redirect_url and redirects < max_redirects:
            redirects += 1
            urls.insert(index, response.redirect_url)
            continue
        try:
            response.raise_errors()
        except ErrorNonExistentMailbox as exc:
            raise translate_error(exc) from exc
        except Exception as exc:
            last = exc
            continue
        if not response.ews_url:
            last = ProtocolError("autodiscover answered without an EWS URL")
            continue
        version = response.version
        build = None
        if version is not None and version.build is not None:
            b = version.build
            build = (b.major_version, b.minor_version, b.major_build or 0, b.minor_build or 0)
        return Discovered(
            ews_url=response.ews_url, address=response.autodiscover_smtp_address or email, build=build
        )
    if refused is not None:
        raise refused
    if last is not None and is_tls_error(last):
        raise translate_error(last) from last
    raise ServerUnreachable(
        "autodiscover found no EWS endpoint",
        user_text=f"The Exchange server for {address} could not be found automatically. "
        "Enter the server's EWS address (https://…/EWS/Exchange.asmx) instead.",
    )
