"""One Web API request against one entity set: shaping rows into answers ($select, $expand, formatted values,
annotations) and paging (page size, paging cookies, nextLink)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, cast
from urllib.parse import quote, unquote

from wizard.sandbox.dataverse import odata_query as oq
from wizard.sandbox.dataverse.protocol import (
    FORMATTED,
    MAX_PAGE,
    NAVPROP,
    NOT_SUPPORTED_CODE,
    ApiError,
    Request,
    annotation_wanted,
    crm_type,
    etag_of,
    ms_quote,
    parse_datetime,
)
from wizard.sandbox.dataverse.rows import RowAccess
from wizard.sandbox.dataverse.schema import (
    BIGINT,
    BOOL,
    BY_LOGICAL_NAME,
    CHOICE,
    DATETIME,
    ENTITIES,
    INT,
    STATE_STATUS_LABELS,
    EntityDef,
)
from wizard.sandbox.dataverse.store import LOOKUP_NAME


class ContextBase:
    """One request against one entity set: what every kind of request shapes its answer with."""

    def __init__(self, api: RowAccess, request: Request, definition: EntityDef, root: str) -> None:
        self.api = api
        self.store = api.store
        self.request = request
        self.definition = definition
        self.root = root
        self.prefs = request.prefs
        self.params = request.params

    # -- output shaping ----------------------------------------------------------------------------
    def entity_url(self, definition: EntityDef, row_id: str) -> str:
        return f"{self.root}/{definition.entity_set}({row_id})"

    def select_list(self, definition: EntityDef, text: str | None) -> list[str] | None:
        if not text:
            return None
        names = oq.parse_select(text)
        if names is None:
            return None
        readable = set(definition.readable())
        for name in names:
            if name not in readable:
                raise ApiError(
                    400,
                    f"Could not find a property named '{name}' on type '{crm_type(definition)}'.",
                    NOT_SUPPORTED_CODE,
                )
        return names

    def shape(
        self,
        definition: EntityDef,
        row: Mapping[str, Any],
        select: list[str] | None,
        *,
        etag: bool = True,
    ) -> dict[str, Any]:
        """A row as the service returns it: ETag first, selected (or all) properties, the key last."""
        out: dict[str, Any] = {}
        if etag and "versionnumber" in row:
            out["@odata.etag"] = etag_of(row)
        names = select if select is not None else definition.readable()
        formatted = annotation_wanted(self.prefs, FORMATTED[1:])
        logical = annotation_wanted(self.prefs, LOOKUP_NAME[1:])
        navprop = annotation_wanted(self.prefs, NAVPROP[1:])
        for name in names:
            if name == definition.primary_key:
                continue
            value = row.get(name)
            lookup = definition.lookup_by_value_name(name)
            if lookup is not None and value is not None:
                target = str(row.get(name + LOOKUP_NAME) or next(iter(lookup.targets)))
                if formatted:
                    label = self._lookup_label(target, str(value))
                    if label is not None:
                        out[name + FORMATTED] = label
                if navprop:
                    out[name + NAVPROP] = lookup.targets.get(target, lookup.attribute)
                if logical:
                    out[name + LOOKUP_NAME] = target
            elif formatted and value is not None:
                label = self._format(definition, name, value)
                if label is not None:
                    out[name + FORMATTED] = label
            out[name] = value
        out[definition.primary_key] = row.get(definition.primary_key)
        return out

    def _lookup_label(self, target: str, target_id: str) -> str | None:
        target_def = BY_LOGICAL_NAME.get(target)
        if target_def is None:
            return None
        found = self.store.get(target_def.entity_set, target_id)
        return None if found is None else cast(str | None, found.get(target_def.primary_name))

    def _format(self, definition: EntityDef, name: str, value: Any) -> str | None:
        column = definition.columns.get(name)
        if column is None:
            return None
        if column.kind == BOOL:
            return "Yes" if value else "No"
        if column.kind == CHOICE:
            return (
                STATE_STATUS_LABELS.get(definition.logical_name, {}).get(name, {}).get(int(value), str(value))
            )
        if column.kind == DATETIME:
            moment = parse_datetime(str(value))
            return f"{moment.month}/{moment.day}/{moment.year} {moment.strftime('%I:%M %p').lstrip('0')}"
        if column.kind in (INT, BIGINT):
            return f"{int(value):,}"
        return None

    def context_url(
        self, definition: EntityDef, select: list[str] | None, expand: list[Any] | None = None
    ) -> str:
        inner = list(select or [])
        for item in expand or []:
            inner.append(
                f"{item.navigation}({','.join(item.select or [])})" if item.select else f"{item.navigation}()"
            )
        suffix = f"({','.join(inner)})" if inner else ""
        return f"{self.root}/$metadata#{definition.entity_set}{suffix}"

    def apply_expand(
        self, definition: EntityDef, row: Mapping[str, Any], out: dict[str, Any], items: list[Any]
    ) -> None:
        ctx = self.api.eval_context(self.request.caller)
        for item in items:
            nav = item.navigation
            if nav == definition.party_collection or (
                definition.is_activity and nav == "activitypointer_activity_parties"
            ):
                party_def = ENTITIES["activityparties"]
                parties = self.api.parties_of(str(row.get(definition.primary_key)))
                if item.filter is not None:
                    parties = [p for p in parties if item.filter.evaluate(p, ctx)]
                if item.orderby:
                    parties = oq.sort_rows(parties, item.orderby)
                if item.top is not None:
                    parties = parties[: item.top]
                select = self.select_list(party_def, ",".join(item.select)) if item.select else None
                out[nav] = [self.shape(party_def, p, select) for p in parties]
                continue
            found = definition.navigations.get(nav)
            if found is None:
                raise ApiError(
                    400,
                    f"Could not find a property named '{nav}' on type '{crm_type(definition)}'.",
                    NOT_SUPPORTED_CODE,
                )
            target_def = BY_LOGICAL_NAME[found[1]]
            related = self.api.navigate(row, nav)
            select = self.select_list(target_def, ",".join(item.select)) if item.select else None
            out[nav] = None if related is None else self.shape(target_def, related, select)

    def _expand_items(self) -> list[Any]:
        text = self.params.get("$expand")
        return oq.parse_expand(text) if text else []

    def _applied(self, names: Iterable[str]) -> dict[str, str]:
        values = []
        for name in names:
            if name not in self.prefs:
                continue
            value = self.prefs[name]
            if name == "odata.maxpagesize" and not (value.isdigit() and 0 < int(value) <= MAX_PAGE):
                continue  # "The service ignores max page size requests larger than 5,000"
            if name == "odata.include-annotations":
                values.append(f'{name}="{value}"')
            else:
                values.append(f"{name}={value}" if value else name)
        return {"Preference-Applied": ",".join(values)} if values else {}

    # -- paging ----------------------------------------------------------------------------------
    def _filtered(self, rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        text = self.params.get("$filter")
        if not text:
            return list(rows)
        aliases = {k: v for k, v in self.params.items() if k.startswith("@")}
        expr = oq.parse_filter(text, aliases or None)
        ctx = self.api.eval_context(self.request.caller)
        return [r for r in rows if expr.evaluate(r, ctx)]

    def _page_size(self) -> int | None:
        raw = self.prefs.get("odata.maxpagesize")
        if raw is None:
            return None
        try:
            size = int(raw)
        except ValueError as exc:
            raise ApiError(400, f"Invalid odata.maxpagesize value '{raw}'.", NOT_SUPPORTED_CODE) from exc
        return size if 0 < size <= MAX_PAGE else None

    def _page_start(self, rows: list[Mapping[str, Any]], cookie: dict[str, str], size: int, pk: str) -> int:
        if not cookie:
            return 0
        last = cookie.get("last", "").strip("{}").lower()
        if last:
            for index, row in enumerate(rows):
                if str(row.get(pk)) == last:
                    return index + 1
        return max(0, (int(cookie.get("pagenumber", "1")) - 1) * size)

    def _read_cookie(self) -> dict[str, str]:
        token = self.params.get("$skiptoken")
        if not token:
            return {}
        outer = dict(re.findall(r'(\w+)="([^"]*)"', token))
        inner = unquote(unquote(outer.get("pagingcookie", "")))
        result = {"pagenumber": outer.get("pagenumber", "1"), "istracking": outer.get("istracking", "False")}
        match = re.search(r'<(\w+) last="([^"]*)" first="([^"]*)"', inner)
        if match:
            result["last"] = match.group(2)
        version = re.search(r'trackingversion="(\d+)"', inner)
        if version:
            result["trackingversion"] = version.group(1)
        if not result["pagenumber"].isdigit():
            raise ApiError(400, "Invalid $skiptoken.", NOT_SUPPORTED_CODE)
        return result

    def _odata_cookie(
        self,
        served_page: int,
        page: list[Mapping[str, Any]],
        pk: str,
        *,
        tracking: bool,
        version: int | None = None,
    ) -> str:
        first = str(page[0].get(pk, "")).upper() if page else ""
        last = str(page[-1].get(pk, "")).upper() if page else ""
        extra = f' trackingversion="{version}"' if version is not None else ""
        inner = f'<cookie page="{served_page}"{extra}><{pk} last="{{{last}}}" first="{{{first}}}" /></cookie>'
        return (
            f'<cookie pagenumber="{served_page + 1}" pagingcookie="{ms_quote(inner)}" '
            f'istracking="{"True" if tracking else "False"}" />'
        )

    def _link_with(
        self, *, skiptoken: str | None = None, deltatoken: str | None = None, keep: bool = True
    ) -> str:
        parts = []
        if keep:
            for piece in self.request.raw_query.split("&"):
                name = unquote(piece.split("=", 1)[0])
                if piece and name not in ("$skiptoken", "$deltatoken"):
                    parts.append(piece)
        else:
            if self.params.get("$select"):
                parts.append("$select=" + quote(self.params["$select"], safe=",/"))
        if deltatoken is not None:
            parts.append("$deltatoken=" + ms_quote(deltatoken, safe="-_."))
        if skiptoken is not None:
            parts.append("$skiptoken=" + quote(skiptoken, safe="=/"))
        return f"{self.root}/{self.definition.entity_set}" + ("?" + "&".join(parts) if parts else "")
