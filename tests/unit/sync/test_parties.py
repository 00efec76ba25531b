"""Party resolution by address (reference B.13): table order, owned by me first, then oldest, no disabled users."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest

from wizard.odata.errors import NotFoundError, ServerError, ValidationError
from wizard.sandbox.dataverse.odata_query import EvalContext, parse_filter
from wizard.sync.parties import (
    FILTER_BUDGET,
    PARTY_TABLES,
    PartyCandidate,
    PartyResolver,
    ResolvedParty,
    choose,
)

ME = "11111111-1111-1111-1111-111111111111"
OTHER = "22222222-2222-2222-2222-222222222222"


def cand(
    table: str, ident: str, *, owner: str | None = None, created: str = "2024", disabled: bool = False
) -> PartyCandidate:
    return PartyCandidate(table, ident, owner_id=owner, createdon=created, disabled=disabled)


def test_table_order_without_ownership() -> None:
    found = choose(
        [cand("lead", "l", owner=OTHER), cand("contact", "c", owner=OTHER), cand("systemuser", "u")], ME
    )
    assert found is not None and found.id == "u"
    found = choose(
        [cand("lead", "l", owner=OTHER), cand("account", "a", owner=OTHER), cand("queue", "q")], ME
    )
    assert found is not None and found.id == "a"


def test_owned_by_me_first_even_against_a_systemuser() -> None:
    found = choose(
        [cand("systemuser", "u"), cand("contact", "c1", owner=OTHER), cand("lead", "l", owner=ME)], ME
    )
    assert found is not None and found.id == "l"


def test_then_the_oldest() -> None:
    found = choose(
        [
            cand("contact", "new", owner=OTHER, created="2025-01-01T00:00:00Z"),
            cand("contact", "old", owner=OTHER, created="2020-01-01T00:00:00Z"),
            cand("contact", "mid", owner=OTHER, created="2022-01-01T00:00:00Z"),
        ],
        ME,
    )
    assert found is not None and found.id == "old"
    found = choose(
        [
            cand("contact", "old-other", owner=OTHER, created="2020-01-01T00:00:00Z"),
            cand("contact", "new-mine", owner=ME.upper(), created="2025-01-01T00:00:00Z"),
            cand("contact", "old-mine", owner=ME, created="2021-01-01T00:00:00Z"),
        ],
        ME,
    )
    assert found is not None and found.id == "old-mine"


def test_disabled_users_never_win() -> None:
    found = choose([cand("systemuser", "gone", disabled=True), cand("contact", "c", owner=OTHER)], ME)
    assert found is not None and found.id == "c"
    assert choose([cand("systemuser", "gone", disabled=True)], ME) is None
    assert choose([], ME) is None


class FakeCrm:
    """``query`` over in-memory rows per entity set; records what was asked."""

    def __init__(self, rows: dict[str, list[dict[str, Any]]], missing: Sequence[str] = ()) -> None:
        self.rows = rows
        self.missing = set(missing)
        self.asked: list[str] = []

    def query(self, entity_set: str, *, select: Sequence[str], filter: str) -> Iterator[dict[str, Any]]:
        self.asked.append(entity_set)
        if entity_set in self.missing:
            raise NotFoundError(f"no {entity_set}", status=404)
        wanted = filter.split("'")[1].lower()
        for row in self.rows.get(entity_set, []):
            if any(str(v).lower() == wanted for k, v in row.items() if "email" in k):
                yield {k: v for k, v in row.items() if k in select}


def test_resolver_asks_every_table_in_order_and_picks_by_the_rules() -> None:
    crm = FakeCrm(
        {
            "systemusers": [
                {"systemuserid": "U1", "fullname": "Old User", "internalemailaddress": "x@y.de", "isdisabled": True}
            ],
            "contacts": [
                {"contactid": "C-NEW", "fullname": "New", "emailaddress2": "X@Y.de", "_ownerid_value": OTHER,
                 "createdon": "2025-01-01T00:00:00Z"},
                {"contactid": "C-OLD", "fullname": "Old", "emailaddress1": "x@y.de", "_ownerid_value": OTHER,
                 "createdon": "2019-01-01T00:00:00Z"},
            ],
            "leads": [{"leadid": "L1", "fullname": "Lead", "emailaddress1": "x@y.de", "_ownerid_value": OTHER,
                       "createdon": "2010-01-01T00:00:00Z"}],
        },
        missing=["queues"],
    )  # fmt: skip
    resolver = PartyResolver(crm, ME)  # type: ignore[arg-type]
    party = resolver.resolve("x@y.de", "Xaver")
    assert party == ResolvedParty("x@y.de", "Xaver", "contact", "c-old")
    assert crm.asked == [t.entity_set for t in PARTY_TABLES]
    resolver.resolve("X@Y.DE")
    assert len(crm.asked) == len(PARTY_TABLES)  # cached, case-insensitively
    resolver.resolve("nobody@y.de")
    assert "queues" not in crm.asked[len(PARTY_TABLES) :]  # a missing table is not asked again


def test_unresolved_address_keeps_only_addressused() -> None:
    resolver = PartyResolver(FakeCrm({}), ME)  # type: ignore[arg-type]
    party = resolver.resolve(" someone@else.com ", "Someone")
    assert not party.resolved
    assert party.party(2) == {"participationtypemask": 2, "addressused": "someone@else.com"}


@pytest.mark.parametrize(
    ("table", "bind"),
    [("contact", "contacts"), ("systemuser", "systemusers"), ("account", "accounts"), ("lead", "leads")],
)
def test_resolved_party_binds_its_row(table: str, bind: str) -> None:
    party = ResolvedParty("a@b.c", "A", table, "abc")
    assert party.party(1) == {
        "participationtypemask": 1,
        "addressused": "a@b.c",
        f"partyid_{table}@odata.bind": f"{bind}(abc)",
    }


# ------------------------------------------------------------------------------ a page at a time


class FilterCrm:
    """``query`` answered with the Dataverse stand-in's own ``$filter`` evaluation (case-insensitive ``eq``).

    ``missing``: entity sets answered 404; ``refusing``: 400 (a column this deployment lacks); ``failing``:
    raised once, by the next query (a transient error)."""

    def __init__(
        self,
        rows: dict[str, list[dict[str, Any]]],
        *,
        missing: Sequence[str] = (),
        refusing: Sequence[str] = (),
    ) -> None:
        self.rows = rows
        self.missing = set(missing)
        self.refusing = set(refusing)
        self.failing: Exception | None = None
        self.asked: list[tuple[str, str]] = []
        self.ctx = EvalContext(user_id=ME, now=datetime(2026, 11, 25, tzinfo=UTC))

    def query(self, entity_set: str, *, select: Sequence[str], filter: str) -> Iterator[dict[str, Any]]:
        self.asked.append((entity_set, filter))
        if self.failing is not None:
            error, self.failing = self.failing, None
            raise error
        if entity_set in self.missing:
            raise NotFoundError(f"Resource not found for the segment '{entity_set}'.", status=404)
        if entity_set in self.refusing:
            raise ValidationError("Could not find a property named 'emailaddress'.", status=400)
        expr = parse_filter(filter)
        return iter([{k: v for k, v in r.items() if k in select} for r in self.rows.get(entity_set, []) if expr.evaluate(r, self.ctx)])  # fmt: skip


_COLUMNS = {t.entity_set: t for t in PARTY_TABLES}


def _population(rng: random.Random, pool: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """A few rows per email-enabled table carrying addresses of ``pool`` (in any case), some twice."""

    def spelled(address: str) -> str:
        return rng.choice([address, address.upper(), address.title()])

    rows: dict[str, list[dict[str, Any]]] = {}
    serial = 0
    for table in PARTY_TABLES:
        for _ in range(rng.randrange(0, 8)):
            serial += 1
            row: dict[str, Any] = {
                table.primary_key: f"{serial:08d}-0000-0000-0000-{rng.randrange(16**12):012X}",
                table.name_column: f"{table.logical_name} {serial}",
                "createdon": f"20{rng.randrange(10, 26)}-0{rng.randrange(1, 10)}-01T00:00:00Z",
            }
            for column in table.address_columns:
                row[column] = spelled(rng.choice(pool)) if rng.random() < 0.7 else None
            if table.owned:
                row["_ownerid_value"] = rng.choice([ME, ME.upper(), OTHER, None])
            if table.disabled_column:
                row[table.disabled_column] = rng.random() < 0.3
            rows.setdefault(table.entity_set, []).append(row)
    return rows


def _expected(rows: dict[str, list[dict[str, Any]]], address: str, skip: set[str]) -> PartyCandidate | None:
    """The answer by the rules, straight from the rows (no queries): the oracle of the tests below."""
    key = address.strip().lower()
    found = []
    for table in PARTY_TABLES:
        if table.entity_set in skip:
            continue
        for row in rows.get(table.entity_set, []):
            if any(str(row.get(c) or "").strip().lower() == key for c in table.address_columns):
                owner = row.get("_ownerid_value")
                found.append(
                    PartyCandidate(
                        table.logical_name,
                        str(row[table.primary_key]).lower(),
                        str(row[table.name_column]),
                        owner.lower() if owner else None,
                        row["createdon"],
                        bool(row.get(table.disabled_column)) if table.disabled_column else False,
                    )
                )
    return choose(found, ME)


@pytest.mark.parametrize("seed", range(40))
def test_prefetch_answers_as_one_by_one_in_a_query_per_table(seed: int) -> None:
    rng = random.Random(seed)
    pool = [f"user{n}@example{n % 3}.com" for n in range(12)]
    rows = _population(rng, pool)
    missing = ["queues"] if seed % 3 == 0 else []
    refusing = ["queues"] if seed % 3 == 1 else []
    asked = [rng.choice([*pool, "nobody@nowhere.org", "Nobody@Nowhere.org "]) for _ in range(40)]
    asked = [rng.choice([a, a.upper(), f"  {a}"]) for a in asked]

    one_by_one = PartyResolver(FilterCrm(rows, missing=missing, refusing=refusing), ME)  # type: ignore[arg-type]
    crm = FilterCrm(rows, missing=missing, refusing=refusing)
    paged = PartyResolver(crm, ME)  # type: ignore[arg-type]
    paged.prefetch([*asked, "", "  "])
    prefetched = len(crm.asked)
    skip = set(missing) | set(refusing)
    for address in asked:
        expected = _expected(rows, address, skip)
        assert one_by_one.lookup(address) == expected, address
        assert paged.lookup(address) == expected, address
        assert paged.resolve(address, "N") == one_by_one.resolve(address, "N")
    assert len(crm.asked) == prefetched == len(PARTY_TABLES)  # every table once, not per address
    assert [s for s, _ in crm.asked] == [t.entity_set for t in PARTY_TABLES]
    distinct = len({a.strip().lower() for a in asked})
    assert one_by_one.queries == len(PARTY_TABLES) + (distinct - 1) * (len(PARTY_TABLES) - len(skip))
    paged.prefetch(asked)  # all cached, the unresolved too: nothing asked
    assert len(crm.asked) == prefetched


def test_an_address_in_several_columns_and_rows_of_other_chunks_counts_once() -> None:
    """A contact carrying two wanted addresses answers both; with the addresses split over chunks it is
    returned by each chunk's query, and still counts once per address."""
    rows = {
        "contacts": [
            {"contactid": "C1", "fullname": "One", "emailaddress1": "a@x.de", "emailaddress2": "B@x.de",
             "emailaddress3": "a@X.de", "_ownerid_value": OTHER, "createdon": "2020-01-01T00:00:00Z"},
            {"contactid": "C2", "fullname": "Two", "emailaddress3": "b@x.de", "_ownerid_value": ME,
             "createdon": "2024-01-01T00:00:00Z"},
        ]
    }  # fmt: skip
    for budget in (12_000, 1):  # one chunk; a chunk per address
        crm = FilterCrm(rows)
        resolver = PartyResolver(crm, ME, filter_budget=budget)  # type: ignore[arg-type]
        resolver.prefetch(["a@x.de", "b@x.de"])
        assert resolver.candidates("a@x.de") == [
            PartyCandidate("contact", "c1", "One", OTHER, "2020-01-01T00:00:00Z")
        ]
        a, b = resolver.lookup("A@X.DE"), resolver.lookup("b@x.de")
        assert a is not None and a.id == "c1"
        assert b is not None and b.id == "c2"  # mine first
        per_table = 1 if budget > 1 else 2
        assert [s for s, _ in crm.asked[: per_table * len(PARTY_TABLES)]] == [
            t.entity_set for t in PARTY_TABLES for _ in range(per_table)
        ]


def test_long_pages_are_asked_in_chunks_that_keep_the_url_short() -> None:
    pool = [f"someone.with.a.long.name{n}@a-rather-long-domain-name.example" for n in range(300)]
    rows = {"contacts": [{"contactid": f"C{n}", "fullname": "", "emailaddress2": a.upper(), "createdon": ""}
                         for n, a in enumerate(pool) if n % 7 == 0]}  # fmt: skip
    crm = FilterCrm(rows, missing=["queues"])
    resolver = PartyResolver(crm, ME)  # type: ignore[arg-type]
    resolver.prefetch(pool)
    for entity_set, flt in crm.asked:
        assert len(quote(flt, safe="")) <= FILTER_BUDGET, entity_set
    per_table = Counter(s for s, _ in crm.asked)
    assert per_table["queues"] == 1  # missing: asked once, not per chunk
    assert per_table["contacts"] > per_table["systemusers"] > 1  # three address columns: more chunks
    assert sum(per_table.values()) < 30  # 300 addresses, 5 tables: not 1,500
    assert sum(per_table.values()) == resolver.queries
    answers = {a: resolver.lookup(a) for a in pool}
    assert len(crm.asked) == resolver.queries  # all from the cache
    assert {a for a, found in answers.items() if found} == {a for n, a in enumerate(pool) if n % 7 == 0}


def test_a_failed_prefetch_caches_nothing_and_the_address_is_asked_again() -> None:
    rows = {"leads": [{"leadid": "L1", "fullname": "Lead", "emailaddress1": "x@y.de", "createdon": "2020"}]}
    crm = FilterCrm(rows)
    resolver = PartyResolver(crm, ME)  # type: ignore[arg-type]
    crm.failing = ServerError("the service is down", status=503)
    with pytest.raises(ServerError):
        resolver.prefetch(["x@y.de", "z@y.de"])
    found = resolver.lookup("x@y.de")
    assert found is not None and found.id == "l1"
    assert resolver.lookup("z@y.de") is None


def test_appointment_attendees_use_the_same_rules_without_queues() -> None:
    """The appointments' attendee resolver is this resolver over the tables an attendee can be: a disabled user
    never wins, the user's own contact beats another user's systemuser, and queues are not asked."""
    from wizard.sync.records import AttendeeResolver

    crm = FakeCrm(
        {
            "systemusers": [
                {"systemuserid": "U1", "fullname": "Gone", "internalemailaddress": "gone@y.de", "isdisabled": True},
                {"systemuserid": "U2", "fullname": "Colleague", "internalemailaddress": "x@y.de"},
            ],
            "contacts": [
                {"contactid": "C-MINE", "fullname": "Mine", "emailaddress1": "x@y.de", "_ownerid_value": ME,
                 "createdon": "2024-01-01T00:00:00Z"},
            ],
            "queues": [{"queueid": "Q1", "name": "Sales", "emailaddress": "sales@y.de"}],
        },
    )  # fmt: skip
    resolve = AttendeeResolver(crm, ME)  # type: ignore[arg-type]
    assert resolve("X@y.de") == ("contact", "c-mine")
    assert resolve("gone@y.de") is None and resolve("sales@y.de") is None
    assert "queues" not in crm.asked
