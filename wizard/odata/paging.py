"""Bounds on following ``@odata.nextLink``: no link twice, no more pages than the data can fill.

A server whose nextLink points to itself (or cycles through a few pages) would otherwise be followed for
ever, growing the rows in memory with every round. :class:`PageGuard` watches one listing: a link seen before
is a loop; the page count is capped by what the page size and the server's own row count make plausible
(with room for rows added while paging), and in any case by an absolute cap.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from wizard.odata.errors import PagingLoopError

#: pages of one listing at most, whatever the server says (10,000 pages of 100 rows = a million rows)
DEFAULT_MAX_PAGES = 10_000

_COUNT_ANNOTATIONS = ("@odata.count", "@Microsoft.Dynamics.CRM.totalrecordcount")
_COUNT_CAPPED = "@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"


def _count(document: Mapping[str, Any]) -> int | None:
    """The server's total row count for the listing, if it gave a usable one."""
    if document.get(_COUNT_CAPPED) is True:
        return None
    for name in _COUNT_ANNOTATIONS:
        value = document.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _key(link: str) -> bytes:
    """A short fingerprint of a link: 10,000 pages of 30 KB links must not fill the memory themselves."""
    return hashlib.sha256(link.encode("utf-8", "surrogatepass")).digest()


class PageGuard:
    """Watches the links of one listing; :meth:`follow` raises :class:`PagingLoopError` on a loop or runaway."""

    def __init__(self, first_url: str, *, page_size: int | None, max_pages: int, what: str) -> None:
        self.what = what
        self.page_size = page_size if page_size and page_size > 0 else None
        self.max_pages = max_pages
        self.pages = 0
        self._seen: set[bytes] = {_key(first_url)}
        self._url = first_url

    def follow(self, document: Mapping[str, Any], link: str) -> str:
        """Record the page just read (``document``); return ``link`` if it may be followed."""
        self.pages += 1
        if self.page_size is None:
            rows = document.get("value")
            if isinstance(rows, list) and rows:
                self.page_size = len(rows)
        count = _count(document)
        if count is not None and self.page_size:
            plausible = 2 * math.ceil(count / self.page_size) + 2
            if self.pages >= plausible:
                raise self._error(
                    f"more than {plausible} pages for {count} rows of {self.page_size}",
                    f"it announced {count} rows but kept sending more pages after {self.pages}",
                )
        if self.pages >= self.max_pages:
            raise self._error(
                f"more than {self.max_pages} pages",
                f"it kept sending more pages after {self.pages}, more than any listing should have",
            )
        key = _key(link)
        if key in self._seen:
            raise self._error(
                f"page {self.pages + 1} repeats an earlier link",
                f"the link to page {self.pages + 1} leads back to an earlier page (a loop)",
            )
        self._seen.add(key)
        return link

    def _error(self, reason: str, why: str) -> PagingLoopError:
        host = urlsplit(self._url).netloc or "the server"
        return PagingLoopError(
            f"Paging stopped for {self.what}: {reason}",
            url=self._url,
            user_text=(
                f"{host} did not stop sending 'next page' links for {self.what}: {why}. "
                "The listing was abandoned and this part of the synchronization stopped."
            ),
        )


__all__ = ["DEFAULT_MAX_PAGES", "PageGuard"]
