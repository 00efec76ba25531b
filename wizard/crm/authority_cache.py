"""The sign-in authority's public metadata, kept across runs, so a run with a cached token asks it nothing.

MSAL fetches the authority's OpenID configuration (and, for Microsoft's clouds, the instance discovery
document) every time an application object is built, that is once per process. It caches such answers in
its ``http_cache`` (any dict; GETs that succeeded are kept for 24 hours) and documents persisting that dict
for command-line programs. :class:`AuthorityCache` is that dict, kept in a JSON file of the cache folder:
only successful GET answers are written (MSAL's ``GET <url> hash=… 2xx`` entries: public discovery
documents, no tokens, no personal data), each with MSAL's own expiry, and the file is read back only by the
same MSAL version (its entry format is internal). Anything unreadable, from another version or expired is
ignored: MSAL asks the authority again, as it would without the file.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import logging
import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msal
from msal.throttled_http_client import NormalizedResponse

log = logging.getLogger(__name__)

FORMAT = 1
#: MSAL's index entry of its expiring mapping (msal.individual_cache)
_INDEX = "_index_"


def _kept(key: str, value: Any) -> bool:
    """Whether an entry may go to disk: a successful discovery GET over https (or to a loopback stand-in)."""
    if not (isinstance(key, str) and key.startswith("GET ") and key.endswith(" 2xx")):
        return False
    url = key.split(" ", 2)[1]
    if not url.startswith("https://"):
        return False
    status = getattr(value, "status_code", 0)
    return isinstance(status, int) and 200 <= status < 300 and isinstance(getattr(value, "text", None), str)


class AuthorityCache(dict[str, Any]):
    """MSAL's ``http_cache`` for one profile, loaded from and saved to ``path`` (see the module text)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._saved: list[dict[str, Any]] = []
        self._load()

    def _load(self) -> None:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.info("authority cache %s not used: %s", self.path, exc)
            return
        try:
            if document.get("format") != FORMAT or document.get("msal") != msal.__version__:
                return
            now = int(time.time())
            sequence: list[list[Any]] = []
            timestamps: dict[str, list[int]] = {}
            entries = []
            for entry in document["entries"]:
                key, expires_at, created_at = (
                    str(entry["key"]),
                    int(entry["expires_at"]),
                    int(entry["created_at"]),
                )
                raw = SimpleNamespace(
                    status_code=int(entry["status"]), text=str(entry["text"]), headers=dict(entry["headers"])
                )
                response = NormalizedResponse(raw)
                if not created_at <= now < expires_at or not _kept(key, response):
                    continue
                self[key] = response
                heapq.heappush(sequence, [expires_at, created_at, key])
                timestamps[key] = [expires_at, created_at]
                entries.append(entry)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            log.info("authority cache %s not used: %s", self.path, exc)
            self.clear()
            return
        if timestamps:
            self[_INDEX] = (sequence, timestamps)
        self._saved = entries

    def _entries(self) -> list[dict[str, Any]]:
        index = self.get(_INDEX)
        if not index:
            return []
        _sequence, timestamps = index
        entries = []
        for key, (expires_at, created_at) in sorted(timestamps.items()):
            value: Any = self.get(key)
            if value is None or not _kept(key, value):
                continue
            entries.append(
                {
                    "key": key,
                    "expires_at": int(expires_at),
                    "created_at": int(created_at),
                    "status": value.status_code,
                    "text": value.text,
                    "headers": {str(k): str(v) for k, v in dict(value.headers).items()},
                }
            )
        return entries

    def save(self) -> None:
        """Write the kept entries when they changed (atomically, 0600); a failure only costs the next run a
        request, so it is logged, not raised."""
        try:
            entries = self._entries()
        except (TypeError, ValueError) as exc:  # MSAL changed its format: keep nothing
            log.info("authority cache not saved: %s", exc)
            return
        if entries == self._saved:
            return
        document = {"format": FORMAT, "msal": msal.__version__, "entries": entries}
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle)
            os.replace(tmp, self.path)
        except OSError as exc:
            log.info("authority cache %s not saved: %s", self.path, exc)
            with contextlib.suppress(OSError):
                tmp.unlink()
            return
        self._saved = entries
