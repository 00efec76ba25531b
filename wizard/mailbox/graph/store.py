"""GraphStore: the MailboxStore implementation for Exchange Online over Microsoft Graph v1.0.

Changes are Graph delta rounds (``…/messages/delta``, ``/me/contacts/delta``, ``/me/calendarView/delta``
within the calendar window, ``/me/todo/lists/{default}/tasks/delta``); see the package docstring and
docs/mailbox-graph.md. Sending posts our own MIME to ``/me/sendMail``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import formataddr, parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from wizard.errors import Severity
from wizard.mailbox.base import (
    AppointmentItem,
    AuthenticationFailed,
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
    ProtocolError,
    TaskItem,
    not_supported,
)
from wizard.mailbox.graph.client import (
    MAIL_FOLDERS,
    MAX_MESSAGE_BYTES,
    GraphSettings,
    Sub,
    SubResult,
    message_batch_bytes,
)
from wizard.mailbox.graph.convert import (
    appointment_from,
    appointment_out,
    contact_from,
    contact_out,
    mail_from,
    task_from,
    task_out,
)
from wizard.mailbox.graph.errors import needs_resync, translate
from wizard.mailbox.graph.occurrences import SeriesInstances
from wizard.mailbox.graph.props import (
    ATTENDEES_ID,
    NAMED_IDS,
    PROP_BUSINESS_FAX,
    TASK_EXTENSION,
    ext_values,
    props_from,
    props_out,
    task_extension,
    task_needs_extension,
)
from wizard.mailbox.graph.values import change_key_of, if_match, name_and_address, parse_dt
from wizard.mailbox.message import build_mime, render
from wizard.odata.errors import (
    InsecureURLError,
    InvalidURLError,
    MalformedResponseError,
    ODataError,
    ResponseTooLargeError,
    UnsafeLinkError,
)
from wizard.odata.retry import RetryPolicy, Sleeper
from wizard.odata.session import TokenProvider, encode_query

log = logging.getLogger(__name__)


BACKEND = "Exchange Online (Microsoft Graph)"
CURSOR_PREFIX = "graph:v1:"
MAX_PAGE = 1000

_WRITABLE = frozenset({FolderKind.CONTACTS, FolderKind.CALENDAR, FolderKind.TASKS})
_EXT_EXPAND = (
    "singleValueExtendedProperties($filter="
    + " or ".join(f"id eq '{i}'" for i in [*NAMED_IDS.values(), ATTENDEES_ID, PROP_BUSINESS_FAX])
    + ")"
)
_MESSAGE_SELECT = "id,changeKey,categories,isRead,importance,parentFolderId,createdDateTime,internetMessageId"


class GraphStore(SeriesInstances):
    """One Exchange Online mailbox over Microsoft Graph v1.0. Not thread-safe: one store per worker."""

    def __init__(
        self,
        settings: GraphSettings,
        *,
        token_provider: TokenProvider,
        retry_policy: RetryPolicy | None = None,
        sleeper: Sleeper = time.sleep,
    ) -> None:
        super().__init__(settings, token_provider=token_provider, retry_policy=retry_policy, sleeper=sleeper)
        self._capabilities = Capabilities(
            readable=frozenset({*MAIL_FOLDERS, *_WRITABLE}),
            writable=_WRITABLE,
            can_send=True,
            sent_items_copy=True,
            named_properties=True,
            categories=True,
            server_side_moves=False,
            server_side_deletes=True,
            root_folder_props=True,
            change_keys=True,
        )

    def __repr__(self) -> str:
        return f"GraphStore({self.settings.address!r}, url={self.settings.graph_url!r})"

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def _readable(self, kind: FolderKind) -> None:
        if not self._capabilities.can_read(kind):
            raise not_supported(BACKEND, f"read {kind.value}")

    def _writable(self, kind: FolderKind) -> None:
        if not self._capabilities.can_write(kind):
            raise not_supported(BACKEND, f"change items in {kind.value}")

    # -- folders ---------------------------------------------------------------------------------
    def check(self) -> None:
        """Sign in and read the profile; the signed-in user must own the configured address."""

        def work() -> None:
            me = self._get("me", params={"$select": "id,mail,userPrincipalName"})
            owned = {str(me.get("mail") or "").lower(), str(me.get("userPrincipalName") or "").lower()}
            if self.settings.address.lower() not in owned:
                raise AuthenticationFailed(
                    "signed in as another user",
                    user_text=f"The sign-in belongs to {me.get('mail') or me.get('userPrincipalName')}, "
                    f"not to the mailbox {self.settings.address}. Sign in as the mailbox's owner.",
                )

        self._call("check", work)

    def folder(self, kind: FolderKind) -> Folder:
        self._readable(kind)

        def work() -> Folder:
            if kind in MAIL_FOLDERS:
                doc = self._get(
                    f"me/mailFolders/{MAIL_FOLDERS[kind]}",
                    params={"$select": "id,displayName,totalItemCount"},
                )
                return Folder(
                    kind, str(doc["id"]), str(doc.get("displayName") or ""), doc.get("totalItemCount")
                )
            if kind is FolderKind.CALENDAR:
                doc = self._get("me/calendar", params={"$select": "id,name"})
                return Folder(kind, str(doc["id"]), str(doc.get("name") or "Calendar"))
            if kind is FolderKind.TASKS:
                return Folder(kind, self._task_list_id(), "Tasks")
            doc = self._get("me/contacts", params={"$select": "parentFolderId", "$top": "1"})
            first = (doc.get("value") or [{}])[0]
            return Folder(kind, str(first.get("parentFolderId") or "contacts"), "Contacts")

        return self._call(f"folder {kind.value}", work)

    # -- changes ----------------------------------------------------------------------------------
    def _start(self, kind: FolderKind) -> tuple[str, dict[str, str]]:
        if kind in MAIL_FOLDERS:
            return f"me/mailFolders/{MAIL_FOLDERS[kind]}/messages/delta", {"$select": "id,createdDateTime"}
        if kind is FolderKind.CONTACTS:
            return "me/contacts/delta", {"$select": "id,createdDateTime"}
        if kind is FolderKind.TASKS:
            return f"me/todo/lists/{self._task_list_id()}/tasks/delta", {}
        now = datetime.now(UTC).replace(microsecond=0)
        start = now - timedelta(days=self.settings.calendar_past_days)
        end = now + timedelta(days=self.settings.calendar_future_days)
        return "me/calendarView/delta", {
            "startDateTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "endDateTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "$select": "id,createdDateTime,type,seriesMasterId",
        }

    def _encode_cursor(self, kind: FolderKind, link: str, since: str, round_start: str) -> str:
        payload = json.dumps({"l": link, "s": since, "r": round_start}, separators=(",", ":"))
        return f"{CURSOR_PREFIX}{kind.value}:" + base64.urlsafe_b64encode(payload.encode()).decode()

    def _decode_cursor(self, kind: FolderKind, cursor: str | None) -> tuple[dict[str, str] | None, bool, str]:
        """(the delta state, whether the cursor was usable, a notice for the user when it was refused)."""
        if not cursor:
            return None, True, ""
        prefix = f"{CURSOR_PREFIX}{kind.value}:"
        if not cursor.startswith(prefix):
            return None, False, ""
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor[len(prefix) :].encode()))
            link = str(data["l"])
            self._session.checked_link(link, "stored delta link")
            return {"l": link, "s": str(data.get("s") or ""), "r": str(data.get("r") or "")}, True, ""
        except UnsafeLinkError as exc:
            # not a damaged cursor: a link to another server (a changed Graph address, or a tampered state
            # DB). Never followed; the full re-read is said out loud, not done silently.
            log.warning("Graph %s: stored cursor refused, full re-read: %s", kind.value, exc.message)
            notice = (
                f"The saved position for {kind.value} in Exchange Online led to another server; it was not "
                "followed (your sign-in was not sent there) and everything was read again instead."
            )
            return None, False, notice
        except (ValueError, KeyError, TypeError, binascii.Error, MalformedResponseError):
            return None, False, ""

    def changes(self, kind: FolderKind, cursor: str | None, page_size: int = 100) -> Iterator[ChangeBatch]:
        """Delta rounds, one request per page; an unusable cursor or a lost sync state -> ``full_resync``."""
        self._readable(kind)
        limit = max(1, min(int(page_size), MAX_PAGE))
        state, usable, notice = self._decode_cursor(kind, cursor)
        full_resync = not usable
        prefer = [f"odata.maxpagesize={limit}", 'outlook.timezone="UTC"']
        guard = self._session.page_guard(f"{kind.value} changes", page_size=limit)
        while True:
            since = state["s"] if state else ""
            round_start = state["r"] if state else ""
            try:
                if state is None:
                    path, params = self._call("changes", lambda: self._start(kind))
                    response = self._session.request("GET", path, params=params, prefer=prefer)
                else:
                    response = self._session.request("GET", state["l"], prefer=prefer)
                document = self._session.decode_json(response)
            except ODataError as exc:
                if state is not None and needs_resync(exc):
                    log.info(
                        "Graph delta state for %s lost (%s); full re-read", kind.value, exc.code or exc.status
                    )
                    state, full_resync = None, True
                    guard = self._session.page_guard(f"{kind.value} changes", page_size=limit)
                    continue
                raise translate(exc, f"changes {kind.value}") from exc
            except (InsecureURLError, InvalidURLError) as exc:
                raise translate(exc, f"changes {kind.value}") from exc
            server_now = _server_time(response.headers.get("Date"))
            if not round_start:  # first page of a round: it defines "new since" for the next round
                round_start = server_now
            batch = ChangeBatch(kind=kind, full_resync=full_resync, notice=notice)
            notice = ""  # said once, with the first page
            self._classify(kind, document.get("value") or [], batch, since)
            next_link = document.get("@odata.nextLink")
            delta_link = document.get("@odata.deltaLink")
            try:
                if next_link:
                    link = guard.follow(
                        document, self._session.checked_link(str(next_link), "@odata.nextLink")
                    )
                    batch.cursor = self._encode_cursor(kind, link, since, round_start)
                    batch.more = True
                elif delta_link:
                    link = self._session.checked_link(str(delta_link), "@odata.deltaLink")
                    batch.cursor = self._encode_cursor(kind, link, round_start, "")
                else:
                    raise ProtocolError(
                        "a delta page without next or delta link",
                        user_text="Exchange Online answered a change query oddly.",
                    )
            except MalformedResponseError as exc:
                raise translate(exc, f"changes {kind.value}") from exc
            yield batch
            if not batch.more:
                return
            state = {"l": link, "s": since, "r": round_start}

    def _classify(self, kind: FolderKind, rows: list[Any], batch: ChangeBatch, since: str) -> None:
        seen: set[str] = set()
        threshold = parse_dt(since)
        for row in rows:
            if not isinstance(row, Mapping) or not row.get("id"):
                continue
            item_id = str(row.get("seriesMasterId") or row["id"])
            if item_id in seen:
                continue
            seen.add(item_id)
            if "@removed" in row:
                batch.deleted.append(item_id)
                continue
            created = parse_dt(row.get("createdDateTime"))
            if threshold is None or created is None or created >= threshold:
                batch.created.append(item_id)
            else:
                batch.updated.append(item_id)

    # -- reading ----------------------------------------------------------------------------------
    def _read_subs(self, kind: FolderKind, item_id: str) -> list[Sub]:
        path = self._item_path(kind, item_id)
        if kind in MAIL_FOLDERS:
            query = encode_query({"$select": _MESSAGE_SELECT, "$expand": _EXT_EXPAND})
            return [Sub("GET", f"{path}?{query}"), Sub("GET", f"{path}/$value")]
        query = encode_query({"$expand": "extensions" if kind is FolderKind.TASKS else _EXT_EXPAND})
        prefer = {"Prefer": 'outlook.timezone="UTC", outlook.body-content-type="text"'}
        return [Sub("GET", f"{path}?{query}", headers=prefer)]

    def get_many(self, kind: FolderKind, ids: Sequence[str]) -> list[ItemResult[Item]]:
        self._readable(kind)
        if not ids:
            return []

        def work() -> list[ItemResult[Item]]:
            per = 2 if kind in MAIL_FOLDERS else 1
            subs = [s for i in ids for s in self._read_subs(kind, i)]
            answers = self._read_answers(kind, ids, subs)
            out: list[ItemResult[Item]] = []
            masters: list[tuple[int, Mapping[str, Any]]] = []
            for n, item_id in enumerate(ids):
                parts = answers[n * per : (n + 1) * per]
                failed = next((p for p in parts if not p.ok), None)
                if failed is not None:
                    out.append(ItemResult(id=item_id, error=self._item_failure(failed, f"read {kind.value}")))
                    continue
                try:
                    out.append(ItemResult(id=item_id, value=self._to_item(kind, parts)))
                    body = parts[0].body
                    if kind is FolderKind.CALENDAR and isinstance(body, Mapping) and body.get("recurrence"):
                        masters.append((len(out) - 1, body))
                except MailboxError as exc:
                    out.append(ItemResult(id=item_id, error=exc))
                except (KeyError, TypeError, ValueError) as exc:
                    out.append(
                        ItemResult(
                            id=item_id, error=ProtocolError(f"unreadable item: {exc}", severity=Severity.ITEM)
                        )
                    )
            series = self._series_of([resource for _, resource in masters])
            for (n, _), got in zip(masters, series, strict=True):
                value = out[n].value
                if isinstance(got, MailboxError):
                    out[n] = ItemResult(id=out[n].id, error=got)
                elif isinstance(value, AppointmentItem):
                    value.recurrence = got[0]
            return out

        return self._call(f"read {kind.value}", work)

    def _read_answers(self, kind: FolderKind, ids: Sequence[str], subs: list[Sub]) -> list[SubResult]:
        """The read requests' answers. Message contents come base64-encoded inside the JSON ``$batch`` answer,
        so a batch of them may be larger than the session's cap for one answer: the cap for it follows from
        the messages per batch and the size limit; a batch larger still (a message over the size limit) is
        read again one message at a time, which fits even Exchange Online's largest message."""
        if kind not in MAIL_FOLDERS:
            return self._batch(subs)
        per_batch = (self.settings.batch_size + 1) // 2
        cap = message_batch_bytes(per_batch, self.settings.size_limit)
        try:
            return self._batch(subs, max_bytes=cap)
        except ResponseTooLargeError:
            log.info("Graph: messages over %d MB in one batch; reading them one at a time", cap >> 20)
        answers: list[SubResult] = []
        for item_id in ids:
            alone = self._read_subs(kind, item_id)
            try:
                answers += self._batch(alone, max_bytes=message_batch_bytes(1, MAX_MESSAGE_BYTES))
            except ResponseTooLargeError as exc:
                failed = SubResult(413, {"error": {"code": "ResponseTooLarge", "message": exc.message}}, {})
                answers += [failed] * len(alone)
        return answers

    def _to_item(self, kind: FolderKind, parts: list[SubResult]) -> Item:
        resource = parts[0].body if isinstance(parts[0].body, Mapping) else {}
        if kind is FolderKind.CONTACTS:
            return contact_from(resource)
        if kind is FolderKind.TASKS:
            return task_from(resource)
        if kind is FolderKind.CALENDAR:
            return appointment_from(resource, self._zone)
        return mail_from(kind, resource, parts[1].body, size_limit=self.settings.size_limit)

    def _body_for(self, kind: FolderKind, item: Item, *, with_props: bool) -> dict[str, Any]:
        if kind is FolderKind.CONTACTS and isinstance(item, ContactItem):
            body = contact_out(item)
        elif kind is FolderKind.CALENDAR and isinstance(item, AppointmentItem):
            body = appointment_out(item, self.settings.timezone)
        elif kind is FolderKind.TASKS and isinstance(item, TaskItem):
            return task_out(item)
        else:
            raise MailboxError(
                f"a {type(item).__name__} cannot go into {kind.value}",
                user_text="An item of the wrong type was sent to a mailbox folder.",
                severity=Severity.ITEM,
            )
        if with_props:
            body["singleValueExtendedProperties"] = [
                *body.get("singleValueExtendedProperties", []),
                *props_out(item.props),
            ]
        return body

    # -- writing ----------------------------------------------------------------------------------
    def create_many(self, kind: FolderKind, items: Sequence[Item]) -> list[ItemResult[Item]]:
        self._writable(kind)
        if not items:
            return []

        def work() -> list[ItemResult[Item]]:
            results: list[ItemResult[Item] | None] = [None] * len(items)
            subs: list[Sub] = []
            index: list[int] = []
            for n, item in enumerate(items):
                try:
                    body = self._body_for(kind, item, with_props=True)
                except MailboxError as exc:
                    results[n] = ItemResult(id=None, error=exc)
                    continue
                subs.append(Sub("POST", self._item_path(kind), body))
                index.append(n)
            created: list[tuple[int, str]] = []
            for n, answer in zip(index, self._batch(subs), strict=True):
                if not answer.ok or not isinstance(answer.body, Mapping) or not answer.body.get("id"):
                    results[n] = ItemResult(id=None, error=self._item_failure(answer, f"create {kind.value}"))
                    continue
                value = self._created_value(kind, items[n], answer.body)
                results[n] = ItemResult(id=value.id, value=value)
                created.append((n, value.id))
            stamp = [
                (n, item_id)
                for n, item_id in created
                if isinstance(items[n], TaskItem) and task_needs_extension(items[n])  # type: ignore[arg-type]
            ]
            self._finish_tasks(stamp, items, results)
            self._occurrences_after_create(created, items, results)
            return [r for r in results if r is not None]

        return self._call(f"create {kind.value}", work)

    def _created_value(self, kind: FolderKind, original: Item, resource: Mapping[str, Any]) -> Item:
        value = copy.deepcopy(original)
        value.id = str(resource["id"])
        value.change_key = change_key_of(resource)
        if isinstance(value, ContactItem | AppointmentItem | TaskItem):
            value.last_modified = parse_dt(resource.get("lastModifiedDateTime"))
        if isinstance(value, AppointmentItem):
            value.organizer = name_and_address(resource.get("organizer"))
            value.uid = str(resource["iCalUId"]) if resource.get("iCalUId") else None
        return value

    def _stamp_tasks(
        self, updates: Sequence[tuple[str, dict[str, Any]]]
    ) -> list[tuple[MailboxError | None, str | None]]:
        """Write the tasks' open extension (PATCH; POST where it does not exist yet), then read the tasks'
        new etags. One (error, change key) per update."""
        path = self._item_path(FolderKind.TASKS)
        subs = [
            Sub("PATCH", f"{path}/{quote(i, safe='')}/extensions/{TASK_EXTENSION}", values)
            for i, values in updates
        ]
        answers = self._batch(subs)
        missing = [k for k, a in enumerate(answers) if a.status == 404]
        if missing:
            # 404 means the task *or* its extension is missing; the POST tells them apart (404 again = task gone)
            creates = [
                Sub(
                    "POST",
                    f"{path}/{quote(updates[k][0], safe='')}/extensions",
                    {
                        "@odata.type": "microsoft.graph.openTypeExtension",
                        "extensionName": TASK_EXTENSION,
                        **updates[k][1],
                    },
                )
                for k in missing
            ]
            for k, answer in zip(missing, self._batch(creates), strict=True):
                answers[k] = answer
        errors = [None if a.ok else self._item_failure(a, "stamp tasks") for a in answers]
        done = [k for k, e in enumerate(errors) if e is None]
        keys: dict[int, str | None] = {}
        if done:
            fresh = self._batch(
                [Sub("GET", f"{path}/{quote(updates[k][0], safe='')}?$select=id") for k in done]
            )
            keys = {
                k: change_key_of(a.body) if a.ok and isinstance(a.body, Mapping) else None
                for k, a in zip(done, fresh, strict=True)
            }
        return [(errors[k], keys.get(k)) for k in range(len(updates))]

    def _finish_tasks(
        self,
        targets: Sequence[tuple[int, str]],
        items: Sequence[Item],
        results: list[ItemResult[Item] | None],
    ) -> None:
        """After a task create/update: its open extension (named properties, percent complete)."""
        if not targets:
            return
        stamped = self._stamp_tasks([(i, task_extension(items[n], items[n].props)) for n, i in targets])  # type: ignore[arg-type]
        for (n, item_id), (error, key) in zip(targets, stamped, strict=True):
            current = results[n]
            if error is not None:
                results[n] = ItemResult(id=item_id, error=error)
            elif current is not None and current.value is not None:
                current.value.change_key = key

    def update_many(self, kind: FolderKind, items: Sequence[Item]) -> list[ItemResult[Item]]:
        self._writable(kind)
        if not items:
            return []

        def work() -> list[ItemResult[Item]]:
            results: list[ItemResult[Item] | None] = [None] * len(items)
            subs: list[Sub] = []
            index: list[int] = []
            plans = self._series_before_update(items) if kind is FolderKind.CALENDAR else {}
            for n, item in enumerate(items):
                if not item.id:
                    results[n] = ItemResult(
                        id=None, error=ItemNotFound("update without an id", severity=Severity.ITEM)
                    )
                    continue
                try:
                    body = self._body_for(kind, item, with_props=False)
                except MailboxError as exc:
                    results[n] = ItemResult(id=item.id, error=exc)
                    continue
                if item.id in plans and not plans[item.id][0]:
                    del body["recurrence"]  # the same pattern: sending it again would drop the exceptions
                subs.append(Sub("PATCH", self._item_path(kind, item.id), body, if_match(item.change_key)))
                index.append(n)
            extension_updates: list[int] = []
            for n, answer in zip(index, self._batch(subs), strict=True):
                original = items[n]
                if not answer.ok:
                    results[n] = ItemResult(
                        id=original.id, error=self._item_failure(answer, f"update {kind.value}")
                    )
                    continue
                value = copy.deepcopy(original)
                resource = answer.body if isinstance(answer.body, Mapping) else {}
                value.change_key = change_key_of(resource)
                if isinstance(value, ContactItem | AppointmentItem | TaskItem):
                    value.last_modified = parse_dt(resource.get("lastModifiedDateTime"))
                results[n] = ItemResult(id=value.id, value=value)
                if isinstance(original, TaskItem):
                    extension_updates.append(n)
            self._finish_tasks([(n, items[n].id) for n in extension_updates], items, results)
            self._occurrences_after_update(items, results, plans)
            return [r for r in results if r is not None]

        return self._call(f"update {kind.value}", work)

    def delete_many(
        self, kind: FolderKind, ids: Sequence[str], *, permanently: bool = False
    ) -> list[ItemResult[None]]:
        """DELETE (Exchange keeps it recoverable); ``permanently`` uses ``permanentDelete`` where Graph has it."""
        self._writable(kind)
        if not ids:
            return []

        def work() -> list[ItemResult[None]]:
            if permanently and kind in (FolderKind.CONTACTS, FolderKind.CALENDAR):
                subs = [Sub("POST", f"{self._item_path(kind, i)}/permanentDelete", {}) for i in ids]
            else:
                subs = [Sub("DELETE", self._item_path(kind, i)) for i in ids]
            out: list[ItemResult[None]] = []
            for item_id, answer in zip(ids, self._batch(subs), strict=True):
                if answer.ok:
                    out.append(ItemResult(id=item_id))
                else:
                    out.append(
                        ItemResult(id=item_id, error=self._item_failure(answer, f"delete {kind.value}"))
                    )
            return out

        return self._call(f"delete {kind.value}", work)

    # -- named properties ----------------------------------------------------------------------------
    def set_named_props(
        self, kind: FolderKind, updates: Sequence[tuple[str, NamedProps]]
    ) -> list[ItemResult[str]]:
        self._readable(kind)
        if not updates:
            return []

        def work() -> list[ItemResult[str]]:
            if kind is FolderKind.TASKS:
                stamped = self._stamp_tasks([(i, task_extension(None, p)) for i, p in updates])
                return [
                    ItemResult(id=i, error=error) if error else ItemResult(id=i, value=key or "")
                    for (i, _), (error, key) in zip(updates, stamped, strict=True)
                ]
            subs = [
                Sub("PATCH", self._item_path(kind, i), {"singleValueExtendedProperties": props_out(p)})
                for i, p in updates
            ]
            out: list[ItemResult[str]] = []
            for (item_id, _), answer in zip(updates, self._batch(subs), strict=True):
                if answer.ok:
                    key = change_key_of(answer.body) if isinstance(answer.body, Mapping) else None
                    out.append(ItemResult(id=item_id, value=key or ""))
                else:
                    out.append(
                        ItemResult(id=item_id, error=self._item_failure(answer, f"stamp {kind.value}"))
                    )
            return out

        return self._call(f"stamp {kind.value}", work)

    def _collection(self, kind: FolderKind) -> str:
        return (
            f"me/mailFolders/{MAIL_FOLDERS[kind]}/messages" if kind in MAIL_FOLDERS else self._item_path(kind)
        )

    def find_by_crmid(self, kind: FolderKind, crmid: str) -> list[Item]:
        self._readable(kind)

        def work() -> list[Item]:
            if kind is FolderKind.TASKS:
                # todoTask has no extended properties to filter on: scan the list's open extensions.
                ids = [i for i, props in self._scan(kind) if props.crmid == crmid]
            else:
                literal = crmid.replace("'", "''")
                params = {
                    "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{NAMED_IDS['crmid']}' and ep/value eq '{literal}')",
                    "$select": "id",
                }
                ids = [
                    str(r["id"])
                    for r in self._session.iter_rows(self._collection(kind), params=params, page_size=100)
                ]
            if not ids:
                return []
            return [r.value for r in self.get_many(kind, ids) if r.value is not None]

        return self._call(f"find {kind.value}", work)

    def _scan(self, kind: FolderKind) -> list[tuple[str, NamedProps]]:
        params = {"$select": "id", "$expand": "extensions" if kind is FolderKind.TASKS else _EXT_EXPAND}
        out: list[tuple[str, NamedProps]] = []
        for row in self._session.iter_rows(self._collection(kind), params=params, page_size=200):
            props = props_from(row)
            if props.crmid:
                out.append((str(row["id"]), props))
        return out

    def scan_links(self, kind: FolderKind) -> Iterator[tuple[str, NamedProps]]:
        self._readable(kind)
        yield from self._call(f"scan {kind.value}", lambda: self._scan(kind))

    # -- the root folder -------------------------------------------------------------------------
    def root_sync_org(self) -> str | None:
        def work() -> str | None:
            doc = self._get(
                "me/mailFolders/msgfolderroot",
                params={
                    "$select": "id",
                    "$expand": f"singleValueExtendedProperties($filter=id eq '{NAMED_IDS['crmorgid']}')",
                },
            )
            return ext_values(doc).get("crmorgid") or None

        return self._call("read root folder", work)

    def set_root_sync_org(self, org_id: str | None) -> None:
        body = {"singleValueExtendedProperties": [{"id": NAMED_IDS["crmorgid"], "value": org_id or ""}]}
        self._call(
            "stamp root folder",
            lambda: self._session.request("PATCH", "me/mailFolders/msgfolderroot", json=body),
        )

    # -- sending ---------------------------------------------------------------------------------
    def send(self, message: OutgoingMessage) -> str:
        """sendMail with our own MIME; Bcc goes in as a header (Exchange strips it from what it sends)."""
        domain = self.settings.address.rsplit("@", 1)[-1] or "d365sync.invalid"
        mime = build_mime(message, domain=domain)
        if message.bcc:
            mime["Bcc"] = ", ".join(formataddr(p) for p in message.bcc)
        message_id = str(mime["Message-ID"])
        payload = base64.b64encode(render(mime))

        def work() -> str:
            self._session.request(
                "POST", "me/sendMail", data=payload, headers={"Content-Type": "text/plain"}, idempotent=False
            )
            return message_id

        return self._call("send", work)


def _server_time(value: str | None) -> str:
    """The server's clock from a Date header, as Graph writes timestamps (or now, if absent)."""
    moment: datetime | None = None
    if value:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            moment = None
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
