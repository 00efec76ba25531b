"""The user's decisions on records going online held back (wizard.offline.decide)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.unit.offline.fake_dataverse import FakeDataverse
from wizard.offline.decide import decide
from wizard.offline.replay import go_online
from wizard.offline.store import OfflineStore
from wizard.offline.tables import table
from wizard.settings.enums import ConflictPolicy

ANNA = "11111111-1111-1111-1111-111111111111"


@pytest.fixture
def server() -> FakeDataverse:
    fake = FakeDataverse()
    fake.put("contacts", ANNA, lastname="Bär", jobtitle="Buyer", emailaddress1="anna@example.org")
    return fake


@pytest.fixture
def store(tmp_path: Path, server: FakeDataverse) -> OfflineStore:
    opened = OfflineStore.open(tmp_path / "offline.sqlite3")
    opened.put_server_rows("contact", list(server.rows["contacts"].values()))
    return opened


def _fetch(server: FakeDataverse) -> Any:
    def fetch(table_name: str, row_id: str) -> Mapping[str, Any] | None:
        return server.rows[table(table_name).entity_set].get(row_id)

    return fetch


def _open_conflict(store: OfflineStore) -> int:
    (conflict,) = store.conflicts(unresolved_only=True)
    return conflict.id


@pytest.mark.parametrize(("use", "expected"), [("local", "Mine"), ("server", "Theirs")])
def test_a_field_left_to_the_user(
    server: FakeDataverse, store: OfflineStore, use: str, expected: str
) -> None:
    store.update("contact", ANNA, {"jobtitle": "Mine"})
    server.edit("contacts", ANNA, jobtitle="Theirs")
    go_online(server, store, policy=ConflictPolicy.ASK)
    decide(store, _open_conflict(store), use, _fetch(server))
    go_online(server, store, policy=ConflictPolicy.ASK)
    assert server.rows["contacts"][ANNA]["jobtitle"] == expected
    assert store.queued_count() == 0 and store.conflicts(unresolved_only=True) == []
    assert store.row("contact", ANNA).local["jobtitle"] == expected  # type: ignore[union-attr]


@pytest.mark.parametrize("use", ["local", "server"])
def test_deleted_on_the_server_edited_offline(server: FakeDataverse, store: OfflineStore, use: str) -> None:
    store.update("contact", ANNA, {"jobtitle": "CEO"})
    del server.rows["contacts"][ANNA]
    go_online(server, store)
    decide(store, _open_conflict(store), use, _fetch(server))
    go_online(server, store)
    if use == "local":
        assert server.rows["contacts"][ANNA]["jobtitle"] == "CEO"
    else:
        assert ANNA not in server.rows["contacts"] and store.row("contact", ANNA) is None
    assert store.queued_count() == 0


@pytest.mark.parametrize("use", ["local", "server"])
def test_edited_on_the_server_deleted_offline(server: FakeDataverse, store: OfflineStore, use: str) -> None:
    store.delete("contact", ANNA)
    server.edit("contacts", ANNA, jobtitle="Changed")
    go_online(server, store)
    decide(store, _open_conflict(store), use, _fetch(server))
    go_online(server, store)
    if use == "local":
        assert ANNA not in server.rows["contacts"]
    else:
        row = store.row("contact", ANNA)
        assert row is not None and not row.deleted and row.local["jobtitle"] == "Changed"
    assert store.queued_count() == 0


@pytest.mark.parametrize(("use", "count"), [("local", 2), ("server", 1)])
def test_a_duplicate(server: FakeDataverse, store: OfflineStore, use: str, count: int) -> None:
    store.create("contact", {"lastname": "Twin", "emailaddress1": "anna@example.org"})
    go_online(server, store, duplicate_detection=True)
    decide(store, _open_conflict(store), use, _fetch(server))
    go_online(server, store, duplicate_detection=True)
    assert len(server.rows["contacts"]) == count and store.queued_count() == 0


def test_only_open_conflicts_and_two_choices(server: FakeDataverse, store: OfflineStore) -> None:
    with pytest.raises(KeyError):
        decide(store, 99, "local", _fetch(server))
    with pytest.raises(ValueError):
        decide(store, 1, "keep", _fetch(server))
