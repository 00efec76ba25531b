"""The links as the planner reads them (issue 15, item 4): ids looked up when asked, a merge base read only for
a pair that something happened to; the state DB's :class:`StoredLinks` answers from the DB in pages."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wizard.settings.enums import Kind
from wizard.sync.cursors import CrmCursor
from wizard.sync.model import Direction, Link
from wizard.sync.planner import (
    WAITING,
    CrmChanges,
    Links,
    MailboxChanges,
    Rules,
    Unlink,
    UpdateBase,
    UpdateMailbox,
    lookups,
    plan,
)
from wizard.sync.state import ID_PAGE, StateDB

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RULES = Rules({"subject": Direction.BOTH}, NOW)


class CountingLinks(Links):
    """Links in memory that note which merge bases the planner asked for."""

    def __init__(self, n: int) -> None:
        self.links = {f"c{i}": Link(Kind.CONTACTS, f"c{i}", f"m{i}", {"subject": f"s{i}"}) for i in range(n)}
        self.asked: list[str] = []

    def linked(self, crm_ids: Collection[str]) -> dict[str, str]:
        return {c: self.links[c].mailbox_id for c in crm_ids if c in self.links}

    def by_mailbox(self, mailbox_ids: Collection[str]) -> dict[str, str]:
        mine = {link.mailbox_id: c for c, link in self.links.items()}
        return {m: mine[m] for m in mailbox_ids if m in mine}

    def pairs(self) -> Iterator[tuple[str, str]]:
        return ((c, link.mailbox_id) for c, link in self.links.items())

    def bases(self, crm_ids: Collection[str]) -> dict[str, Link]:
        self.asked.extend(crm_ids)
        return {c: self.links[c] for c in crm_ids if c in self.links}

    def __len__(self) -> int:
        return len(self.links)


def test_a_quiet_plan_asks_for_no_merge_base() -> None:
    links = CountingLinks(50)
    assert plan(Kind.CONTACTS, links, CrmChanges(), MailboxChanges(), RULES).operations == ()
    assert links.asked == []
    lookups(links, CrmChanges(), MailboxChanges())
    assert links.asked == []


def test_a_plan_asks_for_the_bases_of_the_pairs_that_changed_only() -> None:
    links = CountingLinks(50)
    crm = CrmChanges(changed={"c7": {"subject": "new"}}, out_of_scope=frozenset({"c9"}))
    p = plan(Kind.CONTACTS, links, crm, MailboxChanges(), RULES)
    assert links.asked == ["c7"]  # c9 only left the scope: an Unlink whatever its base says
    assert [type(op) for op in p.operations] == [UpdateMailbox, UpdateBase, Unlink]
    assert p == plan(Kind.CONTACTS, dict(links.links), crm, MailboxChanges(), RULES)  # same decisions


def test_a_full_crm_read_unlinks_what_it_did_not_list_without_reading_bases() -> None:
    links = CountingLinks(3)
    crm = CrmChanges(changed={"c0": {"subject": "s0"}}, full_resync=True)
    p = plan(Kind.CONTACTS, links, crm, MailboxChanges(), RULES)
    assert links.asked == ["c0"]
    assert [(type(op), getattr(op, "crm_id", None)) for op in p.operations] == [
        (Unlink, "c1"),
        (Unlink, "c2"),
    ]
    assert p == plan(Kind.CONTACTS, dict(links.links), crm, MailboxChanges(), RULES)


# --------------------------------------------------------------------------------------- StoredLinks


@pytest.fixture
def db(tmp_path: Path) -> Iterator[StateDB]:
    with StateDB.open(tmp_path / "state.sqlite3") as state:
        yield state


def test_stored_links_answer_ids_from_the_db_and_count_the_bases_read(db: StateDB) -> None:
    count = ID_PAGE + 20  # more than one page of ids
    with db.batch():
        for i in range(count):
            db.link(Kind.CONTACTS, f"c{i:04}", f"m{i:04}", {"subject": f"s{i}"})
        db.link(Kind.TASKS, "t1", "mt1", {"subject": "task"})
    db.base_reads = 0
    table = db.link_table(Kind.CONTACTS)
    assert len(table) == count
    wanted = [f"c{i:04}" for i in range(0, count + 30, 3)]
    assert table.linked(wanted) == {c: "m" + c[1:] for c in wanted if int(c[1:]) < count}
    assert table.by_mailbox(["m0001", "mt1", "nope"]) == {"m0001": "c0001"}  # another kind's is not
    assert next(iter(table.pairs())) == ("c0000", "m0000") and len(list(table)) == count
    assert "c0002" in table and "t1" not in table
    assert db.base_reads == 0  # ids only, so far
    got = table.bases(["c0003", "c0600", "nope"])
    assert set(got) == {"c0003"} and got["c0003"].base == {"subject": "s3"}
    assert db.base_reads == 1
    assert table["c0004"].mailbox_id == "m0004" and db.base_reads == 2


def test_waiting_dates_and_series_are_found_without_reading_bases(db: StateDB) -> None:
    db.link(Kind.APPOINTMENTS, "a1", "m1", {"subject": "plain", "recurrence": None})
    db.link(Kind.APPOINTMENTS, "a2", "m2", {"subject": "weekly", "recurrence": {"pattern": "weekly"}})
    db.link(Kind.APPOINTMENTS, "a3", "m3", {"recurrence": {"pattern": "daily"}, WAITING: ["2026-12-01"]})
    db.link(Kind.APPOINTMENTS, "a4", "m4", {"description": f'"{WAITING}" and "recurrence": {{}}'})
    db.base_reads = 0
    assert db.series_links(Kind.APPOINTMENTS) == ["a2", "a3"]
    assert db.waiting_dates(Kind.APPOINTMENTS) == {"a3": ["2026-12-01"]}
    assert db.mailbox_change_key(Kind.APPOINTMENTS, "m1") is None
    assert db.base_reads == 0


def test_tombstones_worked_out_in_sqlite_equal_the_python_ones(
    db: StateDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot stays in SQLite (no N-sized dict per commit); the answer is the same as in Python."""
    db.link(Kind.CONTACTS, "C1", "m1", {"subject": "linked, upper case id"})
    db.link(Kind.TASKS, "t1", "mt1", {"subject": "linked"})
    contacts = CrmCursor(
        token="t", versions={"c1": "W/1", "c2": "W/2", "c3": "W/3", "c4": "W/4"}, retry=["C3"]
    )
    db.set_cursor(Kind.CONTACTS, "crm", contacts.dump())
    db.set_cursor(Kind.TASKS, "crm", json.dumps({"t1": "W/9", "t2": "W/8", "t3": 7}))  # the old format
    db.set_cursor(Kind.APPOINTMENTS, "crm", "not json")
    db.set_cursor(Kind.EMAIL, "crm", json.dumps({"outbox": {"a1": "<m@x>"}}))
    in_sql = db._tombstones_in_sql()  # this SQLite has its JSON functions
    assert db.tombstones() == in_sql
    assert in_sql == {"contacts": {"c2": "W/2", "c4": "W/4"}, "tasks": {"t2": "W/8"}}

    def no_json() -> dict[str, dict[str, str]]:
        raise sqlite3.OperationalError("no such function: json_each")

    monkeypatch.setattr(db, "_tombstones_in_sql", no_json)
    assert db.tombstones() == in_sql


def _tombstone_steps(tmp_path: Path, n: int) -> int:
    """SQLite VM steps (in thousands) for the tombstones of a kind with ``n`` links and ``n + 10`` snapshot rows."""
    with StateDB.open(tmp_path / f"steps{n}.sqlite3") as state:
        with state.batch():
            for i in range(n):
                state.link(Kind.CONTACTS, f"c{i:06}", f"m{i:06}", {"subject": "x"})
            versions = {f"c{i:06}": "W/1" for i in range(n + 10)}
            state.set_cursor(
                Kind.CONTACTS, "crm", CrmCursor(token="t", versions=versions, retry=["c000001"]).dump()
            )
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        state._db.set_progress_handler(count, 1000)
        assert len(state._tombstones_in_sql()["contacts"]) == 10
        state._db.set_progress_handler(None, 1000)
        return steps[0]


def test_tombstones_in_sqlite_cost_linear_steps(tmp_path: Path) -> None:
    """Each subquery is computed once per kind, not once per snapshot row (which was quadratic: minutes at 40k)."""
    small, large = _tombstone_steps(tmp_path, 1000), _tombstone_steps(tmp_path, 4000)
    assert large < 6 * small, (small, large)  # linear (x4, some log factor); quadratic would be x16
