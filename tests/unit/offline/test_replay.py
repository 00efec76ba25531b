"""Go online: the queue replayed in $batch change sets, in order, merged field by field, never lost."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.offline.fake_dataverse import SETS, FakeDataverse
from wizard.offline.replay import go_online, net_changes
from wizard.offline.store import OfflineStore
from wizard.settings.enums import ConflictPolicy

ANNA = "11111111-1111-1111-1111-111111111111"
FIELDS = ("jobtitle", "telephone1", "description")


def _open(tmp_path: Path, name: str = "store.sqlite3") -> OfflineStore:
    return OfflineStore.open(tmp_path / name)


def _download(server: FakeDataverse, store: OfflineStore) -> None:
    """What going offline would have stored: every row of the fake service."""
    for entity_set, rows in server.rows.items():
        store.put_server_rows(SETS[entity_set].logical_name, list(rows.values()))


@pytest.fixture
def server() -> FakeDataverse:
    fake = FakeDataverse()
    fake.put("contacts", ANNA, lastname="Bär", jobtitle="Buyer", telephone1="1", description="d")
    return fake


def test_1000_queued_edits_replay_in_one_batch(tmp_path: Path) -> None:
    server = FakeDataverse()
    ids = [f"00000000-0000-0000-0000-{n:012d}" for n in range(1000)]
    for row_id in ids:
        server.put("contacts", row_id, lastname=f"C{row_id[-4:]}")
    with _open(tmp_path) as store:
        _download(server, store)
        for row_id in ids:
            store.update("contact", row_id, {"jobtitle": "Buyer"})
        result = go_online(server, store)
        assert result.updated == 1000 and result.failed == [] and store.queued_count() == 0
    assert server.batches <= 2 and result.batches == server.batches
    assert all(row["jobtitle"] == "Buyer" for row in server.rows["contacts"].values())


def test_a_create_goes_after_the_offline_create_it_refers_to(tmp_path: Path) -> None:
    server = FakeDataverse()
    with _open(tmp_path) as store:
        contact = store.create("contact", {"lastname": "Neu"})
        account = store.create("account", {"name": "Northwind"})
        store.update(
            "contact",
            contact,
            {
                "_parentcustomerid_value": account,
                "_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "account",
            },
        )
        order = [(c.table, c.op) for c in net_changes(store.queue(), store)]
        assert order == [("account", "create"), ("contact", "create")]
        result = go_online(server, store)
    assert result.created == 2 and result.failed == []
    assert server.rows["contacts"][contact]["_parentcustomerid_value"] == account


def test_created_then_deleted_offline_sends_nothing(tmp_path: Path) -> None:
    server = FakeDataverse()
    with _open(tmp_path) as store:
        row_id = store.create("account", {"name": "Gone"})
        store.delete("account", row_id)
        result = go_online(server, store)
        assert store.queued_count() == 0 and store.row("account", row_id) is None
    assert server.batches == 0 and result.sent == 0


def test_a_replay_whose_answer_was_lost_is_repeated_without_duplicates(tmp_path: Path) -> None:
    server = FakeDataverse()
    with _open(tmp_path) as store:
        row_id = store.create("account", {"name": "Once"})
        server.fail_after_apply = True
        with pytest.raises(ConnectionError):
            go_online(server, store)
        assert store.queued_count() == 1  # nothing left the queue: the service never confirmed it
        result = go_online(server, store)
        assert result.created == 1 and store.queued_count() == 0
    assert list(server.rows["accounts"]) == [row_id]


def test_a_server_change_to_another_field_merges(server: FakeDataverse, tmp_path: Path) -> None:
    with _open(tmp_path) as store:
        _download(server, store)
        store.update("contact", ANNA, {"jobtitle": "CEO"})
        server.edit("contacts", ANNA, telephone1="2")
        result = go_online(server, store)
        assert (result.merged, result.updated, result.conflicts) == (1, 1, 0)
        assert store.conflicts() == []
    assert (server.rows["contacts"][ANNA]["jobtitle"], server.rows["contacts"][ANNA]["telephone1"]) == (
        "CEO",
        "2",
    )


@pytest.mark.parametrize(
    ("policy", "expected", "winner"),
    [
        (ConflictPolicy.CRM_WINS, "Server", "server"),
        (ConflictPolicy.MAILBOX_WINS, "Mine", "local"),
        (ConflictPolicy.ASK, "Server", None),
    ],
)
def test_a_field_changed_on_both_sides_follows_the_policy(
    server: FakeDataverse, tmp_path: Path, policy: ConflictPolicy, expected: str, winner: str | None
) -> None:
    with _open(tmp_path) as store:
        _download(server, store)
        store.update("contact", ANNA, {"jobtitle": "Mine"})
        server.edit("contacts", ANNA, jobtitle="Server")
        go_online(server, store, policy=policy)
        (conflict,) = store.conflicts()
        assert (conflict.field, conflict.local_value, conflict.server_value) == ("jobtitle", "Mine", "Server")
        assert conflict.winner == winner and conflict.resolved == (winner is not None)
        held = store.queue(status="held")
        assert [c.fields for c in held] == ([{"jobtitle": "Mine"}] if winner is None else [])
    assert server.rows["contacts"][ANNA]["jobtitle"] == expected


def test_deleted_on_the_server_but_edited_offline_asks(server: FakeDataverse, tmp_path: Path) -> None:
    with _open(tmp_path) as store:
        _download(server, store)
        store.update("contact", ANNA, {"jobtitle": "CEO"})
        del server.rows["contacts"][ANNA]
        result = go_online(server, store)
        (conflict,) = store.conflicts(unresolved_only=True)
        assert (conflict.field, conflict.reason, result.held) == ("*", "deleted_on_server", 1)
        assert [c.status for c in store.queue()] == ["held"]


def test_edited_on_the_server_but_deleted_offline_asks(server: FakeDataverse, tmp_path: Path) -> None:
    with _open(tmp_path) as store:
        _download(server, store)
        store.delete("contact", ANNA)
        server.edit("contacts", ANNA, jobtitle="Changed")
        go_online(server, store)
        (conflict,) = store.conflicts(unresolved_only=True)
        assert conflict.reason == "edited_on_server"
    assert ANNA in server.rows["contacts"]


def test_a_duplicate_becomes_an_item_for_the_user(server: FakeDataverse, tmp_path: Path) -> None:
    server.edit("contacts", ANNA, emailaddress1="anna@example.org")
    with _open(tmp_path) as store:
        store.create("contact", {"lastname": "Twin", "emailaddress1": "anna@example.org"})
        result = go_online(server, store, duplicate_detection=True)
        assert result.held == 1 and result.failed == []
        (conflict,) = store.conflicts(unresolved_only=True)
        assert conflict.reason == "duplicate"
        without = go_online(server, store, duplicate_detection=False)
        assert without.sent == 0  # held until the user decides
    assert len(server.rows["contacts"]) == 1


# -- the property: nothing changed offline is ever dropped silently --------------------------------------------

_edit = st.tuples(
    st.sampled_from(["server", "offline"]), st.sampled_from(FIELDS), st.sampled_from(["a", "b", "c"])
)


@settings(max_examples=60, deadline=None)
@given(edits=st.lists(_edit, max_size=8), policy=st.sampled_from(list(ConflictPolicy)))
def test_every_offline_field_ends_in_dynamics_or_in_a_conflict(
    edits: list[tuple[str, str, str]], policy: ConflictPolicy
) -> None:
    server = FakeDataverse()
    server.put("contacts", ANNA, lastname="Bär", jobtitle="j0", telephone1="t0", description="d0")
    with tempfile.TemporaryDirectory() as folder, _open(Path(folder)) as store:  # a fresh store per example
        _download(server, store)
        offline: dict[str, str] = {}
        for side, name, value in edits:
            if side == "server":
                server.edit("contacts", ANNA, **{name: value})
            else:
                store.update("contact", ANNA, {name: value})
                offline[name] = value
        go_online(server, store, policy=policy)
        logged = {(c.field, c.local_value) for c in store.conflicts()}
        held = {name: value for c in store.queue(status="held") for name, value in c.fields.items()}
        for name, value in offline.items():
            on_server = server.rows["contacts"][ANNA][name] == value
            assert on_server or (name, value) in logged or held.get(name) == value, (name, value, edits)


def test_a_held_field_does_not_hide_the_fields_sent_with_it(server: FakeDataverse, tmp_path: Path) -> None:
    with _open(tmp_path) as store:
        _download(server, store)
        store.update("contact", ANNA, {"jobtitle": "Mine", "description": "only mine"})
        server.edit("contacts", ANNA, jobtitle="Server")
        result = go_online(server, store, policy=ConflictPolicy.ASK)
        assert (result.updated, result.held) == (1, 1)
        row = store.row("contact", ANNA)
        assert row is not None
        assert (row.local["jobtitle"], row.local["description"]) == ("Mine", "only mine")
        assert row.base is not None and row.base["description"] == "only mine"
        assert [c.fields for c in store.queue(status="held")] == [{"jobtitle": "Mine"}]
    assert server.rows["contacts"][ANNA]["description"] == "only mine"


class _SetAfterFirstBatch:
    def __init__(self, server: FakeDataverse) -> None:
        self.server = server

    def is_set(self) -> bool:
        return self.server.batches >= 1


def test_a_cancel_stops_between_batches_and_keeps_the_rest_queued(tmp_path: Path) -> None:
    server = FakeDataverse()
    ids = [f"00000000-0000-0000-0000-{n:012d}" for n in range(1500)]
    for row_id in ids:
        server.put("contacts", row_id, lastname="C")
    with _open(tmp_path) as store:
        _download(server, store)
        for row_id in ids:
            store.update("contact", row_id, {"jobtitle": "Buyer"})
        result = go_online(server, store, cancel=_SetAfterFirstBatch(server))
        assert (result.cancelled, result.updated, server.batches) == (True, 1000, 1)
        assert store.queued_count() == 500
        rest = go_online(server, store)
        assert (rest.cancelled, rest.updated, store.queued_count()) == (False, 500, 0)
    assert server.batches == 2
