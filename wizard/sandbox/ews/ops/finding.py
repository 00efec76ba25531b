"""FindItem (restrictions, sort orders, paging, CalendarView expansion) and GetItem."""

from __future__ import annotations

import datetime as dt
from typing import Any

from wizard.sandbox.ews._soap import Element, el, m, parse_dt, t
from wizard.sandbox.ews.errors import EwsError, response_message
from wizard.sandbox.ews.instants import BadDateTime, current, parse_instant
from wizard.sandbox.ews.occurrences import occurrences
from wizard.sandbox.ews.ops.base import Mailbox, OperationsBase, paged
from wizard.sandbox.ews.rendering import Shape, occurrence_item, render_item
from wizard.sandbox.ews.restrictions import PropPath, matches, parse_path, sort_value, values_of
from wizard.sandbox.ews.store import StoredItem


class FindOperations(OperationsBase):
    """FindItem, GetItem."""

    # -- finding and reading items -------------------------------------------------------------------------
    def op_FindItem(self, caller: Mailbox, request: Element) -> list[Element]:
        shape = Shape.parse(request.find(m("ItemShape")))
        restriction = request.find(m("Restriction"))
        sort = request.find(m("SortOrder"))
        view = request.find(m("IndexedPageItemView"))
        calendar = request.find(m("CalendarView"))
        if request.get("Traversal", "Shallow") not in ("Shallow", "SoftDeleted", "Associated"):
            return [response_message("FindItem", EwsError("ErrorInvalidRequest", "Traversal is not valid."))]

        def find(ref: Element) -> Element:
            folder = self._folder(caller, ref)
            traversal = request.get("Traversal", "Shallow")
            items: list[StoredItem] = []
            if traversal == "Shallow":
                items = self.store.items_in(folder.id)
            if restriction is not None:
                items = [i for i in items if matches(i.element, restriction)]
            if calendar is not None:
                start, end = _view_bound(calendar.get("StartDate")), _view_bound(calendar.get("EndDate"))
                # a CalendarView lists single items and the occurrences of masters, never a master itself
                expanded: list[StoredItem] = []
                for i in items:
                    if i.tag == "CalendarItem" and i.element.find(t("Recurrence")) is not None:
                        expanded.extend(
                            occurrence_item(i, occ)
                            for occ in occurrences(i.element, until=end)
                            if not occ.deleted
                            and (end is None or occ.start < end)
                            and (start is None or occ.end > start)
                        )
                    elif _overlaps(i.element, start, end):
                        expanded.append(i)
                items = expanded
                items.sort(key=lambda i: i.element.findtext(t("Start")) or "")
                limit = int(calendar.get("MaxEntriesReturned") or 0)
                if limit and len(items) > limit:
                    raise EwsError(
                        "ErrorExceededFindCountLimit", "The number of calendar entries exceeds the limit."
                    )
            if sort is not None:
                for order in reversed(list(sort)):
                    path = parse_path(order[0])

                    def sort_key(item: StoredItem, path: PropPath = path) -> tuple[int, Any]:
                        return sort_value(values_of(item.element, path))

                    items.sort(key=sort_key, reverse=order.get("Order", "Ascending") == "Descending")
            return paged(items, view, lambda i: render_item(i, shape, self.store), "Items")

        return self._per_item("FindItem", list(request.find(m("ParentFolderIds"))), find)

    def op_GetItem(self, caller: Mailbox, request: Element) -> list[Element]:
        shape = Shape.parse(request.find(m("ItemShape")))

        def get(ref: Element) -> Element:
            holder = el(m("Items"))
            item, occ = self._target(caller, ref)
            shown = occurrence_item(item, occ) if occ is not None else item
            holder.append(render_item(shown, shape, self.store))
            return holder

        return self._per_item("GetItem", list(request.find(m("ItemIds"))), get)


def _view_bound(text: str | None) -> dt.datetime | None:
    """A CalendarView bound: its own offset, else the request's TimeZoneContext (as every dateTime)."""
    if not text:
        return None
    try:
        return parse_instant(text, current().zone)
    except BadDateTime:
        raise EwsError("ErrorSchemaValidation", f"'{text}' is not a dateTime.") from None


def _overlaps(elem: Element, start: dt.datetime | None, end: dt.datetime | None) -> bool:
    item_start = parse_dt(elem.findtext(t("Start")))
    item_end = parse_dt(elem.findtext(t("End"))) or item_start
    if item_start is None or item_end is None:
        return False
    return (end is None or item_start < end) and (start is None or item_end > start)
