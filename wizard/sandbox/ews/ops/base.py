"""What every EWS operation family shares: the caller, the lookups of folders, items and occurrences, the
per-item ResponseMessages, paging, and the dispatch of a SOAP body element to its ``op_<Name>`` method."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wizard.sandbox.ews import instants
from wizard.sandbox.ews._soap import MNS, TNS, Element, el, local, m, set_child, sub, t
from wizard.sandbox.ews.errors import EwsError, response_message
from wizard.sandbox.ews.occurrences import Occurrence, SeriesError, occurrence_at, parse_occurrence_id
from wizard.sandbox.ews.store import MailboxStore, StoredFolder, StoredItem


@dataclass(frozen=True)
class Mailbox:
    """Who is calling: the authenticated user's mailbox."""

    address: str  # primary SMTP, lower case
    display_name: str
    aliases: frozenset[str] = frozenset()


class OperationsBase:
    """The store, the lookups every operation family shares, and the dispatch to ``op_<Name>`` methods."""

    def __init__(self, store: MailboxStore, resolve_mailbox: Callable[[str], Mailbox | None]) -> None:
        self.store = store
        self.resolve_mailbox = resolve_mailbox  # address -> sandbox mailbox (for delivery and ResolveNames)
        #: meeting requests and cancellations put into sandbox inboxes (tests check SendToNone with it)
        self.invitations_sent = 0

    def handle(self, caller: Mailbox, request: Element) -> Element:
        op = local(request.tag)
        method = getattr(self, f"op_{op}", None)
        if method is None:
            raise EwsError("ErrorInvalidRequest", f"The operation {op} is not supported by the sandbox.")
        response = el(
            m(f"{op}Response"),
            nsmap={
                "m": MNS,
                "t": TNS,
            },
        )
        messages = sub(response, "m:ResponseMessages")
        with self.store.transaction():
            for msg in method(caller, request):
                messages.append(msg)
        return response

    # -- lookups ----------------------------------------------------------------------------------------
    def _folder(self, caller: Mailbox, ref: Element) -> StoredFolder:
        name = local(ref.tag)
        if name == "DistinguishedFolderId":
            owner = ref.findtext(f"{t('Mailbox')}/{t('EmailAddress')}")
            mailbox = caller.address
            if owner and owner.strip().lower() not in caller.aliases | {caller.address}:
                other = self.resolve_mailbox(owner)
                if other is None:
                    raise EwsError("ErrorNonExistentMailbox", f"No mailbox with such guid. ({owner})")
                raise EwsError("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
            folder = self.store.folder(mailbox, ref.get("Id") or "")
            if folder is None:
                raise EwsError("ErrorFolderNotFound", "The specified folder could not be found in the store.")
            return folder
        if name == "FolderId":
            folder = self.store.folder_by_id(ref.get("Id") or "")
            if folder is None:
                raise EwsError(
                    "ErrorInvalidIdMalformed" if not looks_like_id(ref.get("Id")) else "ErrorFolderNotFound",
                    "The specified folder could not be found in the store.",
                )
            if folder.mailbox != caller.address:
                raise EwsError("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
            return folder
        raise EwsError("ErrorInvalidRequest", f"Unsupported folder id {name}.")

    def _item(self, caller: Mailbox, ref: Element) -> StoredItem:
        if local(ref.tag) not in ("ItemId", "ParentItemId"):
            raise EwsError("ErrorInvalidOperation", f"{local(ref.tag)} is not supported by the sandbox.")
        item_id = ref.get("Id") or ""
        item = self.store.get(item_id)
        if item is None:
            if not looks_like_id(item_id):
                raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.")
            raise EwsError("ErrorItemNotFound", "The specified object was not found in the store.")
        if item.mailbox != caller.address:
            raise EwsError("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        return item

    def _target(self, caller: Mailbox, ref: Element) -> tuple[StoredItem, Occurrence | None]:
        """An item, or (master, occurrence) for an occurrence's ItemId / OccurrenceItemId.

        A ``RecurringMasterItemId`` names the master of the occurrence it carries.
        """
        name = local(ref.tag)
        try:
            if name == "OccurrenceItemId":
                master = self._item(caller, el(t("ItemId"), attrs={"Id": ref.get("RecurringMasterId") or ""}))
                index = int(ref.get("InstanceIndex") or "0")
                return master, occurrence_at(master.element, index)
            if name == "RecurringMasterItemId":
                parsed = parse_occurrence_id(ref.get("OccurrenceId") or "")
                master_id = parsed[0] if parsed else ref.get("OccurrenceId") or ""
                return self._item(caller, el(t("ItemId"), attrs={"Id": master_id})), None
            if name == "ItemId" and self.store.get(ref.get("Id") or "") is None:
                parsed = parse_occurrence_id(ref.get("Id") or "")
                if parsed is not None:
                    master = self._item(caller, el(t("ItemId"), attrs={"Id": parsed[0]}))
                    return master, occurrence_at(master.element, parsed[1])
        except SeriesError as exc:
            raise EwsError(exc.code, exc.text) from None
        except ValueError:
            raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.") from None
        return self._item(caller, ref), None

    def _per_item(
        self, op: str, refs: list[Element], work: Callable[[Element], Element | None]
    ) -> list[Element]:
        out = []
        for ref in refs:
            try:
                payload = work(ref)
            except EwsError as exc:
                out.append(response_message(op, exc))
                continue
            msg = response_message(op)
            if payload is not None:
                msg.append(payload)
            out.append(msg)
        return out

    def _dist(self, caller: Mailbox, name: str) -> StoredFolder:
        folder = self.store.folder(caller.address, name)
        if folder is None:
            raise EwsError("ErrorFolderNotFound", "The specified folder could not be found in the store.")
        return folder

    def _stamp_attachment(self, caller: Mailbox, att: Element) -> None:
        for old in att.findall(t("AttachmentId")):
            att.remove(old)
        att.insert(0, el(t("AttachmentId"), attrs={"Id": self.store.new_id(caller.address, b"A")}))
        content = att.findtext(t("Content")) or ""
        if att.find(t("Size")) is None:
            set_child(att, "Size", len(base64.b64decode(content)) if content else 0)
        if att.find(t("LastModifiedTime")) is None:
            set_child(att, "LastModifiedTime", instants.now())
        if att.find(t("IsInline")) is None:
            set_child(att, "IsInline", False)


def looks_like_id(value: str | None) -> bool:
    if not value:
        return False
    try:
        return len(base64.b64decode(value, validate=True)) >= 16
    except ValueError:
        return False


def paged(rows: list[Any], view: Element | None, render: Callable[[Any], Element], container: str) -> Element:
    total = len(rows)
    offset = int(view.get("Offset", "0")) if view is not None else 0
    limit = int(view.get("MaxEntriesReturned", "0") or 0) if view is not None else 0
    if view is not None and view.get("BasePoint") == "End":
        offset = max(total - offset - (limit or total), 0)
    page = rows[offset : offset + limit] if limit else rows[offset:]
    end = offset + len(page)
    root = el(
        m("RootFolder"),
        attrs={
            "IndexedPagingOffset": str(end),
            "TotalItemsInView": str(total),
            "IncludesLastItemInRange": "true" if end >= total else "false",
        },
    )
    holder = sub(root, f"t:{container}")
    for row in page:
        holder.append(render(row))
    return root
