"""SyncFolderItems / SyncFolderHierarchy states and bulk creation through exchangelib."""

from __future__ import annotations

import base64

import pytest
from exchangelib import Contact, Message
from exchangelib.errors import ErrorInvalidSyncStateData

from tests.contract.ews_sandbox.conftest import ANNA


def _sync(folder, state, **kwargs):
    changes = [(kind, item) for kind, item in folder.sync_items(sync_state=state, **kwargs)]
    return changes, folder.item_sync_state


def _contact(account, name: str) -> Contact:
    return Contact(account=account, folder=account.contacts, given_name=name, display_name=name)


def test_sync_items_reports_creates_updates_deletes_between_syncs(standin, anna, crm_properties) -> None:
    first, state = _sync(anna.contacts, None)
    assert first == []
    a, b, c = (_contact(anna, n) for n in "ABC")
    for contact in (a, b, c):
        contact.save()
    changes, state = _sync(anna.contacts, state, only_fields=["given_name", "crm_id"])
    assert [(kind, item.given_name) for kind, item in changes] == [
        ("create", "A"),
        ("create", "B"),
        ("create", "C"),
    ]

    a.given_name = "A2"
    a.crm_id = "crm-a"
    a.save(update_fields=["given_name", "crm_id"])
    b_id = b.id
    b.delete()
    changes, state = _sync(anna.contacts, state, only_fields=["given_name", "crm_id"])
    summary = [(kind, getattr(item, "given_name", None)) for kind, item in changes]
    assert summary == [("update", "A2"), ("delete", None)]
    assert changes[0][1].crm_id == "crm-a"
    assert changes[1][1].id == b_id

    standin.server.reset_counts()
    changes, _ = _sync(anna.contacts, state)
    assert changes == []
    assert standin.server.request_count == 1


def test_sync_items_read_flag_changes_and_paging(standin, anna) -> None:
    for n in range(5):
        Message(account=anna, folder=anna.inbox, subject=f"m{n}", body="x", is_read=False).save()
    standin.server.reset_counts()
    changes, state = _sync(anna.inbox, None, max_changes_returned=2)
    assert [item.subject for _, item in changes] == ["m0", "m1", "m2", "m3", "m4"]
    assert standin.server.request_count == 3  # 2 + 2 + 1, IncludesLastItemInRange drives the loop
    first = anna.inbox.get(subject="m0")
    first.is_read = True
    first.save(update_fields=["is_read"])
    changes, state = _sync(anna.inbox, state)
    assert changes == [("read_flag_change", (changes[0][1][0], True))]
    assert changes[0][1][0].id == first.id


def test_a_paged_first_round_lists_no_deletes_of_items_it_never_listed(standin, anna) -> None:
    """EXD SyncFolderItems operation: the first synchronization (no SyncState) "returns all the items" in the
    folder; a Delete is news only for an item the client was told of. Contacts made and deleted before a paged
    first round began (their sequence below the first page's) must not come back as Delete changes on a later
    page — found by ews-javascript-api's lifecycle (tests/thirdparty), which the product's client had not
    tripped over. After the round, a delete of an item the round listed is reported."""
    made = [_contact(anna, name) for name in ("Old1", "Keep1", "Old2", "Keep2", "Keep3")]
    for contact in made:
        contact.save()
    for contact in (made[0], made[2]):
        contact.delete()
    changes, state = _sync(anna.contacts, None, max_changes_returned=1)
    assert [(kind, getattr(item, "given_name", None)) for kind, item in changes] == [
        ("create", "Keep1"),
        ("create", "Keep2"),
        ("create", "Keep3"),
    ]
    keep2_id = made[3].id
    made[3].delete()
    changes, _state = _sync(anna.contacts, state)
    assert [(kind, item.id) for kind, item in changes] == [("delete", keep2_id)]


def test_moves_show_up_as_delete_and_create(anna) -> None:
    contact = _contact(anna, "M")
    contact.save()
    _, contacts_state = _sync(anna.contacts, None)
    _, trash_state = _sync(anna.trash, None)
    contact.move_to_trash()
    changes, _ = _sync(anna.contacts, contacts_state)
    assert [kind for kind, _ in changes] == ["delete"]
    changes, _ = _sync(anna.trash, trash_state)
    assert [(kind, item.given_name) for kind, item in changes] == [("create", "M")]


@pytest.mark.parametrize(
    "garbage",
    ["not base64 at all!", base64.b64encode(b"H4sIAAAAAAAAgarbage").decode(), "H4sIAA=="],
)
def test_garbage_sync_state_is_rejected(anna, garbage) -> None:
    with pytest.raises(ErrorInvalidSyncStateData):
        _sync(anna.contacts, garbage)


def test_sync_state_of_another_folder_is_rejected(anna) -> None:
    _, state = _sync(anna.contacts, None)
    with pytest.raises(ErrorInvalidSyncStateData):
        _sync(anna.calendar, state)


def test_sync_hierarchy_lists_the_distinguished_folders(anna) -> None:
    changes = list(anna.root.sync_hierarchy())
    names = {folder.name for kind, folder in changes if kind == "create"}
    assert {"Inbox", "Sent Items", "Deleted Items", "Drafts", "Contacts", "Calendar", "Tasks"} <= names
    assert "Deletions" not in names
    assert list(anna.root.sync_hierarchy(sync_state=anna.root.folder_sync_state)) == []


def test_bulk_create_thousand_contacts(standin, anna) -> None:
    contacts = [
        Contact(
            account=anna,
            folder=anna.contacts,
            given_name=f"Kontakt{n:04d}",
            surname="Bulk",
            display_name=f"Kontakt{n:04d} Bulk",
        )
        for n in range(1000)
    ]
    standin.server.reset_counts()
    results = anna.bulk_create(folder=anna.contacts, items=contacts)
    assert len(results) == 1000
    assert all(not isinstance(r, Exception) for r in results)
    assert standin.server.request_count <= 12  # pages of 100 (time is for bench/, not for tests)
    assert len(standin.store.list_items(ANNA, "contacts")) == 1000
    standin.server.reset_counts()
    assert anna.contacts.all().count() == 1000
    changes, _ = _sync(anna.contacts, None, max_changes_returned=512)
    assert len(changes) == 1000
