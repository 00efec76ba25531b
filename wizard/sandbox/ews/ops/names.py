"""ConvertId and ResolveNames."""

from __future__ import annotations

from wizard.sandbox.ews._soap import Element, el, m, mailbox_elem, sub, t
from wizard.sandbox.ews.errors import EwsError, response_message
from wizard.sandbox.ews.ops.base import Mailbox, OperationsBase


class NameOperations(OperationsBase):
    """ConvertId, ResolveNames."""

    # -- version probing and names -------------------------------------------------------------------------
    def op_ConvertId(self, caller: Mailbox, request: Element) -> list[Element]:
        def convert(alt: Element) -> Element:
            item_id = alt.get("Id") or ""
            if self.store.get(item_id) is None and self.store.folder_by_id(item_id) is None:
                raise EwsError("ErrorInvalidIdMalformed", "Id is malformed.")
            wrapper = el(m("AlternateId"))
            wrapper.append(
                el(
                    t("AlternateId"),
                    attrs={
                        "Format": request.get("DestinationFormat", "EwsId"),
                        "Id": item_id,
                        "Mailbox": caller.address,
                    },
                )
            )
            return wrapper[0]

        return self._per_item("ConvertId", list(request.find(m("SourceIds"))), convert)

    def op_ResolveNames(self, caller: Mailbox, request: Element) -> list[Element]:
        wanted = (request.findtext(m("UnresolvedEntry")) or "").strip().lower().removeprefix("smtp:")
        found = self.resolve_mailbox(wanted) if "@" in wanted else None
        if found is None:
            return [
                response_message(
                    "ResolveNames", EwsError("ErrorNameResolutionNoResults", "No results were found.")
                )
            ]
        msg = response_message("ResolveNames")
        res_set = sub(
            msg, "m:ResolutionSet", attrs={"TotalItemsInView": "1", "IncludesLastItemInRange": "true"}
        )
        resolution = sub(res_set, "t:Resolution")
        box = mailbox_elem(t("Mailbox"), found.display_name, found.address)[0]
        resolution.append(box)
        return [msg]
