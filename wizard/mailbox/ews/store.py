"""EwsStore: the MailboxStore implementation for Exchange Web Services (mail, contacts, calendar, tasks)."""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from exchangelib import CalendarItem, Contact, Message, Task
from exchangelib import Mailbox as XMailbox
from exchangelib.items import (
    ALL_OCCURRENCES,
    ALWAYS_OVERWRITE,
    HARD_DELETE,
    MOVE_TO_DELETED_ITEMS,
    NEVER_OVERWRITE,
    SAVE_ONLY,
    SEND_TO_NONE,
)

from wizard.errors import Severity
from wizard.mailbox.base import (
    AppointmentItem,
    Capabilities,
    ChangeBatch,
    ContactItem,
    Folder,
    FolderKind,
    Item,
    ItemNotFound,
    ItemResult,
    MailboxError,
    NamedProps,
    OutgoingMessage,
    TaskItem,
    not_supported,
)
from wizard.mailbox.ews.connection import ACCOUNT_FOLDERS, EwsSettings, Opened
from wizard.mailbox.ews.convert import (
    CALENDAR_FIELDS,
    CONTACT_FIELDS,
    MAIL_FIELDS,
    TASK_FIELDS,
    appointment_from_ews,
    appointment_to_fields,
    contact_from_ews,
    contact_to_fields,
    mail_from_ews,
    task_from_ews,
    task_to_fields,
)
from wizard.mailbox.ews.errors import (
    BatchCreateItem,
    BatchDeleteItem,
    InvalidSyncState,
    item_error,
    translate_error,
)
from wizard.mailbox.ews.fastpath import (
    FastCreateItem,
    FastUpdateItem,
    IdSyncFolderItems,
    change_element,
    fields_for,
    item_element,
    stamp_fields,
    supports_fast_path,
)
from wizard.mailbox.ews.occurrences import OccurrenceWrites
from wizard.mailbox.ews.props import (
    NAMED_PROPERTIES,
    PROP_ATTRS,
    ROOT_ORG_ATTR,
    props_from_item,
    props_to_fields,
)
from wizard.mailbox.ews.values import as_text, name_and_address
from wizard.mailbox.message import build_mime, render
from wizard.odata.overlap import Answer, InOrder
from wizard.odata.session import TokenProvider

log = logging.getLogger(__name__)

BACKEND = "Exchange (EWS)"
CURSOR_PREFIX = "ews:v1:"
#: EWS's own cap for MaxChangesReturned.
MAX_SYNC_PAGE = 512


def _hash_stable(folder: Any) -> Any:
    """``folder`` with its DistinguishedFolderId filled in now, before it is used in a FindItem.

    exchangelib (5.x) fills a well-known folder's ``_distinguished_id`` lazily in ``to_id()``, while it
    builds the FindItem request; the folder's hash covers that field, and ``_paged_call`` keys its paging
    table by folder, so a folder whose first request is a FindItem changes its hash mid-call and the
    paging bookkeeping fails with KeyError. (An exchangelib bug; the stand-in's answer is fine.)
    """
    folder.to_id()
    return folder


_WRITABLE = frozenset({FolderKind.CONTACTS, FolderKind.CALENDAR, FolderKind.TASKS})
_KIND_TYPES: dict[FolderKind, type[Item]] = {
    FolderKind.CONTACTS: ContactItem,
    FolderKind.CALENDAR: AppointmentItem,
    FolderKind.TASKS: TaskItem,
}
_STAMP_TAGS = {FolderKind.CONTACTS: "Contact", FolderKind.CALENDAR: "CalendarItem", FolderKind.TASKS: "Task"}


def _wrong_type(kind: FolderKind, item: Item) -> MailboxError:
    return MailboxError(
        f"a {type(item).__name__} cannot go into {kind.value}",
        user_text="An item of the wrong type was sent to a mailbox folder.",
        severity=Severity.ITEM,
    )


class EwsStore(OccurrenceWrites):
    """One Exchange mailbox over EWS. Not thread-safe: one store per worker thread.

    Pass ``password`` for NTLM/Basic or ``token_provider`` (``token(*, force_refresh=False) -> str``) for
    OAuth2. Nothing touches the network until the first call (or :meth:`check`).
    """

    def __init__(
        self,
        settings: EwsSettings,
        *,
        password: str | None = None,
        token_provider: TokenProvider | None = None,
    ) -> None:
        super().__init__(settings, password=password, token_provider=token_provider)
        self._capabilities = Capabilities(
            readable=frozenset(FolderKind),
            writable=_WRITABLE,
            can_send=True,
            sent_items_copy=True,
            named_properties=True,
            categories=True,
            server_side_moves=True,
            server_side_deletes=True,
            root_folder_props=True,
            change_keys=True,
        )

    def __repr__(self) -> str:
        return f"EwsStore({self._address!r}, url={self._ews_url!r}, auth={self.settings.auth.value})"

    # -- connection ------------------------------------------------------------------------------
    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def check(self) -> None:
        """Connect (autodiscover if needed), authenticate and open the Inbox; raises typed errors."""
        self.folder(FolderKind.INBOX)

    # -- folders ---------------------------------------------------------------------------------
    def _readable(self, kind: FolderKind) -> None:
        if not self._capabilities.can_read(kind):
            raise not_supported(BACKEND, f"read {kind.value}")

    def _writable(self, kind: FolderKind) -> None:
        if not self._capabilities.can_write(kind):
            raise not_supported(BACKEND, f"change items in {kind.value}")

    def folder(self, kind: FolderKind) -> Folder:
        self._readable(kind)

        def get(opened: Opened) -> Folder:
            f = getattr(opened.account, ACCOUNT_FOLDERS[kind])
            return Folder(kind=kind, id=f.id, display_name=as_text(f.name), total_count=f.total_count)

        return self._run(f"folder {kind.value}", get)

    # -- changes ---------------------------------------------------------------------------------
    def _encode_cursor(self, kind: FolderKind, state: str) -> str:
        return f"{CURSOR_PREFIX}{kind.value}:{state}"

    def _decode_cursor(self, kind: FolderKind, cursor: str | None) -> tuple[str | None, bool]:
        """(sync state, usable). A cursor of another kind or not ours is unusable."""
        if cursor is None or cursor == "":
            return None, True
        prefix = f"{CURSOR_PREFIX}{kind.value}:"
        if not cursor.startswith(prefix) or len(cursor) == len(prefix):
            return None, False
        return cursor[len(prefix) :], True

    def changes(self, kind: FolderKind, cursor: str | None, page_size: int = 100) -> Iterator[ChangeBatch]:
        """SyncFolderItems, one request per page; an unusable cursor restarts with ``full_resync``."""
        self._readable(kind)
        limit = max(1, min(int(page_size), MAX_SYNC_PAGE))
        state, usable = self._decode_cursor(kind, cursor)
        full_resync = not usable
        while True:
            try:
                page = self._run(
                    f"changes {kind.value}",
                    functools.partial(self._sync_page, kind=kind, state=state, limit=limit),
                )
            except InvalidSyncState:
                if state is not None:
                    log.info("EWS sync state for %s rejected; full re-read", kind.value)
                    state, full_resync = None, True
                    continue
                raise
            batch, state, done = page
            batch.full_resync = full_resync
            batch.more = not done
            yield batch
            if done:
                return

    def _sync_page(
        self, opened: Opened, kind: FolderKind, state: str | None, limit: int
    ) -> tuple[ChangeBatch, str, bool]:
        svc = IdSyncFolderItems(account=opened.account)  # ids and change keys, no item objects
        batch = ChangeBatch(kind=kind)
        seen: set[str] = set()
        for change_type, obj in svc.call(
            folder=self._dist(opened, kind),
            shape="IdOnly",
            additional_fields=None,
            sync_state=state,
            ignore=None,
            max_changes_returned=limit,
            sync_scope=None,
        ):
            if isinstance(obj, Exception):
                raise obj
            item_id, change_key = obj
            if change_type == "read_flag_change":
                target = batch.updated
            else:
                target = {"create": batch.created, "update": batch.updated, "delete": batch.deleted}[
                    change_type
                ]
            if not item_id or item_id in seen:
                continue
            seen.add(item_id)
            target.append(item_id)
            if change_key and change_type in ("create", "update"):
                batch.change_keys[item_id] = str(change_key)
        new_state = svc.sync_state or state or ""
        batch.cursor = self._encode_cursor(kind, new_state)
        done = bool(svc.includes_last_item_in_range) or new_state == state
        return batch, new_state, done

    # -- reading ---------------------------------------------------------------------------------
    def _fields_for(self, kind: FolderKind) -> list[str]:
        if kind is FolderKind.CONTACTS:
            base = [*CONTACT_FIELDS, "last_modified_time"]
        elif kind is FolderKind.CALENDAR:
            base = [
                *CALENDAR_FIELDS,
                "uid",
                "organizer",
                "is_cancelled",
                "last_modified_time",
                "type",
                "modified_occurrences",
                "deleted_occurrences",
            ]
        elif kind is FolderKind.TASKS:
            base = [*TASK_FIELDS, "complete_date", "last_modified_time"]
        else:
            base = list(MAIL_FIELDS)
        return base + list(PROP_ATTRS)

    def _fetch(self, opened: Opened, kind: FolderKind, ids: Sequence[str]) -> list[Any]:
        """GetItem in requests of ``batch_size`` ids, up to the gate's limit at once; in the order of ``ids``."""
        folder = self._folder_obj(opened, kind)
        only = self._fields_for(kind)

        def one(chunk: Sequence[str]) -> list[Any]:
            return list(
                opened.account.fetch(
                    ids=[(i, None) for i in chunk],
                    folder=folder,
                    only_fields=only,
                    chunk_size=self.settings.batch_size,
                )
            )

        return self._in_chunks(ids, one)

    def get_many(self, kind: FolderKind, ids: Sequence[str]) -> list[ItemResult[Item]]:
        self._readable(kind)
        if not ids:
            return []

        def work(opened: Opened) -> list[ItemResult[Item]]:
            out: list[ItemResult[Item]] = []
            read: list[tuple[Item, Any]] = []
            for item_id, got in zip(ids, self._fetch(opened, kind, ids), strict=True):
                if isinstance(got, Exception):
                    out.append(ItemResult(id=item_id, error=item_error(got)))
                    continue
                try:
                    value = self._to_item(opened, kind, got)
                except MailboxError as exc:
                    out.append(ItemResult(id=item_id, error=exc))
                    continue
                out.append(ItemResult(id=item_id, value=value))
                read.append((value, got))
            if kind is FolderKind.CALENDAR:
                self._fill_exceptions(opened, [v for v, _ in read], [x for _, x in read])
            return out

        return self._run(f"read {kind.value}", work)

    def _to_item(self, opened: Opened, kind: FolderKind, x: Any) -> Item:
        if kind is FolderKind.CONTACTS:
            return contact_from_ews(x)
        if kind is FolderKind.TASKS:
            return task_from_ews(x)
        if kind is FolderKind.CALENDAR:
            return appointment_from_ews(x, self._tz(opened))
        return mail_from_ews(kind, x, size_limit=self.settings.size_limit)

    def _build_x(self, opened: Opened, kind: FolderKind, item: Item) -> tuple[Any, list[str]]:
        """An exchangelib item carrying ``item``'s mapped fields, and the field names to send."""
        account = opened.account
        values: dict[str, Any]
        cls: type[Any]
        if kind is FolderKind.CONTACTS and isinstance(item, ContactItem):
            cls, values = Contact, contact_to_fields(item)
        elif kind is FolderKind.TASKS and isinstance(item, TaskItem):
            cls, values = Task, task_to_fields(item)
        elif kind is FolderKind.CALENDAR and isinstance(item, AppointmentItem):
            cls, values = CalendarItem, appointment_to_fields(item, self._tz(opened))
        else:
            raise _wrong_type(kind, item)
        fields = list(values)
        props = props_to_fields(item.props)
        values.update(props)
        fields += list(props)
        xitem = cls(
            account=account,
            folder=self._folder_obj(opened, kind),
            id=item.id or None,
            changekey=item.change_key if item.id else None,
            **values,
        )
        try:
            xitem.clean(version=account.version)
        except (ValueError, TypeError) as exc:  # one bad item must not sink its batch
            raise MailboxError(
                f"item rejected before sending: {exc}",
                user_text=f"An item could not be written to the mailbox: {exc}",
                severity=Severity.ITEM,
            ) from exc
        return xitem, fields

    # -- writing ---------------------------------------------------------------------------------
    def _overlapped_writes(
        self,
        opened: Opened,
        items: Sequence[Item],
        build: Callable[[Sequence[Item], list[ItemResult[Item] | None]], Callable[[], list[tuple[int, Any]]]],
        finish: Callable[[Sequence[Item], list[ItemResult[Item] | None], list[tuple[int, Any]]], None],
    ) -> list[ItemResult[Item]]:
        """Chunks of ``items``, each built here (``build`` returns the round trip) and sent up to the gate's
        limit at once; ``finish`` records each chunk's answers here, in order.

        A chunk whose request fails gives each of its items that error, and no chunk is sent after it (those
        on the wire finish and keep their answers); when no chunk was answered at all, the error is raised.
        """
        out: list[ItemResult[Item]] = []
        failure: BaseException | None = None
        answered = False
        Key = tuple[Sequence[Item], list[ItemResult[Item] | None]]

        def take(done: Iterator[tuple[Key, Answer[list[tuple[int, Any]]]]]) -> None:
            nonlocal failure, answered
            for (chunk, results), answer in done:
                if answer.error is None:
                    answered = True
                    finish(chunk, results, answer.value or [])
                else:
                    failure = failure or answer.error
                    self._failed(chunk, results, answer.error)
                out.extend(r for r in results if r is not None)

        with InOrder[Key, list[tuple[int, Any]]](self.gate, "ews") as pipe:
            for chunk in self._chunks(items):
                take(pipe.room())
                results: list[ItemResult[Item] | None] = [None] * len(chunk)
                if failure is not None:  # an earlier request failed: nothing more is sent
                    self._failed(chunk, results, failure)
                    out.extend(r for r in results if r is not None)
                    continue
                try:
                    send = build(chunk, results)  # may read first (a series' occurrences)
                except Exception as exc:  # as a failed request: the chunks on the wire keep their answers
                    failure = exc
                    self._failed(chunk, results, exc)
                    out.extend(r for r in results if r is not None)
                    continue
                pipe.submit((chunk, results), send)
            take(pipe.drain())
        if failure is not None and not answered:
            raise failure
        return out

    def _failed(
        self, chunk: Sequence[Item], results: list[ItemResult[Item] | None], error: BaseException
    ) -> None:
        """The items of a chunk whose request failed (or was not sent): each gets that error."""
        translated = error if isinstance(error, MailboxError) else translate_error(error, server=self._server)
        for n, item in enumerate(chunk):
            if results[n] is None:
                results[n] = ItemResult(id=item.id or None, error=translated)

    def create_many(self, kind: FolderKind, items: Sequence[Item]) -> list[ItemResult[Item]]:
        self._writable(kind)
        if not items:
            return []

        def work(opened: Opened) -> list[ItemResult[Item]]:
            fast = supports_fast_path(opened.account.version)

            def build(
                chunk: Sequence[Item], results: list[ItemResult[Item] | None]
            ) -> Callable[[], list[tuple[int, Any]]]:
                if fast:
                    return self._fast_create(opened, kind, chunk, results)
                return self._slow_create(opened, kind, chunk, results)

            def finish(
                chunk: Sequence[Item], results: list[ItemResult[Item] | None], created: list[tuple[int, Any]]
            ) -> None:
                for n, res in created:
                    if isinstance(res, Exception):
                        results[n] = ItemResult(id=None, error=item_error(res))
                    else:
                        value = copy.deepcopy(chunk[n])
                        value.id, value.change_key = res
                        results[n] = ItemResult(id=value.id, value=value)
                if kind is FolderKind.CALENDAR:
                    self._occurrences_after_create(opened, chunk, results)
                    self._read_back(opened, kind, results)

            return self._overlapped_writes(opened, items, build, finish)

        return self._run(f"create {kind.value}", work)

    def _fast_fields(self, opened: Opened, kind: FolderKind, item: Item) -> tuple[str, list[Any], list[Any]]:
        if not isinstance(item, _KIND_TYPES.get(kind, ())):
            raise _wrong_type(kind, item)
        return fields_for(item, self._tz(opened))

    def _fast_create_payload(self, opened: Opened, kind: FolderKind, items: Sequence[Item]) -> Any:
        """The CreateItem body the fast path sends for ``items`` (for tests)."""
        version = opened.account.version
        elements = []
        for item in items:
            tag, _, fields = self._fast_fields(opened, kind, item)
            elements.append(item_element(tag, fields, version))
        svc = FastCreateItem(account=opened.account)
        return svc._fast_payload(
            elements, folder=self._folder_obj(opened, kind), send_invitations=SEND_TO_NONE
        )

    def _fast_create(
        self, opened: Opened, kind: FolderKind, chunk: Sequence[Item], results: list[ItemResult[Item] | None]
    ) -> Callable[[], list[tuple[int, Any]]]:
        """One CreateItem written with lxml, built now; the returned call sends it and answers (index in
        chunk, (id, change key) or the item's error)."""
        version = opened.account.version
        built: list[tuple[int, Any]] = []
        for n, item in enumerate(chunk):
            try:
                tag, _, fields = self._fast_fields(opened, kind, item)
            except MailboxError as exc:
                results[n] = ItemResult(id=None, error=exc)
                continue
            built.append((n, item_element(tag, fields, version)))
        folder = self._folder_obj(opened, kind)

        def send() -> list[tuple[int, Any]]:
            if not built:
                return []
            svc = FastCreateItem(account=opened.account, chunk_size=self.settings.batch_size)
            answers = svc.fast_call([el for _, el in built], folder, SEND_TO_NONE)
            return [(n, res) for (n, _), res in zip(built, answers, strict=True)]

        return send

    def _slow_create(
        self, opened: Opened, kind: FolderKind, chunk: Sequence[Item], results: list[ItemResult[Item] | None]
    ) -> Callable[[], list[tuple[int, Any]]]:
        """One CreateItem through exchangelib's item objects (servers older than Exchange 2010), built now;
        the returned call sends it."""
        built: list[tuple[int, Any]] = []
        for n, item in enumerate(chunk):
            try:
                xitem, _ = self._build_x(opened, kind, replace(item, id="", change_key=None))
            except MailboxError as exc:
                results[n] = ItemResult(id=None, error=exc)
                continue
            built.append((n, xitem))
        folder = self._folder_obj(opened, kind)

        def send() -> list[tuple[int, Any]]:
            if not built:
                return []
            created = self._call_batch(
                opened,
                BatchCreateItem,
                items=[x for _, x in built],
                folder=folder,
                message_disposition=SAVE_ONLY,
                send_meeting_invitations=SEND_TO_NONE,
            )
            return [
                (n, res if isinstance(res, Exception) else (res.id, res.changekey))
                for (n, _), res in zip(built, created, strict=True)
            ]

        return send

    def _read_back(self, opened: Opened, kind: FolderKind, results: list[ItemResult[Item] | None]) -> None:
        """Add what only the server knows of a created appointment (organizer, UID): one GetItem per batch.

        Id and change key come with the CreateItem answer (kept: a key read now could cover an edit made
        since); everything else is what was sent. So only these two server-made fields are read, not the
        whole item: parsing full items was most of the cost of a create.
        """
        ok = [(n, r.id) for n, r in enumerate(results) if r is not None and r.ok and r.id]
        if not ok:
            return
        folder = self._folder_obj(opened, kind)
        fetched = opened.account.fetch(
            ids=[(i, None) for _, i in ok],
            folder=folder,
            only_fields=["uid", "organizer"],
            chunk_size=self.settings.batch_size,
        )
        for (n, _item_id), got in zip(ok, fetched, strict=True):
            current = results[n]
            if (
                isinstance(got, Exception)
                or current is None
                or not isinstance(current.value, AppointmentItem)
            ):
                continue
            current.value.uid = got.uid
            current.value.organizer = name_and_address(got.organizer)

    def update_many(self, kind: FolderKind, items: Sequence[Item]) -> list[ItemResult[Item]]:
        self._writable(kind)
        if not items:
            return []

        def work(opened: Opened) -> list[ItemResult[Item]]:
            fast = supports_fast_path(opened.account.version)
            series_of: dict[int, Any] = {}  # id(results) -> the chunk's series (read before it is sent)

            def build(
                chunk: Sequence[Item], results: list[ItemResult[Item] | None]
            ) -> Callable[[], list[tuple[int, Any]]]:
                series = series_of[id(results)] = self._series_before_update(opened, kind, chunk)
                # same pattern: keep the exceptions, so the Recurrence is not sent
                keep = {i for i, (send, _) in series.items() if not send}
                todo: list[int] = []
                for n, item in enumerate(chunk):
                    if not item.id:
                        results[n] = ItemResult(
                            id=None, error=ItemNotFound("update without an id", severity=Severity.ITEM)
                        )
                    else:
                        todo.append(n)
                if fast:
                    return self._fast_update(opened, kind, chunk, todo, results, keep)
                return self._slow_update(opened, kind, chunk, todo, results, keep)

            def finish(
                chunk: Sequence[Item], results: list[ItemResult[Item] | None], answers: list[tuple[int, Any]]
            ) -> None:
                for n, res in answers:
                    original = chunk[n]
                    if isinstance(res, Exception):
                        results[n] = ItemResult(id=original.id, error=item_error(res))
                    else:
                        value = copy.deepcopy(original)
                        value.id, value.change_key = res[0], res[1]
                        results[n] = ItemResult(id=value.id, value=value)
                series = series_of.pop(id(results), None)
                if series:
                    self._occurrences_after_update(opened, chunk, results, series)

            return self._overlapped_writes(opened, items, build, finish)

        return self._run(f"update {kind.value}", work)

    def _fast_change(self, opened: Opened, kind: FolderKind, item: Item, keep_recurrence: bool) -> Any:
        tag, fields, _ = self._fast_fields(opened, kind, item)
        if keep_recurrence:
            fields = [f for f in fields if f[0] != "Recurrence"]
        return change_element(tag, item.id, item.change_key, fields, opened.account.version)

    def _fast_update_payload(
        self,
        opened: Opened,
        kind: FolderKind,
        items: Sequence[Item],
        resolution: str,
        keep_recurrence: frozenset[str] | set[str] = frozenset(),
    ) -> Any:
        """The UpdateItem body the fast path sends for ``items`` (for tests)."""
        changes = [self._fast_change(opened, kind, i, i.id in keep_recurrence) for i in items]
        return FastUpdateItem(account=opened.account)._fast_payload(changes, resolution)

    def _fast_update(
        self,
        opened: Opened,
        kind: FolderKind,
        chunk: Sequence[Item],
        todo: Sequence[int],
        results: list[ItemResult[Item] | None],
        keep: set[str],
    ) -> Callable[[], list[tuple[int, Any]]]:
        built: list[tuple[int, Any]] = []
        for n in todo:
            item = chunk[n]
            try:
                built.append((n, self._fast_change(opened, kind, item, item.id in keep)))
            except MailboxError as exc:
                results[n] = ItemResult(id=item.id, error=exc)

        def send() -> list[tuple[int, Any]]:
            if not built:
                return []
            svc = FastUpdateItem(account=opened.account, chunk_size=self.settings.batch_size)
            # NeverOverwrite: a stale change key is a Conflict, as the protocol promises.
            answers = svc.fast_call([el for _, el in built], NEVER_OVERWRITE)
            return [(n, res) for (n, _), res in zip(built, answers, strict=True)]

        return send

    def _slow_update(
        self,
        opened: Opened,
        kind: FolderKind,
        chunk: Sequence[Item],
        todo: Sequence[int],
        results: list[ItemResult[Item] | None],
        keep: set[str],
    ) -> Callable[[], list[tuple[int, Any]]]:
        built: list[tuple[int, tuple[Any, list[str]]]] = []
        for n in todo:
            item = chunk[n]
            try:
                xitem, fields = self._build_x(opened, kind, item)
            except MailboxError as exc:
                results[n] = ItemResult(id=item.id, error=exc)
                continue
            if item.id in keep:
                fields = [f for f in fields if f != "recurrence"]
            built.append((n, (xitem, fields)))

        def send() -> list[tuple[int, Any]]:
            answers = self._update(opened, [pair for _, pair in built], NEVER_OVERWRITE)
            return [(n, res) for (n, _), res in zip(built, answers, strict=True)]

        return send

    def delete_many(
        self, kind: FolderKind, ids: Sequence[str], *, permanently: bool = False
    ) -> list[ItemResult[None]]:
        self._writable(kind)
        if not ids:
            return []

        def work(opened: Opened) -> list[ItemResult[None]]:
            answers = self._call_batch(
                opened,
                BatchDeleteItem,
                items=[(i, None) for i in ids],
                delete_type=HARD_DELETE if permanently else MOVE_TO_DELETED_ITEMS,
                send_meeting_cancellations=SEND_TO_NONE,
                affected_task_occurrences=ALL_OCCURRENCES,
                suppress_read_receipts=True,
            )
            return [
                ItemResult(id=i, error=item_error(r)) if isinstance(r, Exception) else ItemResult(id=i)
                for i, r in zip(ids, answers, strict=True)
            ]

        return self._run(f"delete {kind.value}", work)

    # -- named properties ------------------------------------------------------------------------
    def set_named_props(
        self, kind: FolderKind, updates: Sequence[tuple[str, NamedProps]]
    ) -> list[ItemResult[str]]:
        self._readable(kind)
        if not updates:
            return []
        cls = {FolderKind.CONTACTS: Contact, FolderKind.CALENDAR: CalendarItem, FolderKind.TASKS: Task}.get(
            kind, Message
        )

        def work(opened: Opened) -> list[ItemResult[str]]:
            if supports_fast_path(opened.account.version):
                return stamp_fast(opened)
            pairs = []
            for item_id, props in updates:
                values = props_to_fields(props)
                xitem = cls(account=opened.account, id=item_id, changekey=None, **values)
                pairs.append((xitem, list(values)))
            # Stamping our own properties must not conflict with the user's concurrent edits.
            answers = self._update(opened, pairs, ALWAYS_OVERWRITE)
            return [
                ItemResult(id=item_id, error=item_error(r))
                if isinstance(r, Exception)
                else ItemResult(id=item_id, value=r[1])
                for (item_id, _), r in zip(updates, answers, strict=True)
            ]

        def stamp_fast(opened: Opened) -> list[ItemResult[str]]:
            version = opened.account.version
            tag = _STAMP_TAGS.get(kind, "Message")
            changes = [
                change_element(tag, item_id, None, stamp_fields(props), version) for item_id, props in updates
            ]

            def one(chunk: Sequence[Any]) -> list[Any]:
                svc = FastUpdateItem(account=opened.account, chunk_size=self.settings.batch_size)
                # Stamping our own properties must not conflict with the user's concurrent edits.
                return list(svc.fast_call(chunk, ALWAYS_OVERWRITE))

            answers = self._in_chunks(changes, one)
            return [
                ItemResult(id=item_id, error=item_error(r))
                if isinstance(r, Exception)
                else ItemResult(id=item_id, value=r[1])
                for (item_id, _), r in zip(updates, answers, strict=True)
            ]

        return self._run(f"stamp {kind.value}", work)

    def find_by_crmid(self, kind: FolderKind, crmid: str) -> list[Item]:
        self._readable(kind)
        attr = NAMED_PROPERTIES["crmid"][0]

        def work(opened: Opened) -> list[Item]:
            folder = _hash_stable(self._folder_obj(opened, kind))
            ids = [x.id for x in folder.filter(**{attr: crmid}).only(attr)]
            if not ids:
                return []
            xs = [x for x in self._fetch(opened, kind, ids) if not isinstance(x, Exception)]
            found = [self._to_item(opened, kind, x) for x in xs]
            if kind is FolderKind.CALENDAR:
                self._fill_exceptions(opened, found, xs)
            return found

        return self._run(f"find {kind.value}", work)

    def scan_links(self, kind: FolderKind) -> Iterator[tuple[str, NamedProps]]:
        self._readable(kind)
        attr = NAMED_PROPERTIES["crmid"][0]

        def work(opened: Opened) -> list[tuple[str, NamedProps]]:
            folder = _hash_stable(self._folder_obj(opened, kind))
            query = folder.filter(**{f"{attr}__exists": True}).only(*PROP_ATTRS)
            query.page_size = MAX_SYNC_PAGE
            return [(x.id, props_from_item(x)) for x in query if not isinstance(x, Exception)]

        yield from self._run(f"scan {kind.value}", work)

    # -- the root folder -------------------------------------------------------------------------
    def root_sync_org(self) -> str | None:
        def work(opened: Opened) -> str | None:
            root = opened.account.root
            root.refresh()
            value = getattr(root, ROOT_ORG_ATTR, None)
            return str(value) if value else None

        return self._run("read root folder", work)

    def set_root_sync_org(self, org_id: str | None) -> None:
        def work(opened: Opened) -> None:
            root = opened.account.root
            setattr(root, ROOT_ORG_ATTR, org_id or None)
            root.save(update_fields=[ROOT_ORG_ATTR])

        self._run("stamp root folder", work)

    # -- sending ---------------------------------------------------------------------------------
    def send(self, message: OutgoingMessage) -> str:
        """SendAndSaveCopy of the MIME we build ourselves, so Message-ID and extra headers are ours."""
        domain = self._address.rsplit("@", 1)[-1] or "d365sync.invalid"
        mime = build_mime(message, domain=domain)
        message_id = str(mime["Message-ID"])
        raw = render(mime)

        def work(opened: Opened) -> str:
            def boxes(pairs: Sequence[tuple[str, str]]) -> list[XMailbox] | None:
                return [XMailbox(name=n or None, email_address=a) for n, a in pairs] or None

            xmsg = Message(
                account=opened.account,
                folder=self._folder_obj(opened, FolderKind.SENT_ITEMS),
                mime_content=raw,
                to_recipients=boxes(message.to),
                cc_recipients=boxes(message.cc),
                bcc_recipients=boxes(message.bcc),
                categories=list(message.categories) or None,
            )
            xmsg.send_and_save()
            return message_id

        return self._run("send", work)
