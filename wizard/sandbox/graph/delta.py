"""Delta rounds: ``@odata.nextLink`` / ``@odata.deltaLink``, ``@removed`` rows and 410 ``SyncStateNotFound`` for
messages, contacts, To Do tasks and calendarView (with instances)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from wizard.sandbox.graph.events import EventRequests
from wizard.sandbox.graph.filters import DELTA_FILTER, compile_filter, filter_view, invalid_filter
from wizard.sandbox.graph.protocol import API, GraphError, Reply, Request, odata_type
from wizard.sandbox.graph.store import (
    MAIL_COLLECTIONS,
    DeltaState,
    Entry,
    Mailbox,
    TokenInvalid,
)
from wizard.sandbox.graph.times import graph_time, time_window


class DeltaRequests(EventRequests):
    """``…/delta`` of every collection."""

    # -- delta -----------------------------------------------------------------------------------------------
    def _delta(self, box: Mailbox, req: Request, collection: str) -> Reply:
        """One page of a delta round; its links keep the request's own path (``delta``, ``delta()``, a folder's
        key in parentheses), so a client follows them as it spelt them."""
        token = req.query.get("$deltatoken") or req.query.get("$skiptoken")
        try:
            if token:
                state = self.data.decode_token(token, box, collection)
            else:
                window = None
                if collection == "events":
                    start, end = time_window(req)
                    window = (start.isoformat(), end.isoformat())
                query_filter = req.query.get("$filter", "").strip() if collection in MAIL_COLLECTIONS else ""
                if query_filter and not DELTA_FILTER.fullmatch(query_filter):
                    raise invalid_filter()
                state = DeltaState(
                    box.oid, collection, 0, None, 0, box.generation, window, req.query.get("$select", ""),
                    query_filter,
                )  # fmt: skip
        except TokenInvalid as exc:
            raise GraphError(410, "SyncStateNotFound",
                             "The sync state generation is not found. The delta token is expired and data must be synchronized again.") from exc  # fmt: skip
        in_window = None
        if state.window is not None:
            lo, hi = (datetime.fromisoformat(w) for w in state.window)

            def in_window(entry: Entry) -> bool:
                start = graph_time(entry.resource.get("start"))
                end = graph_time(entry.resource.get("end"))
                if start is None or end is None:
                    return False
                recurrence = entry.resource.get("recurrence")
                if recurrence:
                    rng = recurrence.get("range") or {}
                    end = datetime.max.replace(tzinfo=UTC)
                    if rng.get("type") == "endDate" and rng.get("endDate"):
                        end = datetime.fromisoformat(str(rng["endDate"])).replace(tzinfo=UTC) + timedelta(
                            days=1
                        )
                return start < hi and end > lo

        keep = in_window
        if state.filter:
            wanted = compile_filter(state.filter, "messages")

            def keep(entry: Entry) -> bool:
                return wanted(filter_view(entry))

        rows, nxt, closing = self.data.delta_page(box, state, req.page_size(), keep)
        values: list[dict[str, Any]] = []
        for item_id, entry in rows:
            if entry is None:
                values.append(
                    {"@odata.type": odata_type(collection), "id": item_id, "@removed": {"reason": "deleted"}}
                )
                continue
            if collection == "events" and entry.resource.get("recurrence"):
                # calendarView lists a series' occurrences and exceptions in the window, never the master;
                # a change to the series (master, exception, cancellation) lists them all again
                assert state.window is not None
                lo, hi = (datetime.fromisoformat(w) for w in state.window)
                for instance in self._instance_entries(entry, lo, hi):
                    row = self._render(box, instance, req, select=state.select)
                    row["@odata.type"] = odata_type(collection)
                    values.append(row)
                continue
            rendered = self._render(box, entry, req, select=state.select)
            rendered["@odata.type"] = odata_type(collection)
            values.append(rendered)
        document: dict[str, Any] = {
            "@odata.context": f"{self.url}/$metadata#Collection({odata_type(collection)[1:]})",
            "value": values,
        }
        base = self.base_url + API + req.path
        if nxt is not None:
            document["@odata.nextLink"] = f"{base}?$skiptoken={self.data.encode_token(nxt)}"
        else:
            document["@odata.deltaLink"] = f"{base}?$deltatoken={self.data.encode_token(closing)}"
        return Reply(200, document)
