"""Resolving email addresses to Dynamics 365 rows (activity parties), in the documented order (B.13).

Server-side sync resolves a sender or recipient address by looking in SystemUser, then Contact, Account,
Lead, then the other email-enabled tables (queues, ...). With duplicates: the rows the tracking user owns
first, then the earliest created; never a disabled user; a systemuser loses against a duplicate the user
owns. An address nobody has stays unresolved: the party keeps only ``addressused``.

:func:`choose` is the pure ranking; :class:`PartyResolver` asks the Web API and caches the answers for the
run. Email tracking hands it a page's addresses first (:meth:`PartyResolver.prefetch`): one ``or`` query per
table (per chunk of addresses that keeps the URL short) instead of one per table and address.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from wizard.crm.client import odata_string
from wizard.odata.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from wizard.crm.client import DataverseClient

log = logging.getLogger(__name__)

#: Characters of one ``$filter`` (URL-encoded, counted as the worst case ``%20`` for spaces) in a look-up:
#: with ``$select`` and the service root the URL stays under ~16 KB, and the 250-odd comparisons of a full
#: chunk are far from SQL Server's 2,100 parameters a query.
FILTER_BUDGET = 12_000
_OR = len(quote(" or ", safe=""))


@dataclass(frozen=True)
class PartyTable:
    """One email-enabled table: where its addresses are and how a row is bound in a party."""

    logical_name: str
    entity_set: str
    primary_key: str
    address_columns: tuple[str, ...]
    name_column: str
    owned: bool = True
    #: column that marks a row unusable (systemuser.isdisabled)
    disabled_column: str | None = None


#: The documented order (B.13). Account and lead list only ``emailaddress1``: the other address columns
#: are not on every deployment's table (and the stand-in has only the first).
PARTY_TABLES: tuple[PartyTable, ...] = (
    PartyTable(
        "systemuser",
        "systemusers",
        "systemuserid",
        ("internalemailaddress",),
        "fullname",
        owned=False,
        disabled_column="isdisabled",
    ),
    PartyTable(
        "contact",
        "contacts",
        "contactid",
        ("emailaddress1", "emailaddress2", "emailaddress3"),
        "fullname",
    ),
    PartyTable("account", "accounts", "accountid", ("emailaddress1",), "name"),
    PartyTable("lead", "leads", "leadid", ("emailaddress1",), "fullname"),
    PartyTable("queue", "queues", "queueid", ("emailaddress",), "name"),
)
TABLE_RANK = {t.logical_name: n for n, t in enumerate(PARTY_TABLES)}
#: Tables filtering method 2 accepts ("from Dynamics 365 Leads, Contacts and Accounts").
CUSTOMER_TABLES = frozenset({"contact", "account", "lead"})


@dataclass(frozen=True)
class PartyCandidate:
    """A row whose email address matched."""

    logical_name: str
    id: str
    name: str = ""
    owner_id: str | None = None
    createdon: str = ""
    disabled: bool = False


@dataclass(frozen=True)
class ResolvedParty:
    """An address and the row it resolved to (``logical_name``/``id`` None: unresolved)."""

    address: str
    name: str = ""
    logical_name: str | None = None
    id: str | None = None

    @property
    def resolved(self) -> bool:
        return self.id is not None

    def party(self, mask: int) -> dict[str, Any]:
        """The ``activityparty`` element for a deep insert (``addressused`` always kept)."""
        out: dict[str, Any] = {"participationtypemask": mask, "addressused": self.address}
        if self.logical_name and self.id:
            table = next(t for t in PARTY_TABLES if t.logical_name == self.logical_name)
            out[f"partyid_{self.logical_name}@odata.bind"] = f"{table.entity_set}({self.id})"
        return out


def rank(candidate: PartyCandidate, me: str) -> tuple[int, int, str]:
    """Sort key: owned by me first, then the table order, then the oldest."""
    mine = bool(candidate.owner_id) and (candidate.owner_id or "").lower() == me.lower()
    return (0 if mine else 1, TABLE_RANK.get(candidate.logical_name, len(TABLE_RANK)), candidate.createdon)


def choose(candidates: Iterable[PartyCandidate], me: str) -> PartyCandidate | None:
    """The row an address resolves to among its duplicates; disabled users never win."""
    usable = [c for c in candidates if not c.disabled]
    if not usable:
        return None
    return min(usable, key=lambda c: rank(c, me))


class PartyResolver:
    """Address -> row, cached for the resolver's life (unresolved addresses too).

    :meth:`prefetch` asks every table once for many addresses (``col eq 'a' or col eq 'b' ...``, split into
    chunks of :data:`FILTER_BUDGET`); :meth:`lookup`/:meth:`resolve` answer from the cache and ask for an
    address not prefetched alone, the same way. A table the deployment does not have (404, or 400 for a
    column it lacks) is skipped for the rest of the run.
    """

    def __init__(
        self,
        crm: DataverseClient,
        me: str,
        tables: Sequence[PartyTable] = PARTY_TABLES,
        *,
        filter_budget: int = FILTER_BUDGET,
    ) -> None:
        self.crm = crm
        self.me = me.lower()
        self.tables = tuple(tables)
        self.filter_budget = filter_budget
        self._cache: dict[str, PartyCandidate | None] = {}
        self._missing: set[str] = set()  # tables this deployment does not have
        self.queries = 0

    def prefetch(self, addresses: Iterable[str]) -> None:
        """Resolve every address not cached yet, in one query per table (and chunk of addresses).

        Nothing is cached when a query fails with anything but a missing table: the error propagates and
        each address is asked again later (alone, by :meth:`lookup`)."""
        keys = [k for k in dict.fromkeys(_key(a) for a in addresses) if k and k not in self._cache]
        if not keys:
            return
        found = self._search(keys)
        for key in keys:
            self._cache[key] = choose(found[key], self.me)

    def candidates(self, address: str) -> list[PartyCandidate]:
        """Every row of every email-enabled table carrying ``address``."""
        key = _key(address)
        return self._search([key])[key] if key else []

    def _search(self, keys: Sequence[str]) -> dict[str, list[PartyCandidate]]:
        """The candidates of each (lower-cased, stripped) key: per key in table order, then row order."""
        out: dict[str, list[PartyCandidate]] = {k: [] for k in keys}
        for table in self.tables:
            if table.logical_name in self._missing:
                continue
            select = [table.primary_key, table.name_column, "createdon", *table.address_columns]
            if table.owned:
                select.append("_ownerid_value")
            if table.disabled_column:
                select.append(table.disabled_column)
            for chunk in self._chunks(table, keys):
                flt = " or ".join(f"{c} eq {odata_string(k)}" for k in chunk for c in table.address_columns)
                try:
                    self.queries += 1
                    rows = list(self.crm.query(table.entity_set, select=select, filter=flt))
                except (NotFoundError, ValidationError) as exc:
                    log.info("no %s table to resolve addresses against (%s)", table.logical_name, exc)
                    self._missing.add(table.logical_name)
                    break
                wanted = set(chunk)  # a row carrying addresses of other chunks counts there, not twice
                for row in rows:
                    # the service compares case-insensitively; so do we, and nothing looser
                    values = dict.fromkeys(
                        str(row.get(c) or "").strip().lower() for c in table.address_columns
                    )
                    hits = [v for v in values if v in wanted]
                    if not hits:
                        continue
                    candidate = _candidate(table, row)
                    for value in hits:
                        out[value].append(candidate)
        return out

    def _chunks(self, table: PartyTable, keys: Sequence[str]) -> Iterator[list[str]]:
        """``keys`` in runs whose filter fits :attr:`filter_budget` (at least one key a run)."""
        chunk: list[str] = []
        size = 0
        for key in keys:
            cost = sum(
                len(quote(f"{c} eq {odata_string(key)}", safe="")) + _OR for c in table.address_columns
            )
            if chunk and size + cost > self.filter_budget:
                yield chunk
                chunk, size = [], 0
            chunk.append(key)
            size += cost
        if chunk:
            yield chunk

    def lookup(self, address: str) -> PartyCandidate | None:
        key = _key(address)
        if not key:
            return None
        if key not in self._cache:
            self._cache[key] = choose(self.candidates(address), self.me)
        return self._cache[key]

    def resolve(self, address: str, name: str = "") -> ResolvedParty:
        found = self.lookup(address)
        if found is None:
            return ResolvedParty(address=address.strip(), name=name)
        return ResolvedParty(
            address=address.strip(), name=name or found.name, logical_name=found.logical_name, id=found.id
        )


def _key(address: str) -> str:
    """The cache key of an address: Dataverse compares addresses case-insensitively."""
    return address.strip().lower()


def _candidate(table: PartyTable, row: dict[str, Any]) -> PartyCandidate:
    return PartyCandidate(
        logical_name=table.logical_name,
        id=str(row.get(table.primary_key) or "").lower(),
        name=str(row.get(table.name_column) or ""),
        owner_id=(str(row["_ownerid_value"]).lower() if row.get("_ownerid_value") else None),
        createdon=str(row.get("createdon") or ""),
        disabled=bool(row.get(table.disabled_column)) if table.disabled_column else False,
    )


__all__ = [
    "CUSTOMER_TABLES",
    "FILTER_BUDGET",
    "PARTY_TABLES",
    "PartyCandidate",
    "PartyResolver",
    "PartyTable",
    "ResolvedParty",
    "choose",
    "rank",
]
