"""The state DB: links, cursors, the create journal, conflicts, runs, upgrades, corruption and locking."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wizard.errors import Severity
from wizard.settings.enums import Kind
from wizard.sync.merge import FieldConflict
from wizard.sync.model import content_hash
from wizard.sync.state import SCHEMA_VERSION, UPGRADES, JournalEntry, RunCounts, StateDB, StateDBError


def clock() -> datetime:
    return datetime(2026, 11, 25, 16, 0, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[StateDB]:
    with StateDB.open(tmp_path / "state.sqlite3", clock=clock) as state:
        yield state


def test_fresh_db_has_the_current_schema_in_wal_mode(db: StateDB) -> None:
    assert db.schema_version == SCHEMA_VERSION and not db.rebuilt and db.moved_to is None
    conn = sqlite3.connect(db.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_links_round_trip_and_are_one_to_one(db: StateDB) -> None:
    base = {"subject": "s", "attendees": [{"address": "a@x"}], "@owned_by_me": True}
    made = db.link(Kind.CONTACTS, "c1", "m1", base, crm_etag="W/1", mailbox_change_key="ck1")
    got = db.link_by_crm(Kind.CONTACTS, "c1")
    assert got == made and got is not None and got.base == base and got.content_hash == content_hash(base)
    assert db.link_by_mailbox(Kind.CONTACTS, "m1") == made
    assert db.links(Kind.CONTACTS) == {"c1": made} and db.links(Kind.TASKS) == {}
    with pytest.raises(StateDBError):
        db.link(Kind.CONTACTS, "c1", "m2", None)
    with pytest.raises(StateDBError):
        db.link(Kind.CONTACTS, "c2", "m1", None)
    db.link(Kind.TASKS, "c1", "m1", None)  # other kinds are independent
    assert db.count_links(Kind.CONTACTS) == 1 and db.link_by_crm(Kind.TASKS, "c1").base is None  # type: ignore[union-attr]


def test_update_base_and_forget(db: StateDB) -> None:
    db.link(Kind.CONTACTS, "c1", "m1", {"a": 1}, crm_etag="W/1")
    db.update_base(Kind.CONTACTS, "c1", {"a": 2}, mailbox_change_key="ck2")
    link = db.link_by_crm(Kind.CONTACTS, "c1")
    assert (
        link is not None
        and link.base == {"a": 2}
        and link.crm_etag == "W/1"
        and link.mailbox_change_key == "ck2"
    )
    with pytest.raises(StateDBError):
        db.update_base(Kind.CONTACTS, "nope", {})
    assert db.forget(Kind.CONTACTS, mailbox_id="m1") and not db.forget(Kind.CONTACTS, crm_id="c1")
    assert db.links(Kind.CONTACTS) == {}


def test_transactions_roll_back_as_a_whole(db: StateDB) -> None:
    with pytest.raises(RuntimeError), db.transaction():
        db.link(Kind.CONTACTS, "c1", "m1", {})
        db.set_cursor(Kind.CONTACTS, "crm", "token")
        raise RuntimeError("boom")
    assert db.links(Kind.CONTACTS) == {} and db.cursor(Kind.CONTACTS, "crm") is None


def test_a_batch_is_one_commit_seen_by_others_only_at_its_end(
    db: StateDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commits: list[int] = []
    before = StateDB._before_commit

    def counting(self: StateDB) -> None:
        commits.append(1)
        before(self)

    monkeypatch.setattr(StateDB, "_before_commit", counting)
    entries = [db.journal_create(Kind.CONTACTS, "mailbox", f"c{n}", "h") for n in range(3)]
    commits.clear()
    with StateDB.open(tmp_path / "state.sqlite3") as other, db.batch():
        for n, entry in enumerate(entries):
            db.link(Kind.CONTACTS, f"c{n}", f"m{n}", {"n": n})
            db.journal_done(entry.id, f"m{n}")
        assert other.count_links(Kind.CONTACTS) == 0  # not committed yet
    assert len(commits) == 1
    assert db.count_links(Kind.CONTACTS) == 3 and db.pending_creates() == []


def test_an_error_in_a_batch_keeps_the_items_before_it(db: StateDB) -> None:
    with pytest.raises(StateDBError, match="already linked"), db.batch():
        db.link(Kind.CONTACTS, "c1", "m1", {})
        db.link(Kind.CONTACTS, "c2", "m2", {})
        db.link(Kind.CONTACTS, "c1", "m9", {})  # refused: c1 is linked
        db.link(Kind.CONTACTS, "c3", "m3", {})  # never reached
    assert set(db.links(Kind.CONTACTS)) == {"c1", "c2"}
    with pytest.raises(KeyboardInterrupt), db.batch():  # a stopped run keeps what it finished
        db.link(Kind.CONTACTS, "c4", "m4", {})
        raise KeyboardInterrupt
    assert set(db.links(Kind.CONTACTS)) == {"c1", "c2", "c4"}


def test_a_storage_error_rolls_the_batch_back(db: StateDB) -> None:
    with pytest.raises(StateDBError), db.batch():
        db.link(Kind.CONTACTS, "c1", "m1", {})
        raise sqlite3.OperationalError("disk I/O error")
    assert db.links(Kind.CONTACTS) == {}


def test_a_batch_inside_a_transaction_joins_it(db: StateDB) -> None:
    with pytest.raises(RuntimeError), db.transaction():
        with db.batch():
            db.link(Kind.CONTACTS, "c1", "m1", {})
        raise RuntimeError("boom")
    assert db.links(Kind.CONTACTS) == {}


def test_cursors(db: StateDB) -> None:
    assert db.cursor(Kind.TASKS, "mailbox") is None
    db.set_cursor(Kind.TASKS, "mailbox", "state-1")
    db.set_cursor(Kind.TASKS, "mailbox", "state-2")
    db.set_cursor(Kind.TASKS, "crm", "delta")
    assert db.cursor(Kind.TASKS, "mailbox") == "state-2" and db.cursor(Kind.TASKS, "crm") == "delta"
    db.set_cursor(Kind.TASKS, "mailbox", None)
    assert db.cursor(Kind.TASKS, "mailbox") is None


def test_journal_survives_a_crash_and_recovery_links_what_was_created(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with StateDB.open(path, clock=clock) as db:
        made = db.journal_create(Kind.CONTACTS, "mailbox", "c1", "h1")  # created remotely, then crash
        db.journal_create(Kind.CONTACTS, "mailbox", "c2", "h2")  # crash before the create was sent
        db.journal_create(Kind.TASKS, "crm", "m3", "h3", target_id="guid-3")  # client-chosen CRM id
        done = db.journal_create(Kind.TASKS, "mailbox", "c4", "h4")
        db.journal_done(done.id, "m4")
    remote_mailbox = {"c1": "m1"}  # crmid -> item id, as a search by the crmid property finds it
    remote_crm = {"guid-3"}
    with StateDB.open(path) as db:
        assert [e.source_id for e in db.pending_creates()] == ["c1", "c2", "m3"]
        assert db.pending_creates(Kind.TASKS)[0] == JournalEntry(
            3, Kind.TASKS, "crm", "m3", "h3", made.created_at, "pending", "guid-3"
        )

        def find(entry: JournalEntry) -> str | None:
            if entry.side == "mailbox":
                return remote_mailbox.get(entry.source_id)
            return entry.target_id if entry.target_id in remote_crm else None

        out = db.recover_creates(find)
        assert [(r.entry.source_id, r.target_id, r.linked) for r in out] == [
            ("c1", "m1", True),
            ("c2", None, False),
            ("m3", "guid-3", True),
        ]
        assert db.pending_creates() == []
        assert db.link_by_crm(Kind.CONTACTS, "c1").mailbox_id == "m1"  # type: ignore[union-attr]
        assert db.link_by_crm(Kind.CONTACTS, "c1").base is None  # type: ignore[union-attr]
        assert db.link_by_mailbox(Kind.TASKS, "m3").crm_id == "guid-3"  # type: ignore[union-attr]
        assert db.recover_creates(find) == []  # idempotent


def test_recovery_failure_keeps_the_entry_pending(db: StateDB) -> None:
    db.journal_create(Kind.CONTACTS, "mailbox", "c1", "h")

    def broken(entry: JournalEntry) -> str | None:
        raise ConnectionError("offline")

    with pytest.raises(ConnectionError):
        db.recover_creates(broken)
    assert len(db.pending_creates()) == 1


def test_recovery_does_not_link_twice(db: StateDB) -> None:
    db.link(Kind.CONTACTS, "c1", "m1", {})
    db.journal_create(Kind.CONTACTS, "mailbox", "c1", "h")
    (r,) = db.recover_creates(lambda e: "m9")
    assert not r.linked and db.link_by_crm(Kind.CONTACTS, "c1").mailbox_id == "m1"  # type: ignore[union-attr]


def test_conflicts_keep_the_losing_value_and_dedupe_unresolved_ones(db: StateDB) -> None:
    won = FieldConflict("subject", "a", "crm", "mbx", "crm")
    ask = FieldConflict("attendees", [], [{"address": "a@x"}], None, None)
    first = db.record_conflict(Kind.CONTACTS, "c1", "m1", won, "crm_wins")
    assert db.record_conflict(Kind.CONTACTS, "c1", "m1", won, "crm_wins") != first  # resolved: history
    asked = db.record_conflict(Kind.APPOINTMENTS, "c1", "m1", ask, "ask")
    assert db.record_conflict(Kind.APPOINTMENTS, "c1", "m1", ask, "ask") == asked  # no pile-up
    rows = db.conflicts()
    assert len(rows) == 3 and rows[0].mailbox_value == "mbx" and rows[0].resolved and rows[0].resolved_at
    (open_one,) = db.conflicts(unresolved_only=True)
    assert (
        open_one.crm_value == [{"address": "a@x"}]
        and open_one.mailbox_value is None
        and open_one.winner is None
    )
    db.resolve_conflict(open_one.id, "mailbox")
    assert db.conflicts(Kind.APPOINTMENTS)[0].winner == "mailbox" and not db.conflicts(unresolved_only=True)


def test_an_open_conflict_closes_when_it_is_no_conflict_any_more(db: StateDB) -> None:
    """An "ask" conflict whose sides were made equal (the base no longer lists it as undecided), whose values
    were superseded by a newer conflict on the same field, or whose link is gone is no longer offered: its
    buttons would write out-of-date values."""
    db.link(Kind.CONTACTS, "c1", "m1", {"department": "d"})
    db.link(Kind.CONTACTS, "c2", "m2", {"department": "d"})
    first = db.record_conflict(
        Kind.CONTACTS, "c1", "m1", FieldConflict("department", "d", "A", "B", None), "ask"
    )
    other = db.record_conflict(
        Kind.CONTACTS, "c1", "m1", FieldConflict("jobtitle", "j", "X", "Y", None), "ask"
    )
    db.update_base(
        Kind.CONTACTS,
        "c1",
        {"department": "d", "@unresolved": {"department": ["A", "B"], "jobtitle": ["X", "Y"]}},
    )
    assert [c.id for c in db.conflicts(unresolved_only=True)] == [first, other]
    newer = db.record_conflict(
        Kind.CONTACTS, "c1", "m1", FieldConflict("department", "d", "C", "B", None), "ask"
    )
    assert [c.id for c in db.conflicts(unresolved_only=True)] == [other, newer]  # the old values: superseded
    db.update_base(Kind.CONTACTS, "c1", {"department": "B", "@unresolved": {"jobtitle": ["X", "Y"]}})
    assert [c.id for c in db.conflicts(unresolved_only=True)] == [other]  # made equal outside d365sync
    settled = next(c for c in db.conflicts() if c.id == newer)
    assert settled.resolved and settled.winner is None and settled.resolved_at
    gone = db.record_conflict(
        Kind.CONTACTS, "c2", "m2", FieldConflict("department", "d", "A", "B", None), "ask"
    )
    db.forget(Kind.CONTACTS, mailbox_id="m2")
    assert gone not in [c.id for c in db.conflicts(unresolved_only=True)]


def test_runs_counts_and_errors(db: StateDB) -> None:
    run = db.start_run()
    db.add_counts(run, Kind.CONTACTS, "to_mailbox", RunCounts(created=2, updated=1))
    db.add_counts(run, Kind.CONTACTS, "to_mailbox", RunCounts(created=1, conflicts=1))
    db.add_counts(run, Kind.TASKS, "to_crm", RunCounts(deleted=3))
    db.record_error(run, Kind.TASKS, Severity.ITEM, "could not update task", "c9")
    db.finish_run(run, "partial")
    (rec,) = db.runs()
    assert rec.status == "partial" and rec.finished is not None
    assert rec.counts[("contacts", "to_mailbox")] == RunCounts(created=3, updated=1, conflicts=1)
    assert rec.counts[("tasks", "to_crm")].deleted == 3
    (err,) = db.errors(run)
    assert err.severity is Severity.ITEM and err.item == "c9" and err.kind == "tasks"
    total = RunCounts()
    for c in rec.counts.values():
        total.add(c)
    assert total == RunCounts(created=3, updated=1, deleted=3, conflicts=1)


def test_corrupted_file_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"this is not a database at all" * 100)
    with StateDB.open(path, clock=clock) as db:
        assert db.rebuilt and db.moved_to is not None and db.moved_to.exists()
        assert db.moved_to.name.startswith("state.sqlite3.corrupt-20261125T160000")
        assert db.schema_version == SCHEMA_VERSION and db.links(Kind.CONTACTS) == {}
    with StateDB.open(path) as again:
        assert not again.rebuilt


def test_damaged_pages_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    with StateDB.open(path) as db:
        for i in range(300):
            db.link(Kind.CONTACTS, f"c{i}", f"m{i}", {"x": "y" * 200})
        db._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray(path.read_bytes())
    for offset in range(4096 * 2, min(len(raw), 4096 * 6)):
        raw[offset] = 0xA5
    path.write_bytes(bytes(raw))
    with StateDB.open(path) as db:
        assert db.rebuilt


def test_a_conversion_keeps_its_row_and_is_left_to_its_owner(db: StateDB) -> None:
    """A conversion entry carries the row to make again; generic recovery leaves it alone (the engine makes
    the row, it is never "not made")."""
    row = {"entity_set": "recurringappointmentmasters", "row": {"subject": "Review", "activityid": "a1"}}
    entry = db.journal_conversion(Kind.APPOINTMENTS, "a1", "m1", row)
    db.journal_create(Kind.APPOINTMENTS, "crm", "m2", "h", target_id="a2")
    (pending_conversion, plain) = db.pending_creates(Kind.APPOINTMENTS)
    assert (
        pending_conversion == entry and pending_conversion.is_conversion and pending_conversion.payload == row
    )
    assert (pending_conversion.target_id, pending_conversion.source_id) == ("a1", "m1")
    assert not plain.is_conversion and plain.payload is None
    recovered = db.recover_creates(lambda e: None)
    assert [r.entry.target_id for r in recovered] == ["a2"]
    assert db.pending_creates() == [pending_conversion]
    db.journal_done(entry.id, "a1")
    assert db.pending_creates() == []


def test_upgrade_from_v2_keeps_pending_creates(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    conn = sqlite3.connect(path)
    UPGRADES[1](conn)
    UPGRADES[2](conn)
    conn.execute("PRAGMA user_version = 2")
    conn.execute(
        "INSERT INTO journal (kind, side, source_id, payload_hash, target_id, created_at, state)"
        " VALUES ('contacts', 'mailbox', 'c1', 'h', NULL, 't', 'pending')"
    )
    conn.commit()
    conn.close()
    with StateDB.open(path) as db:
        (entry,) = db.pending_creates()
        assert (entry.source_id, entry.payload, entry.is_conversion) == ("c1", None, False)
    assert (tmp_path / "state.sqlite3.v2.bak").exists()


def test_upgrade_from_v3_keeps_conflicts_and_names_new_ones(tmp_path: Path) -> None:
    """Schema 4 stores the record's name with a conflict; conflicts logged before keep theirs unnamed."""
    path = tmp_path / "state.sqlite3"
    conn = sqlite3.connect(path)
    for step in (1, 2, 3):
        UPGRADES[step](conn)
    conn.execute("PRAGMA user_version = 3")
    conn.execute(
        "INSERT INTO conflicts (kind, crm_id, mailbox_id, field, crm_value, mailbox_value, base_value, policy,"
        " reason, winner, resolved, created_at) VALUES ('contacts', 'c1', 'm1', 'department', '\"Vertrieb\"',"
        " '\"Sales\"', 'null', 'ask', 'both_changed', NULL, 0, 't')"
    )
    conn.commit()
    conn.close()
    with StateDB.open(path) as db:
        assert db.schema_version == SCHEMA_VERSION >= 4
        (old,) = db.conflicts()
        assert (old.field, old.crm_value, old.mailbox_value, old.item) == (
            "department",
            "Vertrieb",
            "Sales",
            "",
        )
        named = FieldConflict("jobtitle", None, "CEO", "Boss", None, item="Jörg Bär")
        db.record_conflict(Kind.CONTACTS, "c1", "m1", named, "ask")
        assert [c.item for c in db.conflicts()] == ["", "Jörg Bär"]
    assert (tmp_path / "state.sqlite3.v3.bak").exists()


def test_upgrade_ladder_keeps_a_backup(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    conn = sqlite3.connect(path)
    UPGRADES[1](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO links VALUES ('contacts', 'c1', 'm1', NULL, NULL, NULL, 'null', 't', 't')")
    conn.commit()
    conn.close()
    with StateDB.open(path) as db:
        assert db.schema_version == SCHEMA_VERSION
        assert db.link_by_crm(Kind.CONTACTS, "c1") is not None  # data kept
        db.start_run()  # v2 tables exist
    backup = tmp_path / "state.sqlite3.v1.bak"
    old = sqlite3.connect(backup)
    assert old.execute("PRAGMA user_version").fetchone()[0] == 1
    old.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StateDBError) as info:
        StateDB.open(path)
    assert info.value.severity is Severity.FATAL and "newer" in info.value.user_text


def test_a_second_writer_gets_a_retriable_error_not_a_retry_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wizard.sync.state as state_module

    monkeypatch.setattr(state_module, "BUSY_TIMEOUT_MS", 50)
    path = tmp_path / "state.sqlite3"
    with StateDB.open(path) as first:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        try:
            with StateDB.open(path) as second, pytest.raises(StateDBError) as info:
                second.set_cursor(Kind.CONTACTS, "crm", "x")
            assert info.value.retriable
        finally:
            other.execute("ROLLBACK")
            other.close()
        first.set_cursor(Kind.CONTACTS, "crm", "y")
        assert first.cursor(Kind.CONTACTS, "crm") == "y"


def test_two_threads_creating_the_db_at_once(tmp_path: Path) -> None:
    import threading

    from wizard.sync.state import SCHEMA_VERSION, StateDB

    path = tmp_path / "race.sqlite3"
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_it() -> None:
        try:
            barrier.wait()
            with StateDB.open(path) as db:
                assert db.schema_version == SCHEMA_VERSION
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
