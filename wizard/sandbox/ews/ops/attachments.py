"""CreateAttachment, GetAttachment and DeleteAttachment."""

from __future__ import annotations

import copy

from wizard.sandbox.ews._soap import Element, el, m, sub, t
from wizard.sandbox.ews.errors import EwsError, response_message
from wizard.sandbox.ews.item_fields import refresh_computed
from wizard.sandbox.ews.ops.base import Mailbox, OperationsBase
from wizard.sandbox.ews.store import StoredItem


class AttachmentOperations(OperationsBase):
    """CreateAttachment, GetAttachment, DeleteAttachment."""

    # -- attachments ----------------------------------------------------------------------------------
    def op_CreateAttachment(self, caller: Mailbox, request: Element) -> list[Element]:
        try:
            item = self._item(caller, request.find(m("ParentItemId")))
        except EwsError as exc:
            return [response_message("CreateAttachment", exc)]
        out = []
        for source in request.find(m("Attachments")):
            att = copy.deepcopy(source)
            self._stamp_attachment(caller, att)
            holder = item.element.find(t("Attachments"))
            if holder is None:
                holder = sub(item.element, "t:Attachments")
            holder.append(att)
            refresh_computed(item.element, item.tag)
            self.store.save(item, {"Attachments"})
            msg = response_message("CreateAttachment")
            echo = el(att.tag)
            sub(
                echo,
                "t:AttachmentId",
                attrs={
                    "Id": att.find(t("AttachmentId")).get("Id"),
                    "RootItemId": item.id,
                    "RootItemChangeKey": item.changekey,
                },
            )
            sub(msg, "m:Attachments").append(echo)
            out.append(msg)
        return out

    def _find_attachment(self, caller: Mailbox, att_id: str) -> tuple[StoredItem, Element]:
        for item in self.store.items_of(caller.address):
            holder = item.element.find(t("Attachments"))
            if holder is None:
                continue
            for att in holder:
                ident = att.find(t("AttachmentId"))
                if ident is not None and ident.get("Id") == att_id:
                    return item, att
        raise EwsError("ErrorInvalidAttachmentId", "The attachment id is invalid.")

    def op_GetAttachment(self, caller: Mailbox, request: Element) -> list[Element]:
        def get(ref: Element) -> Element:
            _item, att = self._find_attachment(caller, ref.get("Id") or "")
            holder = el(m("Attachments"))
            holder.append(copy.deepcopy(att))
            return holder

        return self._per_item("GetAttachment", list(request.find(m("AttachmentIds"))), get)

    def op_DeleteAttachment(self, caller: Mailbox, request: Element) -> list[Element]:
        def delete(ref: Element) -> Element:
            item, att = self._find_attachment(caller, ref.get("Id") or "")
            att.getparent().remove(att)
            holder = item.element.find(t("Attachments"))
            if holder is not None and len(holder) == 0:
                item.element.remove(holder)
            refresh_computed(item.element, item.tag)
            self.store.save(item, {"Attachments"})
            return el(m("RootItemId"), attrs={"RootItemId": item.id, "RootItemChangeKey": item.changekey})

        return self._per_item("DeleteAttachment", list(request.find(m("AttachmentIds"))), delete)
