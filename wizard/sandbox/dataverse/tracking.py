"""Change tracking: ``Prefer: odata.track-changes`` on a query, delta links and deleted rows ("Use change tracking
to synchronize data with external systems")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from wizard.sandbox.dataverse.context import ContextBase
from wizard.sandbox.dataverse.protocol import MAX_PAGE, NOT_SUPPORTED_CODE, TRACKING_DAYS, ApiError, Response


class TrackingRequests(ContextBase):
    """Delta queries."""

    # -- change tracking ---------------------------------------------------------------------------
    def delta(self) -> Response:
        for option in ("$filter", "$orderby", "$expand", "$top"):
            if option in self.params:
                raise ApiError(
                    400,
                    f'The "{option}" query parameter isn\'t supported when Change Tracking is enabled.',
                    NOT_SUPPORTED_CODE,
                )
        definition = self.definition
        if not self.store.is_tracking(definition.entity_set):
            raise ApiError(
                400, f"Entity {definition.logical_name} isn't enabled for change tracking.", "0x80072491"
            )
        select = self.select_list(definition, self.params.get("$select"))
        pk = definition.primary_key
        size = self._page_size() or MAX_PAGE
        cookie = self._read_cookie()
        now = self.store.clock()
        with self.store.lock:
            upto = int(cookie.get("trackingversion") or self.store.version)
            token_text = self.params.get("$deltatoken")
            if token_text is None:
                # all live rows: one changed while the client pages shows up again in the next delta
                rows: list[Mapping[str, Any]] = sorted(
                    self.store.raw_rows(definition.entity_set), key=lambda r: str(r.get(pk))
                )
                deleted: list[str] = []
            else:
                since = self._parse_deltatoken(token_text, now)
                rows, deleted = self.store.changes_since(definition.entity_set, since, upto)  # type: ignore[assignment]
        items: list[tuple[str, Any]] = [("row", r) for r in rows] + [("deleted", d) for d in deleted]
        start = 0
        if cookie:
            start = max(0, (int(cookie.get("pagenumber", "1")) - 1) * size)
            last = cookie.get("last", "").strip("{}").lower()
            if token_text is None and last:
                start = next((i + 1 for i, (_, r) in enumerate(items) if str(r.get(pk)) == last), start)
        page = items[start : start + size]
        values: list[dict[str, Any]] = []
        for kind, item in page:
            if kind == "row":
                values.append(self.shape(definition, item, select))
            else:
                values.append(
                    {
                        "@odata.context": f"{self.root}/$metadata#{definition.entity_set}/$deletedEntity",
                        "id": item,
                        "reason": "deleted",
                    }
                )
        context = self.context_url(definition, select)
        if token_text is not None:
            context += "/$delta"
        body: dict[str, Any] = {"@odata.context": context}
        if start + size < len(items):
            number = int(cookie.get("pagenumber", "1")) if cookie else 1
            page_rows = [item for kind, item in page if kind == "row"]
            skiptoken = self._odata_cookie(number, page_rows, pk, tracking=True, version=upto)
            body["value"] = values
            body["@odata.nextLink"] = self._link_with(skiptoken=skiptoken, deltatoken=token_text, keep=False)
        else:
            new_token = f"{upto}!{now.astimezone(UTC).strftime('%m/%d/%Y %H:%M:%S')}"
            body["@odata.deltaLink"] = self._link_with(deltatoken=new_token, keep=False)
            body["value"] = values
        headers = self._applied(["odata.track-changes", "odata.maxpagesize", "odata.include-annotations"])
        return Response.json(200, body, headers, collection=True)

    def _parse_deltatoken(self, token: str, now: datetime) -> int:
        match = re.match(r"^(\d+)!(\d\d/\d\d/\d{4} \d\d:\d\d:\d\d)$", unquote(token))
        if match is None:
            raise ApiError(400, "The delta token is not valid.", NOT_SUPPORTED_CODE)
        issued = datetime.strptime(match.group(2), "%m/%d/%Y %H:%M:%S").replace(tzinfo=UTC)
        if now - issued > timedelta(days=TRACKING_DAYS):
            raise ApiError(
                400,
                "Version stamp associated with the client has expired. Please perform a full sync.",
                "0x80044352",
            )
        return int(match.group(1))
