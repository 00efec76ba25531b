"""Web API reads: retrieve one row, query an entity set ($filter/$orderby/$top/$count, paging, change tracking),
$count, and FetchXML (``?fetchXml=``, ``?savedQuery=``) with its paging cookie."""

from __future__ import annotations

from typing import Any

from wizard.sandbox.dataverse import odata_query as oq
from wizard.sandbox.dataverse.fetchxml import execute_fetch, parse_fetch
from wizard.sandbox.dataverse.protocol import (
    GUID_RE,
    MAX_PAGE,
    NOT_SUPPORTED_CODE,
    ApiError,
    Response,
    StoreRows,
    annotation_wanted,
    etag_of,
    ms_quote,
    xml_attr,
)
from wizard.sandbox.dataverse.schema import (
    BY_LOGICAL_NAME,
)
from wizard.sandbox.dataverse.tracking import TrackingRequests


class ReadRequests(TrackingRequests):
    """Retrieve, query, $count, FetchXML."""

    # -- reads -------------------------------------------------------------------------------------
    def retrieve(self, row_id: str) -> Response:
        row = self.api.row_or_404(self.definition, row_id)
        select = self.select_list(self.definition, self.params.get("$select"))
        expand = self._expand_items()
        if_none_match = self.request.headers.get_header("If-None-Match")
        if (
            if_none_match
            and if_none_match != "null"
            and not expand
            and "odata.include-annotations" not in self.prefs
            and if_none_match.strip() == etag_of(row)
        ):
            return Response(304)
        out = {"@odata.context": self.context_url(self.definition, select, expand) + "/$entity"}
        out.update(self.shape(self.definition, row, select))
        if expand:
            self.apply_expand(self.definition, row, out, expand)
        return Response.json(200, out, {"ETag": etag_of(row), **self._applied(["odata.include-annotations"])})

    def count(self) -> Response:
        rows = self._filtered(self.store.raw_rows(self.definition.entity_set))
        return Response(200, str(min(len(rows), MAX_PAGE)).encode(), {}, "text/plain")

    def query(self) -> Response:
        if "$skip" in self.params:
            raise ApiError(400, "The query parameter $skip is not supported", NOT_SUPPORTED_CODE)
        if "fetchXml" in self.params:
            return self.fetch(self.params["fetchXml"])
        if "userQuery" in self.params or "savedQuery" in self.params:
            return self.saved_query()
        if "$deltatoken" in self.params or "odata.track-changes" in self.prefs:
            return self.delta()
        select = self.select_list(self.definition, self.params.get("$select"))
        expand = self._expand_items()
        rows = self._filtered(self.store.raw_rows(self.definition.entity_set))
        orderby = oq.parse_orderby(self.params["$orderby"]) if self.params.get("$orderby") else []
        pk = self.definition.primary_key
        rows = sorted(rows, key=lambda r: str(r.get(pk)))
        if orderby:
            rows = oq.sort_rows([dict(r) for r in rows], orderby)
        total = len(rows)
        page_size = self._page_size()
        if page_size is None and self.params.get("$top"):
            try:
                rows = rows[: int(self.params["$top"])]
            except ValueError as exc:
                raise ApiError(
                    400, f"Invalid value '{self.params['$top']}' for $top query option.", NOT_SUPPORTED_CODE
                ) from exc
        size = page_size or MAX_PAGE
        cookie = self._read_cookie()
        start = self._page_start(rows, cookie, size, pk)
        page = rows[start : start + size]
        more = start + size < len(rows)
        body: dict[str, Any] = {"@odata.context": self.context_url(self.definition, select, expand)}
        if self.params.get("$count") == "true":
            body["@odata.count"] = min(total, MAX_PAGE)
            if total > MAX_PAGE:
                body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = True
        values = []
        for row in page:
            item = self.shape(self.definition, row, select)
            if expand:
                self.apply_expand(self.definition, row, item, expand)
            values.append(item)
        body["value"] = values
        if more:
            number = int(cookie.get("pagenumber", "1")) if cookie else 1
            link_cookie = self._odata_cookie(number, page, pk, tracking=False)
            body["@odata.nextLink"] = self._link_with(skiptoken=link_cookie)
        return Response.json(
            200, body, self._applied(["odata.maxpagesize", "odata.include-annotations"]), collection=True
        )

    # -- FetchXML ----------------------------------------------------------------------------------
    def saved_query(self) -> Response:
        """``?userQuery=<id>`` / ``?savedQuery=<id>``: run a personal or system view's FetchXML."""
        logical, entity_set = (
            ("savedquery", "savedqueries") if "savedQuery" in self.params else ("userquery", "userqueries")
        )
        query_id = self.params["savedQuery" if logical == "savedquery" else "userQuery"].strip().lower()
        view = self.store.get(entity_set, query_id) if GUID_RE.match(query_id) else None
        if view is None:
            raise ApiError(404, f"{logical} With Id = {query_id} Does Not Exist", "0x80040217")
        return self.fetch(str(view.get("fetchxml") or ""))

    def fetch(self, fetch_xml: str) -> Response:
        query = parse_fetch(fetch_xml)
        definition = BY_LOGICAL_NAME.get(query.entity)
        if definition is None or definition.entity_set != self.definition.entity_set:
            raise ApiError(
                400,
                f"The entity name specified in FetchXml does not match the entity name in the URL: "
                f"'{query.entity}' vs. '{self.definition.logical_name}'.",
                NOT_SUPPORTED_CODE,
            )
        rows = execute_fetch(query, StoreRows(self.store), self.api.eval_context(self.request.caller))
        count = query.count
        page_number = query.page or 1
        if query.top:
            rows = rows[: query.top]
        size = int(count) if count else (self._page_size() or MAX_PAGE)
        start = (int(page_number) - 1) * size
        page = rows[start : start + size]
        more = start + size < len(rows)
        body: dict[str, Any] = {"@odata.context": f"{self.root}/$metadata#{definition.entity_set}"}
        pk = definition.primary_key
        # "On the final page, the morerecords and fetchxmlpagingcookie annotations aren't included" (PAD
        # fetchxml/page-results.md, "Last page"); a page past the end is a last page too
        if more and annotation_wanted(self.prefs, "Microsoft.Dynamics.CRM.fetchxmlpagingcookie"):
            orders = [attribute for attribute, _descending in query.orders]
            parts = []
            for attribute in [a for a in orders if a and a != pk] + [pk]:
                last = page[-1].get(attribute) if page else ""
                first = page[0].get(attribute) if page else ""
                if attribute == pk:
                    last, first = f"{{{str(last).upper()}}}", f"{{{str(first).upper()}}}"
                parts.append(f'<{attribute} last="{xml_attr(last)}" first="{xml_attr(first)}" />')
            inner = f'<cookie page="{page_number}">{"".join(parts)}</cookie>'
            body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"] = (
                f'<cookie pagenumber="{int(page_number) + 1}" pagingcookie="{ms_quote(ms_quote(inner))}" '
                'istracking="False" />'
            )
        if more and annotation_wanted(self.prefs, "Microsoft.Dynamics.CRM.morerecords"):
            body["@Microsoft.Dynamics.CRM.morerecords"] = True
        if getattr(query, "returntotalrecordcount", False) and annotation_wanted(
            self.prefs, "Microsoft.Dynamics.CRM.totalrecordcount"
        ):
            body["@Microsoft.Dynamics.CRM.totalrecordcount"] = min(len(rows), MAX_PAGE)
            body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = len(rows) > MAX_PAGE
        values = []
        for row in page:
            item: dict[str, Any] = {}
            stored = self.store.get(definition.entity_set, str(row.get(pk)))
            if stored is not None:
                item["@odata.etag"] = etag_of(stored)
            for name, value in row.items():
                if "@" in name and not annotation_wanted(self.prefs, name.split("@", 1)[1]):
                    continue
                item[name] = value
            values.append(item)
        body["value"] = values
        return Response.json(200, body, self._applied(["odata.include-annotations"]), collection=True)
