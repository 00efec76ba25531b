"""What tracking a page of received emails costs in Dataverse requests (party resolution in particular).

A page of messages is resolved together (``PartyResolver.prefetch``): one query per email-enabled table for
all the page's senders and recipients, so the requests of a run do not grow with the number of addresses.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

import pytest

from tests.integration.test_email_sync import ANNA, World, world  # noqa: F401 (the fixture)
from wizard.odata.errors import RequestTooLargeError
from wizard.sandbox.ews.demo import build_message
from wizard.sync.parties import PARTY_TABLES, PartyResolver

PARTY_SETS = {t.entity_set for t in PARTY_TABLES}


def _requests(w: World) -> tuple[Counter[str], list[tuple[str, str]]]:
    """Dataverse requests since ``reset_counts`` per entity set; queries of the party tables apart
    ("party <set>": a GET of the set, not of one row by key such as the user's own systemuser)."""
    counts: Counter[str] = Counter()
    log = list(w.env.server.request_log)
    for method, path in log:
        target = path.split("?", 1)[0].split("/api/data/v9.2/", 1)[-1]
        resource = target.split("(", 1)[0]
        query = method == "GET" and target in PARTY_SETS
        counts[f"party {resource}" if query else resource] += 1
    return counts, log


def _deliver(w: World, senders: int) -> list[tuple[str, str]]:
    """``senders`` messages, each from its own sender and with its own Cc: 2 x ``senders`` new addresses."""
    inbox = w.sandbox.ews.store.folder(ANNA, "inbox")
    assert inbox is not None
    people = []
    for n in range(senders):
        sender = (f"Sender {n}", f"sender{n}@partners{n % 4}.example")
        cc = (f"Colleague {n}", f"Colleague{n}@Partners{n % 4}.example")
        people += [sender, cc]
        element = build_message(
            subject=f"Anfrage {n}",
            body="Guten Tag",
            sender=sender,
            to=[("Anna Schmidt", ANNA)],
            cc=[cc],
            received=dt.datetime(2026, 11, 20, 9, n % 60, tzinfo=dt.UTC),
            message_id=f"<request-{n}@partners.example>",
        )
        w.sandbox.ews.store.insert(ANNA, inbox.id, element)
    return people


def test_a_page_of_many_addresses_costs_a_query_per_party_table(world: World) -> None:  # noqa: F811
    world.set_filter(0)  # track every received email
    result, _ = world.run()  # the demo mail first: what follows is one page of new messages
    assert result.status == "ok", result.message
    people = _deliver(world, 30)
    contacts = {world.new_contact("Kunde", str(n), people[n][1].upper()): people[n][1] for n in (0, 5, 11)}
    lead = world.crm.create("leads", {"lastname": "Interessent", "emailaddress1": people[20][1]})

    world.env.server.reset_counts()
    result, _ = world.run()
    assert result.status == "ok", result.message
    assert result.to_crm.created == 30
    counts, log = _requests(world)
    party = {k: v for k, v in counts.items() if k.startswith("party ")}
    # 61 addresses (30 senders, 30 Cc, Anna), 5 tables: one query each, not 305
    assert sum(party.values()) <= len(PARTY_TABLES), log
    assert sum(counts.values()) <= 20, counts  # independent of the number of addresses

    tracked = {r["subject"]: r for r in world.tracked().values() if r["subject"].startswith("Anfrage ")}
    assert len(tracked) == 30
    bound = {
        (p["addressused"].lower(), p.get("_partyid_value"))
        for r in tracked.values()
        for p in r["email_activity_parties"]
    }
    for contact_id, address in contacts.items():
        assert (address.lower(), contact_id) in bound
    assert (people[20][1].lower(), lead) in bound
    assert (people[1][1].lower(), None) in bound  # nobody has it: unresolved
    assert (ANNA, world.user_id) in bound


def test_a_page_whose_prefetch_is_refused_resolves_one_by_one(
    world: World,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A refused prefetch (here 413, an item-level error) costs requests, not answers: each address is then
    asked alone, as before the prefetch existed."""
    world.set_filter(0)
    people = _deliver(world, 3)
    contact = world.new_contact("Kunde", "Eins", people[0][1])

    def refused(self: PartyResolver, addresses: Iterable[str]) -> None:
        raise RequestTooLargeError("the URL is too long", status=413)

    monkeypatch.setattr(PartyResolver, "prefetch", refused)
    result, _ = world.run()
    assert result.status == "ok", result.message
    tracked = {r["subject"]: r for r in world.tracked().values()}
    parties = {
        (p["addressused"], p.get("_partyid_value")) for p in tracked["Anfrage 0"]["email_activity_parties"]
    }
    assert parties == {(people[0][1], contact), (people[1][1], None), (ANNA, world.user_id)}
