"""The contract every MailboxStore backend must meet (vdirsyncer's StorageTests idea).

A backend's test module subclasses :class:`MailboxContract` and overrides the ``harness`` fixture to
return a :class:`MailboxHarness`: a store plus ways to change the server behind the store's back
(deliver a message, delete one) and to see what was sent.

The suite is capability-aware: a test for something a backend does not declare in
``store.capabilities`` skips itself, while the matching "refused" test checks that the backend then
raises NotSupported instead of pretending. A backend that declares a capability must pass its tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Protocol

import pytest

from wizard.mailbox.base import (
    TRACKED_CATEGORY,
    AppointmentItem,
    Attachment,
    ChangeBatch,
    Conflict,
    ContactItem,
    FolderKind,
    Item,
    ItemNotFound,
    LinkState,
    MailboxStore,
    MailItem,
    NamedProps,
    NotSupported,
    OutgoingMessage,
    Recurrence,
    RecurrencePattern,
    TaskItem,
    TaskStatus,
)
from wizard.mailbox.message import build_mime, render


class MailboxHarness(Protocol):
    """What a backend's test module provides to the contract."""

    @property
    def store(self) -> MailboxStore: ...

    def deliver(self, raw: bytes) -> None:
        """Put a message into the Inbox as the server's mail delivery would."""

    def delete_on_server(self, message_id: str) -> None:
        """Remove the delivered message with this Message-ID behind the store's back."""

    def sent_messages(self) -> list[bytes]:
        """Raw messages the outgoing mail server accepted so far."""


@dataclass
class Drained:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    cursor: str = ""
    batches: list[ChangeBatch] = field(default_factory=list)

    @property
    def full_resync(self) -> bool:
        return any(b.full_resync for b in self.batches)


def drain(store: MailboxStore, kind: FolderKind, cursor: str | None, page_size: int = 100) -> Drained:
    out = Drained(cursor=cursor or "")
    for batch in store.changes(kind, cursor, page_size):
        assert batch.kind is kind
        out.created += batch.created
        out.updated += batch.updated
        out.deleted += batch.deleted
        out.cursor = batch.cursor
        out.batches.append(batch)
    assert out.batches, "changes() must yield at least one batch"
    assert not out.batches[-1].more
    assert all(b.more for b in out.batches[:-1])
    return out


def make_message(subject: str, *, body: str = "Hallo Welt", attachment: bool = False) -> tuple[bytes, str]:
    """A test message (raw bytes, Message-ID)."""
    message_id = f"<{uuid.uuid4().hex}@contract.test>"
    outgoing = OutgoingMessage(
        sender=("Jürgen Müller", "juergen@contoso.example"),
        to=[("Bernd Weber", "bernd@fabrikam.example")],
        subject=subject,
        body_text=body,
        body_html=f"<p>{body}</p>",
        message_id=message_id,
        date=datetime(2024, 6, 3, 9, 15, tzinfo=UTC),
        attachments=(
            [Attachment(name="Übersicht.pdf", content_type="application/pdf", content=b"%PDF-1.4 test")]
            if attachment
            else []
        ),
    )
    return render(build_mime(outgoing)), message_id


def ok_values(results: Sequence[object]) -> list[Item]:
    values: list[Item] = []
    for result in results:
        assert result.ok, f"unexpected error: {result.error!r}"  # type: ignore[attr-defined]
        values.append(result.value)  # type: ignore[attr-defined]
    return values


class MailboxContract:
    """Subclass this and override :meth:`harness`."""

    @pytest.fixture
    def harness(self) -> MailboxHarness:
        raise NotImplementedError("the backend's test class provides the harness fixture")

    # ---- basics ----------------------------------------------------------------------------------

    def test_is_a_mailbox_store(self, harness: MailboxHarness) -> None:
        store = harness.store
        assert isinstance(store, MailboxStore)
        assert store.capabilities.can_read(FolderKind.INBOX), "every backend reads the Inbox"
        assert store.capabilities.writable <= store.capabilities.readable

    def test_inbox_folder(self, harness: MailboxHarness) -> None:
        folder = harness.store.folder(FolderKind.INBOX)
        assert folder.kind is FolderKind.INBOX
        assert folder.id

    def test_first_sync_of_empty_inbox_gives_a_cursor(self, harness: MailboxHarness) -> None:
        first = drain(harness.store, FolderKind.INBOX, None)
        assert first.created == [] and first.deleted == []
        assert first.cursor
        again = drain(harness.store, FolderKind.INBOX, first.cursor)
        assert again.created == again.updated == again.deleted == []
        assert not again.full_resync

    def test_delivered_mail_is_reported_once(self, harness: MailboxHarness) -> None:
        store = harness.store
        start = drain(store, FolderKind.INBOX, None)
        raw1, _ = make_message("Eins")
        raw2, _ = make_message("Zwei")
        harness.deliver(raw1)
        harness.deliver(raw2)
        second = drain(store, FolderKind.INBOX, start.cursor)
        assert len(second.created) == 2
        assert len(set(second.created)) == 2
        third = drain(store, FolderKind.INBOX, second.cursor)
        assert third.created == [] and third.deleted == []
        raw3, _ = make_message("Drei")
        harness.deliver(raw3)
        fourth = drain(store, FolderKind.INBOX, second.cursor)
        assert len(fourth.created) == 1
        assert fourth.created[0] not in second.created

    def test_get_many_reads_the_message(self, harness: MailboxHarness) -> None:
        raw, message_id = make_message("Grüße aus München", body="Schöne Grüße", attachment=True)
        harness.deliver(raw)
        found = drain(harness.store, FolderKind.INBOX, None)
        assert len(found.created) == 1
        (item,) = ok_values(harness.store.get_many(FolderKind.INBOX, found.created))
        assert isinstance(item, MailItem)
        assert item.id == found.created[0]
        assert item.subject == "Grüße aus München"
        assert item.sender == ("Jürgen Müller", "juergen@contoso.example")
        assert item.to == [("Bernd Weber", "bernd@fabrikam.example")]
        assert item.message_id == message_id
        assert item.body_text is not None and "Schöne Grüße" in item.body_text
        assert item.body_html is not None and "Schöne Grüße" in item.body_html
        assert [a.name for a in item.attachments] == ["Übersicht.pdf"]
        assert item.attachments[0].data() == b"%PDF-1.4 test"
        assert item.sent == datetime(2024, 6, 3, 9, 15, tzinfo=UTC)

    def test_get_many_keeps_order_and_reports_missing_items(self, harness: MailboxHarness) -> None:
        for subject in ("A", "B"):
            harness.deliver(make_message(subject)[0])
        ids = drain(harness.store, FolderKind.INBOX, None).created
        results = harness.store.get_many(FolderKind.INBOX, [ids[1], "no-such-id", ids[0]])
        assert [r.id for r in results] == [ids[1], "no-such-id", ids[0]]
        assert results[0].ok and results[2].ok
        assert isinstance(results[1].error, ItemNotFound)
        subjects = [r.value.subject for r in (results[0], results[2])]  # type: ignore[union-attr]
        assert sorted(subjects) == ["A", "B"]

    def test_paging_and_resuming(self, harness: MailboxHarness) -> None:
        for number in range(5):
            harness.deliver(make_message(f"Nachricht {number}")[0])
        store = harness.store
        batches = list(store.changes(FolderKind.INBOX, None, page_size=2))
        assert [len(b.created) for b in batches] == [2, 2, 1]
        assert [b.more for b in batches] == [True, True, False]
        all_ids = [i for b in batches for i in b.created]
        assert len(set(all_ids)) == 5
        # crash after the first page was processed: resume from its cursor
        resumed = drain(store, FolderKind.INBOX, batches[0].cursor)
        assert sorted(resumed.created) == sorted(all_ids[2:])

    def test_server_side_delete_is_reported(self, harness: MailboxHarness) -> None:
        raw_keep, _ = make_message("bleibt")
        raw_gone, gone_id = make_message("geht")
        harness.deliver(raw_keep)
        harness.deliver(raw_gone)
        first = drain(harness.store, FolderKind.INBOX, None)
        items = ok_values(harness.store.get_many(FolderKind.INBOX, first.created))
        gone_item = next(i for i in items if isinstance(i, MailItem) and i.message_id == gone_id)
        harness.delete_on_server(gone_id)
        second = drain(harness.store, FolderKind.INBOX, first.cursor)
        assert second.deleted == [gone_item.id]
        assert second.created == []
        third = drain(harness.store, FolderKind.INBOX, second.cursor)
        assert third.deleted == []
        missing = harness.store.get_many(FolderKind.INBOX, [gone_item.id])
        assert isinstance(missing[0].error, ItemNotFound)

    def test_unusable_cursor_means_full_resync(self, harness: MailboxHarness) -> None:
        harness.deliver(make_message("eins")[0])
        first = drain(harness.store, FolderKind.INBOX, None)
        assert not first.full_resync
        for bad in ("garbage", first.cursor[:-7] + "AAAAAAA"):
            again = drain(harness.store, FolderKind.INBOX, bad)
            assert again.full_resync, bad
            assert again.created == first.created

    def test_reading_never_removes_mail(self, harness: MailboxHarness) -> None:
        harness.deliver(make_message("bleib da")[0])
        first = drain(harness.store, FolderKind.INBOX, None)
        ok_values(harness.store.get_many(FolderKind.INBOX, first.created))
        harness.store.close()
        again = drain(harness.store, FolderKind.INBOX, None)
        assert again.created == first.created

    # ---- what a backend does not declare must be refused ---------------------------------------

    @pytest.mark.parametrize("kind", list(FolderKind))
    def test_undeclared_folders_are_refused(self, harness: MailboxHarness, kind: FolderKind) -> None:
        store = harness.store
        if store.capabilities.can_read(kind):
            drain(store, kind, None)
        else:
            with pytest.raises(NotSupported):
                drain(store, kind, None)
            with pytest.raises(NotSupported):
                store.folder(kind)
        if not store.capabilities.can_write(kind):
            with pytest.raises(NotSupported):
                store.create_many(kind, [_sample_item(kind)])
            with pytest.raises(NotSupported):
                store.delete_many(kind, ["x"])

    def test_named_properties_declared_or_refused(self, harness: MailboxHarness) -> None:
        if harness.store.capabilities.named_properties:
            pytest.skip("declared: covered by test_named_properties_*")
        with pytest.raises(NotSupported):
            harness.store.set_named_props(FolderKind.INBOX, [("x", NamedProps(crmid="1"))])
        with pytest.raises(NotSupported):
            harness.store.find_by_crmid(FolderKind.INBOX, "1")
        with pytest.raises(NotSupported):
            list(harness.store.scan_links(FolderKind.INBOX))

    def test_root_sync_org(self, harness: MailboxHarness) -> None:
        store = harness.store
        if not store.capabilities.root_folder_props:
            assert store.root_sync_org() is None
            with pytest.raises(NotSupported):
                store.set_root_sync_org("00000000-0000-0000-0000-000000000001")
            return
        org = str(uuid.uuid4())
        store.set_root_sync_org(org)
        assert store.root_sync_org() == org
        store.set_root_sync_org(None)
        assert store.root_sync_org() is None

    # ---- sending ---------------------------------------------------------------------------------

    def test_send(self, harness: MailboxHarness) -> None:
        store = harness.store
        outgoing = OutgoingMessage(
            sender=("Jürgen Müller", "juergen@contoso.example"),
            to=[("Bernd Weber", "bernd@fabrikam.example")],
            cc=[("Anna", "anna@contoso.example")],
            bcc=[("", "hidden@contoso.example")],
            subject="Angebot für Größenänderung",
            body_text="Text",
            body_html="<p>Text</p>",
            in_reply_to="<parent@fabrikam.example>",
            attachments=[
                Attachment(name="Preisübersicht.pdf", content_type="application/pdf", content=b"%PDF")
            ],
        )
        if not store.capabilities.can_send:
            with pytest.raises(NotSupported):
                store.send(outgoing)
            return
        before = len(harness.sent_messages())
        message_id = store.send(outgoing)
        assert message_id.startswith("<") and message_id.endswith(">")
        sent = harness.sent_messages()[before:]
        assert len(sent) == 1
        parsed = BytesParser(policy=policy.default).parsebytes(sent[0])
        assert isinstance(parsed, EmailMessage)
        assert parsed["Message-ID"] == message_id
        assert parsed["Subject"] == "Angebot für Größenänderung"
        assert parsed["In-Reply-To"] == "<parent@fabrikam.example>"
        assert parsed["Bcc"] is None
        assert [p.get_filename() for p in parsed.iter_attachments()] == ["Preisübersicht.pdf"]
        if store.capabilities.sent_items_copy:
            found = drain(store, FolderKind.SENT_ITEMS, None).created
            items = ok_values(store.get_many(FolderKind.SENT_ITEMS, found))
            assert message_id in [i.message_id for i in items if isinstance(i, MailItem)]

    # ---- contacts, appointments, tasks (only for backends that declare them) ---------------------

    def _crud(self, harness: MailboxHarness, kind: FolderKind, item: Item, change: str) -> None:
        store = harness.store
        if not store.capabilities.can_write(kind):
            pytest.skip(f"{kind.value} not declared writable by this backend")
        start = drain(store, kind, None)
        (created,) = ok_values(store.create_many(kind, [item]))
        assert created.id
        after_create = drain(store, kind, start.cursor)
        assert created.id in after_create.created + after_create.updated
        (read,) = ok_values(store.get_many(kind, [created.id]))
        assert _comparable(read) == _comparable(created)

        setattr(read, change, getattr(read, change) + " (geändert)")
        (updated,) = ok_values(store.update_many(kind, [read]))
        if store.capabilities.change_keys:
            assert updated.change_key != created.change_key
            # the old change key is stale now
            setattr(created, change, "veraltet")
            (stale,) = store.update_many(kind, [created])
            assert isinstance(stale.error, Conflict)
        (reread,) = ok_values(store.get_many(kind, [created.id]))
        assert getattr(reread, change).endswith("(geändert)")
        after_update = drain(store, kind, after_create.cursor)
        assert created.id in after_update.updated + after_update.created

        (deleted,) = store.delete_many(kind, [created.id])
        assert deleted.ok
        after_delete = drain(store, kind, after_update.cursor)
        assert created.id in after_delete.deleted
        (gone,) = store.get_many(kind, [created.id])
        assert isinstance(gone.error, ItemNotFound)
        (again,) = store.delete_many(kind, [created.id])
        assert isinstance(again.error, ItemNotFound)

    def test_contacts_crud(self, harness: MailboxHarness) -> None:
        self._crud(harness, FolderKind.CONTACTS, _sample_item(FolderKind.CONTACTS), "company")

    def test_appointments_crud(self, harness: MailboxHarness) -> None:
        self._crud(harness, FolderKind.CALENDAR, _sample_item(FolderKind.CALENDAR), "subject")

    def test_tasks_crud(self, harness: MailboxHarness) -> None:
        self._crud(harness, FolderKind.TASKS, _sample_item(FolderKind.TASKS), "subject")

    def test_recurring_appointment_keeps_its_pattern(self, harness: MailboxHarness) -> None:
        store = harness.store
        if not store.capabilities.can_write(FolderKind.CALENDAR):
            pytest.skip("calendar not declared writable")
        item = _sample_item(FolderKind.CALENDAR)
        assert isinstance(item, AppointmentItem)
        item.recurrence = Recurrence(
            pattern=RecurrencePattern.WEEKLY,
            start_date=date(2024, 6, 3),
            interval=2,
            weekdays=(0, 2),
            occurrences=10,
        )
        (created,) = ok_values(store.create_many(FolderKind.CALENDAR, [item]))
        (read,) = ok_values(store.get_many(FolderKind.CALENDAR, [created.id]))
        assert isinstance(read, AppointmentItem)
        assert read.recurrence == item.recurrence

    def test_delete_goes_to_deleted_items(self, harness: MailboxHarness) -> None:
        store = harness.store
        caps = store.capabilities
        if not (caps.can_write(FolderKind.CONTACTS) and caps.server_side_moves):
            pytest.skip("no moves to Deleted Items declared")
        (created,) = ok_values(store.create_many(FolderKind.CONTACTS, [_sample_item(FolderKind.CONTACTS)]))
        before = drain(store, FolderKind.DELETED_ITEMS, None)
        store.delete_many(FolderKind.CONTACTS, [created.id])
        after = drain(store, FolderKind.DELETED_ITEMS, before.cursor)
        assert after.created, "a soft delete must land in Deleted Items"

    # ---- named properties and categories ---------------------------------------------------------

    def _linkable_kind(self, harness: MailboxHarness) -> FolderKind:
        caps = harness.store.capabilities
        if not caps.named_properties:
            pytest.skip("named properties not declared")
        for kind in (FolderKind.CONTACTS, FolderKind.TASKS, FolderKind.CALENDAR):
            if caps.can_write(kind):
                return kind
        pytest.skip("no writable folder to stamp")

    def test_named_properties_link_and_relink(self, harness: MailboxHarness) -> None:
        kind = self._linkable_kind(harness)
        store = harness.store
        (a, b) = ok_values(store.create_many(kind, [_sample_item(kind), _sample_item(kind)]))
        crmid = str(uuid.uuid4())
        org = str(uuid.uuid4())
        props = NamedProps(crmid=crmid, crmlinkstate=LinkState.TRACKED, crmorgid=org)
        (stamped,) = store.set_named_props(kind, [(a.id, props)])
        assert stamped.ok
        found = store.find_by_crmid(kind, crmid)
        assert [i.id for i in found] == [a.id]
        assert found[0].props.crmlinkstate is LinkState.TRACKED
        assert found[0].props.crmorgid == org
        links = dict(store.scan_links(kind))
        assert links[a.id].crmid == crmid
        assert b.id not in links
        assert store.find_by_crmid(kind, str(uuid.uuid4())) == []
        (missing,) = store.set_named_props(kind, [("no-such-id", props)])
        assert isinstance(missing.error, ItemNotFound)

    def test_categories_round_trip(self, harness: MailboxHarness) -> None:
        caps = harness.store.capabilities
        if not caps.categories:
            pytest.skip("categories not declared")
        kind = next(
            (k for k in (FolderKind.CONTACTS, FolderKind.TASKS, FolderKind.CALENDAR) if caps.can_write(k)),
            None,
        )
        if kind is None:
            pytest.skip("no writable folder")
        item = _sample_item(kind)
        item.categories = [TRACKED_CATEGORY, "Kunde"]
        (created,) = ok_values(harness.store.create_many(kind, [item]))
        (read,) = ok_values(harness.store.get_many(kind, [created.id]))
        assert sorted(read.categories) == sorted([TRACKED_CATEGORY, "Kunde"])


def _sample_item(kind: FolderKind) -> Item:
    now = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
    if kind is FolderKind.CONTACTS:
        return ContactItem(
            id="",
            given_name="Jürgen",
            surname="Müller",
            display_name="Jürgen Müller",
            company="Contoso GmbH",
            emails=["juergen@contoso.example"],
            phones={"business": "+49 89 1234"},
        )
    if kind is FolderKind.CALENDAR:
        return AppointmentItem(
            id="",
            subject="Besprechung",
            start=now,
            end=now + timedelta(hours=1),
            location="Raum Köln",
            body="Agenda",
        )
    if kind is FolderKind.TASKS:
        return TaskItem(
            id="", subject="Angebot schreiben", due=date(2024, 6, 10), status=TaskStatus.IN_PROGRESS
        )
    return MailItem(id="", folder=kind, subject="Entwurf")


def _comparable(item: Item) -> dict[str, object]:
    """Fields that must survive a round trip (ids and server-maintained fields excluded)."""
    skip = {"id", "change_key", "last_modified", "props", "folder"}
    return {k: v for k, v in vars(item).items() if k not in skip}
