"""SOAP Autodiscover (GetUserSettings): the EWS URL for a mailbox address.

Speaks exchangelib's SOAP Autodiscover to explicit candidate URLs, or to the candidates exchangelib derives
from the email domain (``https://<domain>/…``, ``https://autodiscover.<domain>/…``, then the SRV record); no
DNS is asked when candidates are given (tests). Only https URLs are contacted (plain http to loopback only).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
from exchangelib import Configuration
from exchangelib.errors import RedirectError, UnauthorizedError

from wizard.mailbox.base import ProtocolError, ServerUnreachable
from wizard.mailbox.ews.errors import is_tls_error, translate_error
from wizard.tls import is_loopback_host

log = logging.getLogger(__name__)


AUTODISCOVER_PATH = "/autodiscover/autodiscover.svc"


@dataclass(frozen=True)
class Discovered:
    ews_url: str
    address: str
    build: tuple[int, int, int, int] | None


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
    max_redirects: int = 5,
) -> Discovered:
    """Find the EWS URL for ``address`` with SOAP Autodiscover (GetUserSettings).

    Tries ``candidates`` (or the domain's standard ones, then SRV), follows address redirects; only https
    URLs are ever contacted (plain-HTTP redirect discovery, exchangelib's step 3, is left out on purpose).
    """
    from exchangelib.autodiscover.protocol import AutodiscoverProtocol
    from exchangelib.errors import ErrorNonExistentMailbox
    from exchangelib.protocol import FailFast

    protocol_cls = type(
        "StoreAutodiscoverProtocol", (AutodiscoverProtocol,), {"HTTP_ADAPTER_CLS": adapter_cls}
    )
    email = address
    urls = list(candidates) or autodiscover_candidates(address)
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
    if last is not None and is_tls_error(last):
        raise translate_error(last) from last
    raise ServerUnreachable(
        "autodiscover found no EWS endpoint",
        user_text=f"The Exchange server for {address} could not be found automatically. "
        "Enter the server's EWS address (https://…/EWS/Exchange.asmx) instead.",
    )
