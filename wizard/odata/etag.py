"""Weak ETag helpers for optimistic concurrency.

Dataverse sends ``W/"915244"``: treat it as opaque and compare only for equality.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ANY = "*"


def etag_of(row: Mapping[str, Any]) -> str | None:
    """The row's ``@odata.etag`` or None."""
    value = row.get("@odata.etag")
    return str(value) if value else None


def is_weak(etag: str) -> bool:
    return etag.startswith("W/")


def normalize(etag: str) -> str:
    """Accept ``W/"1"``, ``"1"`` or a bare ``1`` and return the form the header needs (weak stays weak)."""
    etag = etag.strip()
    if etag == ANY or is_weak(etag) or (etag.startswith('"') and etag.endswith('"')):
        return etag
    return f'"{etag}"'


def same(a: str | None, b: str | None) -> bool:
    """Weak comparison (RFC 7232 2.3.2): equal opaque tags, ignoring the ``W/`` prefix."""
    if a is None or b is None:
        return False
    return a.removeprefix("W/") == b.removeprefix("W/")


def if_match(etag: str | None) -> dict[str, str]:
    """Headers for PATCH/DELETE: If-Match on the given ETag, or ``*`` (exists, any version: never upsert)."""
    return {"If-Match": normalize(etag) if etag else ANY}


def if_none_match(etag: str) -> dict[str, str]:
    """Headers for a conditional GET: 304 Not Modified means unchanged."""
    return {"If-None-Match": normalize(etag)}
