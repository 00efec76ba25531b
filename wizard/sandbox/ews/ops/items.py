"""Writing items: CreateItem, UpdateItem (occurrences too), SendItem, DeleteItem, MoveItem, CopyItem,
with delivery to sandbox inboxes and meeting invitations."""

from __future__ import annotations

import copy
import hashlib

from wizard.sandbox.ews import instants
from wizard.sandbox.ews._soap import (
    Element,
    addresses,
    el,
    local,
    m,
    mailbox_elem,
    parse_dt,
    set_child,
    sub,
    t,
)
from wizard.sandbox.ews.errors import EwsError
from wizard.sandbox.ews.item_fields import (
    apply_update,
    conversation_fields,
    refresh_computed,
    validate_recurrence,
)
from wizard.sandbox.ews.mime import apply_mime
from wizard.sandbox.ews.occurrences import (
    EXCEPTIONS,
    Occurrence,
    delete_occurrence,
    occurrence_element,
    occurrence_id,
    reset_exceptions,
    store_exception,
)
from wizard.sandbox.ews.ops.base import Mailbox, OperationsBase
from wizard.sandbox.ews.restrictions import parse_path
from wizard.sandbox.ews.store import StoredFolder, StoredItem, changekey_seq


class ItemOperations(OperationsBase):
    """CreateItem, UpdateItem, SendItem, DeleteItem, MoveItem, CopyItem."""

    # -- writing items --------------------------------------------------------------------------------------
    def op_CreateItem(self, caller: Mailbox, request: Element) -> list[Element]:
        disposition = request.get("MessageDisposition")
        invitations = request.get("SendMeetingInvitations")
        saved = request.find(m("SavedItemFolderId"))

        def create(source: Element) -> Element | None:
            tag = local(source.tag)
            elem = copy.deepcopy(source)
            if tag == "Message" and not disposition:
                raise EwsError(
                    "ErrorMessageDispositionRequired", "MessageDisposition is required for messages."
                )
            if tag == "CalendarItem" and not invitations:
                raise EwsError("ErrorSendMeetingInvitationsRequired", "SendMeetingInvitations is required.")
            if saved is not None:
                folder = self._folder(caller, saved[0])
            elif tag == "Message":
                folder = self._dist(caller, "sentitems" if disposition == "SendAndSaveCopy" else "drafts")
            else:
                folder = self._dist(caller, DEFAULT_FOLDER_FOR.get(tag, "drafts"))
            sending = tag == "Message" and disposition in ("SendOnly", "SendAndSaveCopy")
            self._prepare(caller, elem, tag, sending=sending)
            if sending:
                self._deliver(caller, elem)
                if disposition == "SendOnly":
                    return el(m("Items"))
            if tag == "CalendarItem" and invitations in ("SendOnlyToAll", "SendToAllAndSaveCopy"):
                self._invite(caller, elem)
            item = self.store.insert(caller.address, folder.id, elem)
            holder = el(m("Items"))
            holder.append(_id_echo(item))
            return holder

        return self._per_item("CreateItem", list(request.find(m("Items"))), create)

    def _prepare(self, caller: Mailbox, elem: Element, tag: str, *, sending: bool) -> None:
        """Set the fields the server owns on a new item."""
        now = instants.now()
        for owned in ("ItemId", "ParentFolderId", "DateTimeCreated", "LastModifiedTime", "Size"):
            for old in elem.findall(t(owned)):
                elem.remove(old)
        if elem.find(t("ItemClass")) is None:
            set_child(elem, "ItemClass", DEFAULT_ITEM_CLASS.get(tag, "IPM.Note"))
        if tag == "Message":
            apply_mime(elem)
            if sending:
                for name in ("From", "Sender"):
                    for old in elem.findall(t(name)):
                        elem.remove(old)
                    elem.append(mailbox_elem(t(name), caller.display_name, caller.address))
            if elem.find(t("IsRead")) is None:
                set_child(elem, "IsRead", True)
            set_child(elem, "IsDraft", not sending and elem.find(t("MimeContent")) is None)
            if elem.find(t("InternetMessageId")) is None:
                domain = caller.address.split("@")[-1]
                digest = hashlib.sha256(f"{caller.address}|{now}|{id(elem)}".encode()).hexdigest()[:24]
                set_child(elem, "InternetMessageId", f"<{digest.upper()}@{domain}>")
            if sending or elem.find(t("DateTimeSent")) is None:
                set_child(elem, "DateTimeSent", now)
            conversation_fields(elem)
        if elem.find(t("DateTimeReceived")) is None:
            set_child(elem, "DateTimeReceived", now)
        if tag == "CalendarItem":
            validate_recurrence(elem)
            if elem.find(t("UID")) is None:
                set_child(
                    elem,
                    "UID",
                    hashlib.sha256(f"{caller.address}|{now}|{id(elem)}".encode()).hexdigest().upper(),
                )
            if elem.find(t("Organizer")) is None:
                elem.append(mailbox_elem(t("Organizer"), caller.display_name, caller.address))
            set_child(elem, "MyResponseType", "Organizer")
            if elem.find(t("IsCancelled")) is None:
                set_child(elem, "IsCancelled", False)
            if elem.find(t("LegacyFreeBusyStatus")) is None:
                set_child(elem, "LegacyFreeBusyStatus", "Busy")
        if tag == "Task":
            validate_recurrence(elem)
            if elem.find(t("Status")) is None:
                set_child(elem, "Status", "NotStarted")
            if elem.find(t("PercentComplete")) is None:
                set_child(elem, "PercentComplete", 0)
        atts = elem.find(t("Attachments"))
        if atts is not None:
            for att in atts:
                self._stamp_attachment(caller, att)
        refresh_computed(elem, tag)

    def _deliver(self, caller: Mailbox, elem: Element) -> None:
        """Put a received copy into the Inbox of every recipient that is a sandbox mailbox."""
        seen: set[str] = set()
        for name in ("ToRecipients", "CcRecipients", "BccRecipients"):
            for address in addresses(elem.find(t(name))):
                target = self.resolve_mailbox(address)
                if target is None or target.address in seen:
                    continue
                seen.add(target.address)
                inbox = self.store.folder(target.address, "inbox")
                if inbox is None:
                    continue
                copy_elem = copy.deepcopy(elem)
                for strip in (
                    "BccRecipients",
                    "ExtendedProperty",
                    "ItemId",
                    "ParentFolderId",
                    "DateTimeReceived",
                ):
                    for old in copy_elem.findall(t(strip)):
                        copy_elem.remove(old)
                set_child(copy_elem, "IsRead", False)
                set_child(copy_elem, "IsDraft", False)
                set_child(copy_elem, "DateTimeReceived", instants.now())
                atts = copy_elem.find(t("Attachments"))
                if atts is not None:
                    for att in atts:
                        self._stamp_attachment(Mailbox(target.address, target.display_name), att)
                refresh_computed(copy_elem, "Message")
                self.store.insert(target.address, inbox.id, copy_elem)

    def _invite(self, caller: Mailbox, elem: Element, tag: str = "MeetingRequest") -> None:
        """A meeting request (or cancellation) in each attendee's Inbox; counted in ``invitations_sent``."""
        attendee_addrs: list[str] = []
        for name in ("RequiredAttendees", "OptionalAttendees"):
            attendee_addrs.extend(addresses(elem.find(t(name))))
        for address in dict.fromkeys(attendee_addrs):
            target = self.resolve_mailbox(address)
            inbox = self.store.folder(target.address, "inbox") if target else None
            if target is None or inbox is None:
                continue
            request = el(t(tag))
            for name in ("Subject", "Body", "Start", "End", "Location", "UID", "Recurrence", "IsAllDayEvent"):
                found = elem.find(t(name))
                if found is not None:
                    request.append(copy.deepcopy(found))
            set_child(
                request,
                "ItemClass",
                "IPM.Schedule.Meeting.Canceled"
                if tag == "MeetingCancellation"
                else "IPM.Schedule.Meeting.Request",
            )
            self.invitations_sent += 1
            request.append(mailbox_elem(t("From"), caller.display_name, caller.address))
            request.append(mailbox_elem(t("Organizer"), caller.display_name, caller.address))
            set_child(request, "IsRead", False)
            set_child(request, "DateTimeReceived", instants.now())
            refresh_computed(request, tag)
            self.store.insert(target.address, inbox.id, request)

    def op_UpdateItem(self, caller: Mailbox, request: Element) -> list[Element]:
        resolution = request.get("ConflictResolution", "AutoResolve")
        disposition = request.get("MessageDisposition")
        invitations = request.get("SendMeetingInvitationsOrCancellations")

        def update(change: Element) -> Element:
            ref = change[0]
            item, occ = self._target(caller, ref)
            if occ is not None:
                return self._update_occurrence(caller, item, occ, change, invitations)
            working = copy.deepcopy(item.element)
            changed: set[str] = set()
            for upd in change.find(t("Updates")):
                changed.add(apply_update(working, upd))
            if item.tag == "CalendarItem" and "Recurrence" in changed:
                reset_exceptions(working)  # setting the pattern drops exceptions and deleted occurrences
            given = ref.get("ChangeKey")
            if given and given != item.changekey and resolution != "AlwaysOverwrite":
                since = changekey_seq(given)
                if since is None:
                    raise EwsError("ErrorInvalidChangeKey", "The change key is invalid.")
                if resolution == "NeverOverwrite" or any(
                    item.field_seqs.get(k, item.created_seq) > since for k in changed
                ):
                    raise EwsError(
                        "ErrorIrresolvableConflict",
                        "The send or update operation could not be performed because the change key passed "
                        "in the request does not match the current change key for the item.",
                    )
            if item.tag in ("CalendarItem", "Task"):
                validate_recurrence(working)
            atts = working.find(t("Attachments"))
            if atts is not None:
                for att in atts:
                    if att.find(t("AttachmentId")) is None:
                        self._stamp_attachment(caller, att)
            refresh_computed(working, item.tag)
            item.element = working
            self.store.save(item, changed, read_flag_only=changed == {"IsRead"})
            if item.tag == "CalendarItem" and invitations in SENDING_INVITATIONS:
                self._invite(caller, working)
            if item.tag == "Message" and disposition in ("SendOnly", "SendAndSaveCopy"):
                self._send(caller, item, save=disposition == "SendAndSaveCopy", saved=None)
            holder = el(m("Items"))
            holder.append(_id_echo(item))
            return holder

        out = self._per_item("UpdateItem", list(request.find(m("ItemChanges"))), update)
        for msg in out:
            if msg.get("ResponseClass") == "Success":
                sub(sub(msg, "m:ConflictResults"), "t:Count", "0")
        return out

    def _update_occurrence(
        self,
        caller: Mailbox,
        master: StoredItem,
        occ: Occurrence,
        change: Element,
        invitations: str | None,
    ) -> Element:
        """Updating one occurrence makes (or changes) an exception; the master gets a new ChangeKey."""
        working = occurrence_element(master.element, master.id, master.changekey, occ)
        for upd in change.find(t("Updates")):
            name = parse_path(upd[0]).name
            if name in ("Recurrence", "ItemId"):
                raise EwsError("ErrorInvalidPropertySet", f"{name} cannot be set on an occurrence.")
            apply_update(working, upd)
        start, end = parse_dt(working.findtext(t("Start"))), parse_dt(working.findtext(t("End")))
        if start is not None and end is not None and end < start:
            raise EwsError("ErrorCalendarEndDateIsEarlierThanStartDate", "EndDate is earlier than StartDate")
        refresh_computed(working, "CalendarItem")
        set_child(working, "CalendarItemType", "Exception")
        elem = copy.deepcopy(master.element)
        store_exception(elem, master.id, master.changekey, occ, working)
        master.element = elem
        self.store.save(master, {"ModifiedOccurrences"})
        if invitations in SENDING_INVITATIONS:
            self._invite(caller, working)
        holder = el(m("Items"))
        echo = sub(holder, "t:CalendarItem")
        sub(
            echo,
            "t:ItemId",
            attrs={"Id": occurrence_id(master.id, occ.index), "ChangeKey": master.changekey},
        )
        return holder

    def _cancel(self, caller: Mailbox, elem: Element) -> None:
        """A meeting cancellation in each sandbox attendee's Inbox (a delete that does not say SendToNone)."""
        if elem.find(t("RequiredAttendees")) is None and elem.find(t("OptionalAttendees")) is None:
            return
        request = copy.deepcopy(elem)
        for name in ("ItemId", "ParentFolderId", "ExtendedProperty", EXCEPTIONS):
            for old in request.findall(t(name)):
                request.remove(old)
        self._invite(caller, request, tag="MeetingCancellation")

    def _send(self, caller: Mailbox, item: StoredItem, *, save: bool, saved: StoredFolder | None) -> None:
        elem = item.element
        for name in ("From", "Sender"):
            for old in elem.findall(t(name)):
                elem.remove(old)
            elem.append(mailbox_elem(t(name), caller.display_name, caller.address))
        set_child(elem, "IsDraft", False)
        set_child(elem, "DateTimeSent", instants.now())
        self._deliver(caller, elem)
        if save:
            target = saved or self._dist(caller, "sentitems")
            self.store.save(item, {"IsDraft", "From", "Sender", "DateTimeSent"})
            if target.id != item.folder_id:
                self.store.move(item, target.id)
        else:
            self.store.delete(item)

    def op_SendItem(self, caller: Mailbox, request: Element) -> list[Element]:
        save = request.get("SaveItemToFolder", "true") == "true"
        saved_ref = request.find(m("SavedItemFolderId"))

        def send(ref: Element) -> None:
            item = self._item(caller, ref)
            if item.tag != "Message":
                raise EwsError("ErrorInvalidItemForOperationSendItem", "Only messages can be sent.")
            if ref.get("ChangeKey") and ref.get("ChangeKey") != item.changekey:
                raise EwsError("ErrorStaleObject", "The item has been changed since it was read.")
            saved = self._folder(caller, saved_ref[0]) if saved_ref is not None else None
            self._send(caller, item, save=save, saved=saved)
            return None

        return self._per_item("SendItem", list(request.find(m("ItemIds"))), send)

    def op_DeleteItem(self, caller: Mailbox, request: Element) -> list[Element]:
        delete_type = request.get("DeleteType", "HardDelete")
        cancellations = request.get("SendMeetingCancellations")

        def delete(ref: Element) -> None:
            item, occ = self._target(caller, ref)
            if item.tag == "CalendarItem" and cancellations in SENDING_INVITATIONS:
                shown = (
                    occurrence_element(item.element, item.id, item.changekey, occ) if occ else item.element
                )
                self._cancel(caller, shown)
            if occ is not None:  # one occurrence: the master records it as deleted
                elem = copy.deepcopy(item.element)
                delete_occurrence(elem, item.id, item.changekey, occ)
                item.element = elem
                self.store.save(item, {"DeletedOccurrences"})
                return None
            if delete_type == "MoveToDeletedItems":
                trash = self._dist(caller, "deleteditems")
                if item.folder_id != trash.id:
                    self.store.move(item, trash.id)
                    return None
                delete_kind = "SoftDelete"
            else:
                delete_kind = delete_type
            if delete_kind == "SoftDelete":
                self.store.move(item, self._dist(caller, "recoverableitemsdeletions").id)
            else:
                self.store.delete(item)
            return None

        return self._per_item("DeleteItem", list(request.find(m("ItemIds"))), delete)

    def op_MoveItem(self, caller: Mailbox, request: Element) -> list[Element]:
        return self._move_or_copy("MoveItem", caller, request, move=True)

    def op_CopyItem(self, caller: Mailbox, request: Element) -> list[Element]:
        return self._move_or_copy("CopyItem", caller, request, move=False)

    def _move_or_copy(self, op: str, caller: Mailbox, request: Element, *, move: bool) -> list[Element]:
        to_ref = request.find(m("ToFolderId"))

        def work(ref: Element) -> Element:
            target = self._folder(caller, to_ref[0])
            item = self._item(caller, ref)
            if move:
                result = self.store.move(item, target.id)
            else:
                result = self.store.insert(caller.address, target.id, copy.deepcopy(item.element))
            holder = el(m("Items"))
            holder.append(_id_echo(result))
            return holder

        return self._per_item(op, list(request.find(m("ItemIds"))), work)


DEFAULT_ITEM_CLASS = {
    "Message": "IPM.Note",
    "CalendarItem": "IPM.Appointment",
    "Contact": "IPM.Contact",
    "Task": "IPM.Task",
    "DistributionList": "IPM.DistList",
    "PostItem": "IPM.Post",
    "MeetingRequest": "IPM.Schedule.Meeting.Request",
}

DEFAULT_FOLDER_FOR = {
    "CalendarItem": "calendar",
    "Contact": "contacts",
    "DistributionList": "contacts",
    "Task": "tasks",
}


SENDING_INVITATIONS = {
    "SendOnlyToAll",
    "SendToAllAndSaveCopy",
    "SendOnlyToChanged",
    "SendToChangedAndSaveCopy",
}


def _id_echo(item: StoredItem) -> Element:
    echo = el(t(item.tag))
    sub(echo, "t:ItemId", attrs={"Id": item.id, "ChangeKey": item.changekey})
    atts = item.element.find(t("Attachments"))
    if atts is not None:
        holder = sub(echo, "t:Attachments")
        for att in atts:
            wrapper = sub(holder, f"t:{local(att.tag)}")
            wrapper.append(copy.deepcopy(att.find(t("AttachmentId"))))
    return echo
