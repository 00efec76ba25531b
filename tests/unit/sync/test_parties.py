"""Party resolution by address (reference B.13): table order, owned by me first, then oldest, no disabled users."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from wizard.odata.errors import NotFoundError
from wizard.sync.parties import PARTY_TABLES, PartyCandidate, PartyResolver, ResolvedParty, choose

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
