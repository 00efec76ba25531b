"""The per-run reads one run leaves for the next, so a run with nothing to do costs one change read per kind.

Kept in one small JSON file per organization in the profile's cache folder (0600; deleting it costs one
full set of reads, nothing else): the signed-in account's ``WhoAmI``, the user's Outlook filters
(``userqueries``), the user's "synchronize the contact's company" setting (``usersettings``) and the user's
mailbox record as the synchronizing-computer claim last read or wrote it (its ETag included).

How fresh (issue 15 item 5):

* ``WhoAmI`` does not change for a signed-in account: kept by the organization, its Web API address, the
  sign-in kind and the account name (UPN or ``DOMAIN\\user``), read again when any of them changes.
* Filters and user settings have no change tracking (``userqueries``/``usersettings`` are not
  change-tracked tables, and a version check is one request per run, just what is to be saved): they are
  read again when older than :data:`FRESH_FOR`, 10 minutes, under the smallest sync interval the
  schedule allows by default (15 minutes), so a scheduled run always reads them and a filter changed in
  Dynamics 365 takes effect within one sync interval; only runs closer together (a second ``sync --once``,
  a run right after another) use the kept copy. A run asked for with ``fresh`` (Sync now, the wizard
  closing) reads them all again.
* The claim: a run whose claim was confirmed less than :data:`CLAIM_RECHECK` ago (a read of the row, or a
  heartbeat PATCH that the row's ETag accepted) does not read it before it starts; its heartbeat waits for
  its first write (``RunContext.before_writes``), which stays a conditional PATCH on the kept ETag, so a
  computer that lost the claim still writes nothing. A takeover is noticed at the next write or, in quiet
  runs, within :data:`CLAIM_RECHECK`; a heartbeat older than :data:`HEARTBEAT_EVERY` is renewed at the
  start of a run, so the "last seen" other computers show stays recent while this one synchronizes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from wizard.crm.entities import MailboxRecord, UserQuery, WhoAmI
from wizard.paths import FILE_MODE

log = logging.getLogger(__name__)

FRESH_FOR = timedelta(minutes=10)  # filters and user settings
CLAIM_RECHECK = timedelta(minutes=10)  # the claim read before a run
HEARTBEAT_EVERY = timedelta(minutes=30)  # the claim's heartbeat, also when a run writes nothing
FORMAT = 1

T = TypeVar("T")


class RunCache:
    """The kept reads of one organization; ``path`` None keeps nothing (every run reads everything, also
    within one process)."""

    def __init__(self, path: Path | None, data: dict[str, Any] | None = None) -> None:
        self.path = path
        self.data: dict[str, Any] = data if data is not None else {"format": FORMAT}

    @classmethod
    def load(cls, path: Path | None) -> RunCache:
        """The file's contents; a missing, unreadable or foreign file is an empty cache (never an error)."""
        if path is None:
            return cls(None)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as error:
            log.info("run cache %s not used: %s", path, error)
            return cls(path)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return cls(path)
        return cls(path, data)

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def save(self) -> None:
        """Write the file (0600, replaced whole); a failure is logged: the next run reads again."""
        if self.path is None:
            return
        temp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(self.data, out)
            os.replace(temp, self.path)
        except OSError as error:
            log.warning("run cache %s not written: %s", self.path, error)

    def forget(self) -> None:
        """Drop everything kept (the next run reads it all)."""
        self.data = {"format": FORMAT}
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    # -- WhoAmI ------------------------------------------------------------------------------------------
    def whoami(self, account: str) -> WhoAmI | None:
        entry = self.data.get("whoami") if self.enabled else None
        if not isinstance(entry, dict) or entry.get("account") != account:
            return None
        return _build(WhoAmI, entry.get("value"))

    def remember_whoami(self, account: str, who: WhoAmI) -> None:
        self.data["whoami"] = {"account": account, "value": dataclasses.asdict(who)}

    # -- filters and user settings ------------------------------------------------------------------------
    def filters(self, now: datetime) -> list[UserQuery] | None:
        value = self._fresh("filters", now, FRESH_FOR)
        if not isinstance(value, list) or not value:  # none kept: read (and maybe create the defaults)
            return None
        built = [_build(UserQuery, row) for row in value]
        return None if any(b is None for b in built) else [b for b in built if b is not None]

    def remember_filters(self, now: datetime, filters: list[UserQuery]) -> None:
        self.data["filters"] = {"at": now.isoformat(), "value": [dataclasses.asdict(f) for f in filters]}

    def contact_company(self, now: datetime) -> bool | None:
        value = self._fresh("contact_company", now, FRESH_FOR)
        return value if isinstance(value, bool) else None

    def remember_contact_company(self, now: datetime, value: bool) -> None:
        self.data["contact_company"] = {"at": now.isoformat(), "value": value}

    def email_server(self, now: datetime) -> dict[str, Any] | None:
        """What email needs from Dynamics 365 (``wizard.sync.email.common.read_settings``), when fresh."""
        value = self._fresh("email_server", now, FRESH_FOR)
        return value if isinstance(value, dict) else None

    def remember_email_server(self, now: datetime, value: dict[str, Any]) -> None:
        self.data["email_server"] = {"at": now.isoformat(), "value": dict(value)}

    # -- the claim ----------------------------------------------------------------------------------------
    def claim_row(self) -> MailboxRecord | None:
        """The user's mailbox record as the claim last read or wrote it (whatever its age)."""
        entry = self.data.get("claim") if self.enabled else None
        return _build(MailboxRecord, entry.get("row")) if isinstance(entry, dict) else None

    def claim_confirmed(self, now: datetime) -> MailboxRecord | None:
        """The kept row when the claim was confirmed less than :data:`CLAIM_RECHECK` ago."""
        if self._fresh("claim", now, CLAIM_RECHECK) is None:
            return None
        return self.claim_row()

    def remember_claim(self, now: datetime, row: MailboxRecord | None) -> None:
        """The row as read or written ``now`` (None: forget it, e.g. the claim is lost)."""
        if row is None:
            self.data.pop("claim", None)
        else:
            self.data["claim"] = {"at": now.isoformat(), "value": True, "row": dataclasses.asdict(row)}

    def _fresh(self, key: str, now: datetime, fresh_for: timedelta) -> Any:
        entry = self.data.get(key) if self.enabled else None
        if not isinstance(entry, dict):
            return None
        try:
            at = datetime.fromisoformat(str(entry.get("at")))
        except ValueError:
            return None
        if at.tzinfo is None or not (now - fresh_for < at <= now + timedelta(minutes=1)):
            return None  # too old, or from a clock that was ahead
        return entry.get("value")


def _build(cls: type[T], value: Any) -> T | None:
    if not isinstance(value, dict):
        return None
    try:
        return cls(**value)
    except TypeError:
        return None
