"""The Dataverse Web API stand-in: one :class:`DataverseEnvironment` per Dynamics 365 environment.

:class:`WebApi` answers one request (method, URL, headers, body, caller) with a :class:`Response`; the HTTP
handler and ``$batch`` (:mod:`.batch`) both go through it. Shapes, headers, status codes and error bodies
follow the Web API documentation and the real samples in ``reference/samples/dataverse``.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import math
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from wizard.sandbox._http import FaultPlan, SandboxHandler, SandboxServer
from wizard.sandbox.dataverse import instances
from wizard.sandbox.dataverse import odata_query as oq
from wizard.sandbox.dataverse.fetchxml import execute_fetch, parse_fetch
from wizard.sandbox.dataverse.schema import (
    BIGINT,
    BOOL,
    BY_LOGICAL_NAME,
    CHOICE,
    DATETIME,
    DECIMAL,
    DEFAULT_STATUS,
    ENTITIES,
    FLOAT,
    GUID,
    INT,
    MEMO,
    PARTY_COLLECTIONS,
    STATE_NAMES,
    STATE_STATUS_LABELS,
    STATUS_STATE,
    STRING,
    EntityDef,
    Lookup,
)
from wizard.sandbox.dataverse.store import LOOKUP_NAME, Store, iso
from wizard.sandbox.directory import Directory, DirectoryOrg
from wizard.sandbox.ntlm import NtlmAccounts
from wizard.sandbox.tls import SandboxTLS
from wizard.sandbox.tokens import TokenRejected, TokenSigner

JSON_ENTITY = "application/json; odata.metadata=minimal"
JSON_COLLECTION = "application/json; odata.metadata=minimal; odata.streaming=true"
MAX_PAGE = 5000
TRACKING_DAYS = 7
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PATH_RE = re.compile(r"^/api/data/(?P<version>v9\.[012])(?:/(?P<rest>.*))?$", re.IGNORECASE)
SEGMENT_RE = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\((?P<key>[^)]*)\))?$")
FORMATTED = "@OData.Community.Display.V1.FormattedValue"
NAVPROP = "@Microsoft.Dynamics.CRM.associatednavigationproperty"

# Messages and codes as the service words them (codes marked in the report where not verified).
NOT_SUPPORTED_CODE = "0x80060888"
BLOCKED_ATTACHMENTS = (
    "ade;adp;app;asa;ashx;asmx;asp;bas;bat;cdx;cer;chm;class;cmd;com;config;cpl;crt;csh;dll;exe;fxp;"
    "hlp;hta;htr;htw;ida;idc;idq;inf;ins;isp;its;jar;js;jse;ksh;lnk;mad;maf;mag;mam;maq;mar;mas;mat;"
    "mau;mav;maw;mda;mdb;mde;mdt;mdw;mdz;msc;msh;msh1;msh1xml;msh2;msh2xml;mshxml;msi;msp;mst;ops;"
    "pcd;pif;prf;prg;printer;pst;reg;rem;scf;scr;sct;shb;shs;shtm;shtml;soap;stm;tmp;url;vb;vbe;vbs;"
    "vsmacros;vss;vst;vsw;ws;wsc;wsf;wsh"
)
THROTTLE_BODY = {
    "error": {
        "code": "0x80072322",
        "message": "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
    }
}


class ApiError(Exception):
    """An answer in the Web API's error shape: ``{"error": {"code": ..., "message": ...}}``."""

    def __init__(
        self, status: int, message: str, code: str = "", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    entity_url: str | None = None  # the created/updated row's URL, for $batch Content-ID references

    @classmethod
    def json(
        cls, status: int, document: Any, headers: dict[str, str] | None = None, *, collection: bool = False
    ) -> Response:
        payload = json.dumps(document, ensure_ascii=False).encode("utf-8")
        return cls(status, payload, dict(headers or {}), JSON_COLLECTION if collection else JSON_ENTITY)

    @classmethod
    def error(cls, exc: ApiError, prefs: Mapping[str, str] | None = None) -> Response:
        """The error body; with ``odata.include-annotations``, the ``@Microsoft.PowerApps.CDS.*`` details."""
        error: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if prefs and exc.code:
            details = {
                "Microsoft.PowerApps.CDS.ErrorDetails.OperationStatus": "0",
                "Microsoft.PowerApps.CDS.HelpLink": "http://go.microsoft.com/fwlink/?LinkID=398563&error="
                f"Microsoft.Crm.CrmException%3a{exc.code[2:].lower()}&client=platform",
                "Microsoft.PowerApps.CDS.TraceText": "",
                "Microsoft.PowerApps.CDS.InnerError.Message": exc.message,
            }
            for term, value in details.items():
                if annotation_wanted(prefs, term):
                    error["@" + term] = value
        return cls.json(exc.status, {"error": error}, exc.headers)

    def all_headers(self) -> dict[str, str]:
        out = {"OData-Version": "4.0"}
        if self.content_type and (self.body or self.status not in (204, 304)):
            out["Content-Type"] = self.content_type
        out.update(self.headers)
        return out


@dataclass(frozen=True)
class Caller:
    systemuserid: str
    oid: str


class Headers(dict[str, str]):
    """Request headers with case-insensitive names."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__()
        for name, value in items:
            key = name.lower()
            self[key] = f"{self[key]}, {value}" if key in self and key == "prefer" else value

    def get_header(self, name: str, default: str = "") -> str:
        return self.get(name.lower(), default)


def crm_type(definition: EntityDef) -> str:
    return f"Microsoft.Dynamics.CRM.{definition.logical_name}"


def not_found(definition: EntityDef, row_id: str) -> ApiError:
    return ApiError(404, f"{definition.logical_name} With Id = {row_id} Does Not Exist", "")


def ms_quote(text: str, safe: str = "-_.!*()") -> str:
    """URL-encode like .NET's HttpUtility.UrlEncode (lower-case hex, %20 for spaces), as in paging cookies."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char.isascii() and (char.isalnum() or char in safe):
            out.append(char)
        else:
            out.append(f"%{byte:02x}")
    return "".join(out)


def parse_prefer(value: str) -> dict[str, str]:
    """``Prefer`` preferences by name (values unquoted); commas inside quotes do not split."""
    prefs: dict[str, str] = {}
    for part in re.findall(r'(?:[^,"]|"[^"]*")+', value):
        name, _, val = part.strip().partition("=")
        if name:
            prefs[name.strip().lower()] = val.strip().strip('"')
    return prefs


def annotation_wanted(prefs: Mapping[str, str], term: str) -> bool:
    patterns = prefs.get("odata.include-annotations")
    if not patterns:
        return False
    for pattern in patterns.split(","):
        pattern = pattern.strip()
        negate = pattern.startswith("-")
        if fnmatch.fnmatchcase(term, pattern.lstrip("-")):
            return not negate
    return False


def etag_of(row: Mapping[str, Any]) -> str:
    return f'W/"{row.get("versionnumber", 0)}"'


def parse_datetime(value: str) -> datetime:
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class StoreRows:
    """The store as FetchXML's RowSource (logical names)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def rows(self, logical_name: str) -> Iterable[Mapping[str, Any]]:
        definition = BY_LOGICAL_NAME.get(logical_name)
        if definition is None:
            raise oq.QueryError(
                f"The entity with a name = '{logical_name}' was not found in the MetadataCache.", "0x80041102"
            )
        return self.store.raw_rows(definition.entity_set)

    def primary_key(self, logical_name: str) -> str:
        definition = BY_LOGICAL_NAME.get(logical_name)
        if definition is None:
            raise oq.QueryError(
                f"The entity with a name = '{logical_name}' was not found in the MetadataCache.", "0x80041102"
            )
        return definition.primary_key


@dataclass
class Request:
    method: str
    target: str  # path + query, as sent
    headers: Headers
    body: bytes
    caller: Caller

    def __post_init__(self) -> None:
        split = urlsplit(self.target)
        self.path = unquote(split.path)
        self.raw_query = split.query
        self.params: dict[str, str] = dict(parse_qsl(split.query, keep_blank_values=True))
        self.prefs = parse_prefer(self.headers.get_header("Prefer"))

    def json_body(self) -> Any:
        if not self.body.strip():
            raise ApiError(400, "The request body is empty.", NOT_SUPPORTED_CODE)
        try:
            return json.loads(self.body.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"Invalid JSON. {exc}", NOT_SUPPORTED_CODE) from exc


class WebApi:
    """The protocol logic for one environment, independent of sockets (``$batch`` reuses it)."""

    def __init__(
        self, store: Store, org: DirectoryOrg, base_url: Callable[[], str], tenant_id: str = ""
    ) -> None:
        self.store = store
        self.org = org
        self.tenant_id = tenant_id
        self._base_url = base_url
        self._party_index: dict[str, list[Mapping[str, Any]]] = {}
        self._party_version = -1
        self.navigations: dict[str, tuple[Lookup, str]] = {}
        for definition in ENTITIES.values():
            self.navigations.update(definition.navigations)

    @property
    def base_url(self) -> str:
        return self._base_url()

    # -- entry point -------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        try:
            return self._dispatch(request)
        except ApiError as exc:
            return Response.error(exc, request.prefs)
        except oq.QueryError as exc:
            return Response.error(ApiError(400, exc.message, exc.code or NOT_SUPPORTED_CODE), request.prefs)

    def _current_organization(self, root: str) -> dict[str, Any]:
        """RetrieveCurrentOrganization: the OrganizationDetail complex type (Web API function reference)."""
        base = self.base_url
        return {
            "@odata.context": f"{root}/$metadata#Microsoft.Dynamics.CRM.RetrieveCurrentOrganizationResponse",
            "Detail": {
                "OrganizationId": self.org.id,
                "FriendlyName": self.org.friendly_name,
                "OrganizationVersion": self.org.version,
                "EnvironmentId": self.org.environment_id,
                "DatacenterId": "",
                "Geo": self.org.region,
                "TenantId": self.tenant_id,
                "UrlName": self.org.url_name,
                "UniqueName": self.org.unique_name,
                "State": "Enabled",
                "OrganizationType": "Customer",
                "SchemaType": "Standard",
                "Endpoints": {
                    "Count": 3,
                    "IsReadOnly": False,
                    "Keys": ["WebApplication", "OrganizationService", "OrganizationDataService"],
                    "Values": [
                        f"{base}/",
                        f"{base}/XRMServices/2011/Organization.svc",
                        f"{base}/XRMServices/2011/OrganizationData.svc",
                    ],
                },
            },
        }

    def _dispatch(self, request: Request) -> Response:
        match = PATH_RE.match(org_relative(request.path, self.base_url))
        if match is None:
            raise ApiError(404, f"Resource not found for the segment '{request.path}'.", NOT_SUPPORTED_CODE)
        version = match.group("version").lower()
        if version not in served_versions(self.org.version):
            # a 9.1 server (on premises) knows no v9.2 endpoint; the product must fall back to what it serves
            raise ApiError(404, f"Resource not found for the segment '{version}'.", NOT_SUPPORTED_CODE)
        root = f"{self.base_url}/api/data/{version}"
        rest = (match.group("rest") or "").strip("/")
        if rest in ("WhoAmI", "WhoAmI()"):
            if request.method != "GET":
                raise ApiError(
                    405, f"The requested resource does not support http method '{request.method}'."
                )
            return Response.json(
                200,
                {
                    "@odata.context": f"{root}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                    "BusinessUnitId": self.org.business_unit_id,
                    "UserId": request.caller.systemuserid,
                    "OrganizationId": self.org.id,
                },
            )
        if rest.startswith("RetrieveCurrentOrganization("):
            if request.method != "GET":
                raise ApiError(
                    405, f"The requested resource does not support http method '{request.method}'."
                )
            return Response.json(200, self._current_organization(root))
        if not rest:
            return Response.json(
                200,
                {
                    "@odata.context": f"{root}/$metadata",
                    "value": [
                        {"name": d.entity_set, "kind": "EntitySet", "url": d.entity_set}
                        for d in ENTITIES.values()
                    ],
                },
            )
        segments = rest.split("/")
        first = SEGMENT_RE.match(segments[0])
        if first is None or first.group("name") not in ENTITIES:
            raise ApiError(404, f"Resource not found for the segment '{segments[0]}'.", NOT_SUPPORTED_CODE)
        definition = ENTITIES[first.group("name")]
        key = first.group("key")
        context = _Context(self, request, definition, root)
        if key is None:
            if len(segments) == 2 and segments[1] == "$count" and request.method == "GET":
                return context.count()
            if len(segments) > 1:
                raise ApiError(
                    404, f"Resource not found for the segment '{segments[1]}'.", NOT_SUPPORTED_CODE
                )
            if request.method == "GET":
                return context.query()
            if request.method == "POST":
                return context.create()
            raise ApiError(405, f"The requested resource does not support http method '{request.method}'.")
        row_id = self._key(definition, key)
        if len(segments) == 1:
            if request.method == "GET":
                return context.retrieve(row_id)
            if request.method == "PATCH":
                return context.update(row_id)
            if request.method == "DELETE":
                return context.delete(row_id)
            raise ApiError(405, f"The requested resource does not support http method '{request.method}'.")
        prop = segments[1]
        if len(segments) == 3 and segments[2] == "$ref" and request.method == "DELETE":
            return context.disassociate(row_id, prop)
        if len(segments) > 2:
            raise ApiError(404, f"Resource not found for the segment '{segments[2]}'.", NOT_SUPPORTED_CODE)
        return context.property(row_id, prop)

    def _key(self, definition: EntityDef, key: str) -> str:
        key = key.strip()
        if GUID_RE.match(key):
            return key.lower()
        alternate = re.match(r"^(\w+)='((?:[^']|'')*)'$", key)
        if alternate and alternate.group(1) in definition.columns:
            value = alternate.group(2).replace("''", "'")
            found = self.store.find(definition.entity_set, alternate.group(1), value)
            if found is None:
                raise ApiError(
                    404, f"{definition.logical_name} With Ids = {key} Does Not Exist", "0x80040217"
                )
            return str(found[definition.primary_key])
        raise ApiError(400, f"Bad Request - Error in query syntax. Invalid key '{key}'.", NOT_SUPPORTED_CODE)

    # -- shared helpers used by _Context and batch ------------------------------------------------
    def row_or_404(self, definition: EntityDef, row_id: str) -> dict[str, Any]:
        row = self.store.get(definition.entity_set, row_id)
        if row is None:
            raise not_found(definition, row_id)
        return row

    def parties_of(self, activity_id: str) -> list[dict[str, Any]]:
        """The activity's parties, from an index rebuilt only when the store changed since the last call."""
        with self.store.lock:
            if self._party_version != self.store.version:
                index: dict[str, list[Mapping[str, Any]]] = {}
                for row in self.store.raw_rows("activityparties"):
                    index.setdefault(str(row.get("_activityid_value")), []).append(row)
                self._party_index = index
                self._party_version = self.store.version
            return [dict(r) for r in self._party_index.get(str(activity_id), [])]

    def copy_parties(self, master_id: str, instance_id: str, user_id: str | None) -> None:
        """An instance of a series gets the master's parties (as Dataverse copies them)."""
        for old in self.parties_of(instance_id):
            self.store.delete("activityparties", old["activitypartyid"])
        for party in self.parties_of(master_id):
            values = {k: v for k, v in party.items() if k not in ("activitypartyid", "versionnumber")}
            values["_activityid_value"] = instance_id
            values["_activityid_value" + LOOKUP_NAME] = "appointment"
            self.store.create("activityparties", values, user_id=user_id)

    def eval_context(self, caller: Caller) -> oq.EvalContext:
        return oq.EvalContext(
            user_id=caller.systemuserid,
            now=self.store.clock(),
            navigate=self._navigate,
            collection=self._collection,
            business_unit_id=self.org.business_unit_id,
        )

    def _navigate(self, row: Mapping[str, Any], nav: str) -> dict[str, Any] | None:
        found = self.navigations.get(nav)
        if found is None:
            return None
        lookup, target = found
        target_id = row.get(lookup.value_name)
        if not target_id or row.get(lookup.value_name + LOOKUP_NAME, target) != target:
            return None
        target_def = BY_LOGICAL_NAME.get(target)
        return self.store.get(target_def.entity_set, str(target_id)) if target_def else None

    def _collection(self, row: Mapping[str, Any], nav: str) -> list[dict[str, Any]]:
        if nav in PARTY_COLLECTIONS or nav == "activitypointer_activity_parties":
            return self.parties_of(str(row.get("activityid")))
        return []


class _Context:
    """One request against one entity set."""

    def __init__(self, api: WebApi, request: Request, definition: EntityDef, root: str) -> None:
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
            related = self.api._navigate(row, nav)
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

    # -- FetchXML ----------------------------------------------------------------------------------
    def saved_query(self) -> Response:
        """``?userQuery=<id>``: run a saved personal view's FetchXML (system views do not exist here)."""
        if "savedQuery" in self.params:
            raise ApiError(
                404, f"savedquery With Id = {self.params['savedQuery']} Does Not Exist", "0x80040217"
            )
        query_id = self.params["userQuery"].strip().lower()
        view = self.store.get("userqueries", query_id) if GUID_RE.match(query_id) else None
        if view is None:
            raise ApiError(404, f"userquery With Id = {query_id} Does Not Exist", "0x80040217")
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
        if annotation_wanted(self.prefs, "Microsoft.Dynamics.CRM.fetchxmlpagingcookie"):
            orders = [attribute for attribute, _descending in query.orders]
            parts = []
            for attribute in [a for a in orders if a and a != pk] + [pk]:
                last = page[-1].get(attribute) if page else ""
                first = page[0].get(attribute) if page else ""
                if attribute == pk:
                    last, first = f"{{{str(last).upper()}}}", f"{{{str(first).upper()}}}"
                parts.append(f'<{attribute} last="{_xml_attr(last)}" first="{_xml_attr(first)}" />')
            inner = f'<cookie page="{page_number}">{"".join(parts)}</cookie>'
            body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"] = (
                f'<cookie pagenumber="{int(page_number) + 1}" pagingcookie="{ms_quote(ms_quote(inner))}" '
                'istracking="False" />'
            )
        if annotation_wanted(self.prefs, "Microsoft.Dynamics.CRM.morerecords"):
            body["@Microsoft.Dynamics.CRM.morerecords"] = more
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

    # -- writes ------------------------------------------------------------------------------------
    def _check_if_match(self, row: Mapping[str, Any] | None) -> None:
        if_match = self.request.headers.get_header("If-Match").strip()
        if not if_match:
            return
        if row is None:
            return
        if if_match != "*" and if_match != etag_of(row):
            raise ApiError(
                412, "The version of the existing record doesn't match the RowVersion property provided."
            )

    def create(self) -> Response:
        body = self.request.json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object.", NOT_SUPPORTED_CODE)
        with self.store.transaction():
            row_id = self._insert(self.definition, body)
        return self._written(self.definition, row_id, created=True)

    def _written(self, definition: EntityDef, row_id: str, *, created: bool) -> Response:
        url = self.entity_url(definition, row_id)
        if "return=representation" in self.request.headers.get_header("Prefer"):
            row = self.api.row_or_404(definition, row_id)
            select = self.select_list(definition, self.params.get("$select"))
            out = {"@odata.context": self.context_url(definition, select) + "/$entity"}
            out.update(self.shape(definition, row, select))
            if created:
                expand = self._expand_items()
                if expand:
                    self.apply_expand(definition, row, out, expand)
            headers = {"Preference-Applied": "return=representation", "ETag": etag_of(row)}
            response = Response.json(201 if created else 200, out, headers)
            response.entity_url = url
            return response
        return Response(204, b"", {"OData-EntityId": url}, entity_url=url)

    def _check_state(self, definition: EntityDef, values: dict[str, Any], current: Mapping[str, Any]) -> None:
        """Default the status for a new state and refuse a status that belongs to another state."""
        pairs = STATUS_STATE.get(definition.logical_name)
        if pairs is None or ("statecode" not in values and "statuscode" not in values):
            return
        state = values.get("statecode", current.get("statecode", definition.defaults.get("statecode")))
        if "statecode" in values and "statuscode" not in values and state is not None:
            old_status = current.get("statuscode")
            if old_status is None or pairs.get(int(old_status)) != state:
                values["statuscode"] = DEFAULT_STATUS[definition.logical_name].get(state)
        status = values.get("statuscode", current.get("statuscode"))
        if status is None or state is None:
            return
        if pairs.get(status) != state:
            names = STATE_NAMES.get(definition.logical_name, {0: "Active", 1: "Inactive"})
            label = f"{definition.logical_name.capitalize()}State.{names.get(state, state)}"
            row_id = current.get(definition.primary_key) or values.get(definition.primary_key) or ""
            raise ApiError(
                400,
                f"{status} is not a valid status code for state code {label} on {definition.logical_name} "
                f"with Id {row_id}.",
                "0x80040203",
            )

    def _insert(self, definition: EntityDef, body: Mapping[str, Any]) -> str:
        values, parties, nested = self._convert(definition, body)
        merged_defaults = {k: v for k, v in definition.defaults.items() if k in ("statecode", "statuscode")}
        if "statecode" in values or "statuscode" in values:
            probe = dict(values)
            if "statuscode" not in probe and "statecode" in probe:
                probe["statuscode"] = DEFAULT_STATUS.get(definition.logical_name, {}).get(probe["statecode"])
            if "statecode" not in probe and "statuscode" in probe:
                probe["statecode"] = STATUS_STATE.get(definition.logical_name, {}).get(
                    probe["statuscode"], merged_defaults.get("statecode")
                )
            self._check_state(definition, probe, {})
            values.update({k: probe[k] for k in ("statecode", "statuscode") if k in probe})
        pk = definition.primary_key
        if pk in values and self.store.get(definition.entity_set, str(values[pk])) is not None:
            raise ApiError(412, "A record with matching key values already exists.", "0x80040237")
        for nav, (lookup, target, child) in nested.items():
            child_id = self._insert(BY_LOGICAL_NAME[target], child)
            values[lookup.value_name] = child_id
            values[lookup.value_name + LOOKUP_NAME] = target
            del nav
        if definition.entity_set == "activitymimeattachments":
            self._check_attachment(values)
        try:
            row_id = self.store.create(
                definition.entity_set, values, user_id=self.request.caller.systemuserid
            )
        except KeyError as exc:
            raise ApiError(412, "A record with matching key values already exists.", "0x80040237") from exc
        if parties is not None:
            self._replace_parties(definition, row_id, parties)
        if definition.entity_set == "activitymimeattachments":
            self._count_attachments(
                values.get("_objectid_value"), values.get("_objectid_value" + LOOKUP_NAME)
            )
        if definition.entity_set == "recurringappointmentmasters":
            instances.expand(self.store, row_id, self._copy_parties)
        return row_id

    def _copy_parties(self, master_id: str, instance_id: str) -> None:
        self.api.copy_parties(master_id, instance_id, self.request.caller.systemuserid)

    def _check_attachment(self, values: dict[str, Any]) -> None:
        """Blocked file types and the organization's upload limit; filesize and objecttypecode filled in."""
        org = self.store.get("organizations", self.api.org.id) or {}
        filename = str(values.get("filename") or "")
        blocked = {
            e.strip().lower() for e in str(org.get("blockedattachments") or "").split(";") if e.strip()
        }
        extension = filename.rsplit(".", 1)[1].lower() if "." in filename else ""
        body = values.get("body")
        size = 0
        if isinstance(body, str):
            try:
                size = len(base64.b64decode(body, validate=True))
            except (binascii.Error, ValueError) as exc:
                raise ApiError(400, "The attachment body is not valid base64.", NOT_SUPPORTED_CODE) from exc
        limit = int(org.get("maxuploadfilesize") or 5_242_880)
        if extension in blocked or size > limit:
            raise ApiError(
                400,
                "The attachment is either not a valid type or is too large. "
                "It cannot be uploaded or downloaded.",
                "0x80043e09",
            )
        values["filesize"] = size
        if values.get("_objectid_value"):
            values["objecttypecode"] = values.get("_objectid_value" + LOOKUP_NAME)

    def _count_attachments(self, activity_id: Any, logical: Any) -> None:
        if not activity_id or logical != "email":
            return
        count = sum(
            1
            for a in self.store.raw_rows("activitymimeattachments")
            if a.get("_objectid_value") == activity_id
        )
        if self.store.get("emails", str(activity_id)) is not None:
            self.store.update("emails", str(activity_id), {"attachmentcount": count})

    def _convert(
        self, definition: EntityDef, body: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[Any] | None, dict[str, tuple[Lookup, str, Mapping[str, Any]]]]:
        """Validate a request body; returns column values, the party list (if any) and deep inserts."""
        values: dict[str, Any] = {}
        parties: list[Any] | None = None
        nested: dict[str, tuple[Lookup, str, Mapping[str, Any]]] = {}
        navigations = definition.navigations
        for name, value in body.items():
            if name.endswith("@odata.bind"):
                nav = name[: -len("@odata.bind")]
                if nav not in navigations:
                    raise ApiError(
                        400,
                        f"An undeclared property '{nav}' which only has property annotations in the payload "
                        "but no property value was found in the payload. In OData, only declared "
                        "navigation properties and declared named streams can be represented as properties "
                        "without values.",
                        NOT_SUPPORTED_CODE,
                    )
                lookup, target = navigations[nav]
                if value is None:
                    values[lookup.value_name] = None
                    values[lookup.value_name + LOOKUP_NAME] = None
                    continue
                values[lookup.value_name] = self._resolve_bind(str(value), target)
                values[lookup.value_name + LOOKUP_NAME] = target
                continue
            if name.startswith("@") or "@" in name:
                continue
            if name == definition.party_collection or (
                definition.is_activity and name == "activitypointer_activity_parties"
            ):
                if not isinstance(value, list):
                    raise ApiError(400, f"The property '{name}' must be an array.", NOT_SUPPORTED_CODE)
                parties = value
                continue
            if name in navigations and isinstance(value, dict):
                lookup, target = navigations[name]
                nested[name] = (lookup, target, value)
                continue
            column = definition.columns.get(name)
            if column is None:
                raise ApiError(
                    400,
                    f"The property '{name}' does not exist on type '{crm_type(definition)}'. "
                    "Make sure to only use property names that are defined by the type.",
                    NOT_SUPPORTED_CODE,
                )
            if column.read_only:
                continue
            values[name] = self._check_value(definition, column.name, column.kind, column.max_length, value)
        return values, parties, nested

    def _check_value(
        self, definition: EntityDef, name: str, kind: str, max_length: int | None, value: Any
    ) -> Any:
        if value is None:
            return None
        edm = {
            STRING: "Edm.String",
            MEMO: "Edm.String",
            INT: "Edm.Int32",
            CHOICE: "Edm.Int32",
            BIGINT: "Edm.Int64",
            BOOL: "Edm.Boolean",
            DATETIME: "Edm.DateTimeOffset",
            DECIMAL: "Edm.Decimal",
            FLOAT: "Edm.Double",
            GUID: "Edm.Guid",
        }.get(kind, "Edm.String")
        bad = ApiError(
            400, f"Cannot convert the literal '{value}' to the expected type '{edm}'.", NOT_SUPPORTED_CODE
        )
        if kind in (STRING, MEMO):
            if not isinstance(value, str):
                raise bad
            if max_length is not None and len(value) > max_length:
                raise ApiError(
                    400,
                    f"A validation error occurred.  The length of the '{name}' attribute of the "
                    f"'{definition.logical_name}' entity exceeded the maximum allowed length of "
                    f"'{max_length}'.",
                    "0x80044331",
                )
            return value
        if kind in (INT, BIGINT, CHOICE):
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad
            return value
        if kind == BOOL:
            if not isinstance(value, bool):
                raise bad
            return value
        if kind in (DECIMAL, FLOAT):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad
            return value
        if kind == DATETIME:
            if not isinstance(value, str):
                raise bad
            try:
                return iso(parse_datetime(value))
            except ValueError as exc:
                raise bad from exc
        if kind == GUID:
            if not isinstance(value, str) or not GUID_RE.match(value):
                raise bad
            return value.lower()
        return value

    def _resolve_bind(self, reference: str, target: str) -> str:
        match = re.search(r"(?:^|/)(\w+)\(([^)]*)\)$", reference.strip())
        target_def = BY_LOGICAL_NAME[target]
        if match is None:
            raise ApiError(
                400, f"The URI '{reference}' is not valid for the navigation property.", NOT_SUPPORTED_CODE
            )
        entity_set, key = match.group(1), match.group(2)
        if entity_set != target_def.entity_set:
            raise ApiError(
                400,
                f"The entity set '{entity_set}' does not match the navigation target "
                f"'{target_def.entity_set}'.",
                NOT_SUPPORTED_CODE,
            )
        row_id = self.api._key(target_def, key)
        if self.store.get(target_def.entity_set, row_id) is None:
            raise ApiError(404, f"{target} With Id = {row_id} Does Not Exist", "0x80040217")
        return row_id

    def _replace_parties(self, definition: EntityDef, activity_id: str, parties: list[Any]) -> None:
        party_def = ENTITIES["activityparties"]
        for old in self.api.parties_of(activity_id):
            self.store.delete("activityparties", old["activitypartyid"])
        for party in parties:
            if not isinstance(party, dict):
                raise ApiError(400, "An activity party must be a JSON object.", NOT_SUPPORTED_CODE)
            values, _, _ = self._convert(
                party_def, {k: v for k, v in party.items() if not k.startswith("activityid")}
            )
            values["_activityid_value"] = activity_id
            values["_activityid_value" + LOOKUP_NAME] = definition.logical_name
            party_id = values.get("_partyid_value")
            if party_id and not values.get("addressused"):
                target = BY_LOGICAL_NAME[values["_partyid_value" + LOOKUP_NAME]]
                found = self.store.get(target.entity_set, party_id) or {}
                values["addressused"] = found.get("emailaddress1") or found.get("internalemailaddress")
            values.setdefault("ispartydeleted", False)
            self.store.create("activityparties", values, user_id=self.request.caller.systemuserid)

    def update(self, row_id: str) -> Response:
        body = self.request.json_body()
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object.", NOT_SUPPORTED_CODE)
        definition = self.definition
        with self.store.transaction():
            current = self.store.get(definition.entity_set, row_id)
            if_match = self.request.headers.get_header("If-Match").strip()
            if_none_match = self.request.headers.get_header("If-None-Match").strip()
            if current is None:
                if if_match:
                    raise not_found(definition, row_id)
                created = dict(body)
                created[definition.primary_key] = row_id
                self._insert(definition, created)
                return self._written(definition, row_id, created=True)
            if if_none_match == "*":
                raise ApiError(412, "A record with matching key values already exists.")
            self._check_if_match(current)
            values, parties, nested = self._convert(definition, body)
            self._check_state(definition, values, current)
            for _nav, (lookup, target, child) in nested.items():
                values[lookup.value_name] = self._insert(BY_LOGICAL_NAME[target], child)
                values[lookup.value_name + LOOKUP_NAME] = target
            self.store.update(definition.entity_set, row_id, values, user_id=self.request.caller.systemuserid)
            if parties is not None:
                self._replace_parties(definition, row_id, parties)
            if definition.entity_set == "recurringappointmentmasters":
                instances.after_master_update(
                    self.store,
                    row_id,
                    values,
                    parties is not None,
                    lambda instance: self._delete_cascade(
                        ENTITIES["appointments"], instance, series_of=False
                    ),
                    self._copy_parties,
                )
            elif definition.entity_set == "appointments":
                instances.after_instance_update(self.store, current, values)
        response = self._written(definition, row_id, created=False)
        return response

    def delete(self, row_id: str) -> Response:
        definition = self.definition
        with self.store.transaction():
            current = self.api.row_or_404(definition, row_id)
            self._check_if_match(current)
            self._delete_cascade(definition, row_id)
            if definition.entity_set == "activitymimeattachments":
                self._count_attachments(
                    current.get("_objectid_value"), current.get("_objectid_value" + LOOKUP_NAME)
                )
        return Response(204)

    def _delete_cascade(self, definition: EntityDef, row_id: str, *, series_of: bool = True) -> None:
        """Delete a row and what hangs on it; a series' instances go with it, a deleted instance is recorded."""
        if definition.entity_set == "recurringappointmentmasters":
            for instance in instances.instances_of(self.store, row_id):
                self._delete_cascade(ENTITIES["appointments"], str(instance["activityid"]), series_of=False)
        elif definition.entity_set == "appointments" and series_of:
            current = self.store.get("appointments", row_id)
            if current is not None:
                instances.after_instance_delete(self.store, current)
        self.store.delete(definition.entity_set, row_id)
        if definition.is_activity:
            for party in self.api.parties_of(row_id):
                self.store.delete("activityparties", party["activitypartyid"])
            for attachment in self.store.rows("activitymimeattachments"):
                if attachment.get("_objectid_value") == row_id:
                    self.store.delete("activitymimeattachments", attachment["activitymimeattachmentid"])

    def disassociate(self, row_id: str, nav: str) -> Response:
        found = self.definition.navigations.get(nav)
        if found is None:
            raise ApiError(404, f"Resource not found for the segment '{nav}'.", NOT_SUPPORTED_CODE)
        lookup, _ = found
        self.api.row_or_404(self.definition, row_id)
        self.store.update(
            self.definition.entity_set,
            row_id,
            {lookup.value_name: None, lookup.value_name + LOOKUP_NAME: None},
            user_id=self.request.caller.systemuserid,
        )
        return Response(204)

    def property(self, row_id: str, prop: str) -> Response:
        definition = self.definition
        method = self.request.method
        row = self.api.row_or_404(definition, row_id)
        if prop == definition.party_collection:
            party_def = ENTITIES["activityparties"]
            if method == "GET":
                select = self.select_list(party_def, self.params.get("$select"))
                values = [self.shape(party_def, p, select) for p in self.api.parties_of(row_id)]
                return Response.json(
                    200,
                    {"@odata.context": self.context_url(party_def, select), "value": values},
                    collection=True,
                )
            if method == "PUT":
                body = self.request.json_body()
                items = body.get("value") if isinstance(body, dict) else body
                if not isinstance(items, list):
                    raise ApiError(400, "Expected a collection in 'value'.", NOT_SUPPORTED_CODE)
                with self.store.transaction():
                    self._replace_parties(definition, row_id, items)
                    self.store.touch(definition.entity_set, row_id, user_id=self.request.caller.systemuserid)
                return Response(204)
            raise ApiError(405, f"The requested resource does not support http method '{method}'.")
        if prop in definition.navigations and method == "GET":
            target_def = BY_LOGICAL_NAME[definition.navigations[prop][1]]
            related = self.api._navigate(row, prop)
            if related is None:
                return Response(204)
            select = self.select_list(target_def, self.params.get("$select"))
            out = {"@odata.context": self.context_url(target_def, select) + "/$entity"}
            out.update(self.shape(target_def, related, select))
            return Response.json(200, out)
        column = definition.columns.get(prop)
        lookup = definition.lookup_by_value_name(prop)
        if column is None and lookup is None:
            raise ApiError(404, f"Resource not found for the segment '{prop}'.", NOT_SUPPORTED_CODE)
        if method == "GET":
            return Response.json(
                200,
                {
                    "@odata.context": f"{self.root}/$metadata#{definition.entity_set}({row_id})/{prop}",
                    "value": row.get(prop),
                },
            )
        if column is None or column.read_only or prop == definition.primary_key:
            raise ApiError(400, f"The property '{prop}' cannot be updated.", NOT_SUPPORTED_CODE)
        if method == "PUT":
            body = self.request.json_body()
            if not isinstance(body, dict) or "value" not in body:
                raise ApiError(400, "The request body must contain a 'value' property.", NOT_SUPPORTED_CODE)
            value = self._check_value(definition, column.name, column.kind, column.max_length, body["value"])
        elif method == "DELETE":
            value = None
        else:
            raise ApiError(405, f"The requested resource does not support http method '{method}'.")
        with self.store.transaction():
            self._check_if_match(self.store.get(definition.entity_set, row_id))
            self.store.update(
                definition.entity_set, row_id, {prop: value}, user_id=self.request.caller.systemuserid
            )
        return Response(204)


def served_versions(org_version: str) -> tuple[str, ...]:
    """The Web API versions a server of ``org_version`` answers: v9.0 up to its own major.minor (9.1 on
    premises has v9.0 and v9.1; online, 9.2, all three)."""
    parts = (org_version or "9.2").split(".")
    try:
        minor = int(parts[1]) if parts[0] == "9" and len(parts) > 1 else 2
    except ValueError:
        minor = 2
    return tuple(f"v9.{n}" for n in range(min(max(minor, 0), 2) + 1))


def org_relative(path: str, base_url: str) -> str:
    """``/<org>/api/data/...`` -> ``/api/data/...`` for an on-premises environment (its URL ends in the org name)."""
    prefix = urlsplit(base_url).path.rstrip("/")
    if prefix and path.lower().startswith(prefix.lower() + "/"):
        return path[len(prefix) :]
    return path


def _xml_attr(value: Any) -> str:
    return (
        str("" if value is None else value).replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    )


# -- HTTP ------------------------------------------------------------------------------------------
class DataverseServer(SandboxServer):
    environment: DataverseEnvironment


class DataverseHandler(SandboxHandler):
    """HTTP front of :class:`WebApi`: bearer-token check (on premises: NTLM), then dispatch (``$batch`` via
    :mod:`.batch`)."""

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def route(self, method: str, body: bytes) -> None:
        environment = cast(DataverseServer, self.server).environment
        headers = Headers(self.headers.items())
        try:
            if environment.ntlm is not None:
                upn = self.windows_sign_in(environment.ntlm)
                if upn is None:
                    return  # 401 sent: the CHALLENGE, or IIS's "access denied" page
                user = environment.directory.user(upn)
                caller = environment.caller_for(user.oid if user is not None else "")
            else:
                caller = environment.authenticate(headers.get_header("Authorization"))
        except ApiError as exc:
            self._send(Response.error(exc))
            return
        request = Request(method, org_relative(self.path, environment.url), headers, body, caller)
        path = request.path.rstrip("/")
        if path.lower().endswith("/$batch") and PATH_RE.match(path):
            from wizard.sandbox.dataverse.batch import handle_batch

            response = handle_batch(environment.api, request)
        else:
            response = environment.api.handle(request)
        self._send(response)

    def _send(self, response: Response) -> None:
        payload = response.body if response.status not in (204, 304) else b""
        self.send_response(response.status)
        headers = response.all_headers()
        headers.setdefault("REQ_ID", str(uuid.uuid4()))
        headers["x-ms-service-request-id"] = headers["REQ_ID"]
        headers["x-ms-ratelimit-burst-remaining-xrm-requests"] = "5999"
        headers["x-ms-ratelimit-time-remaining-xrm-requests"] = "1,200,000.00"
        headers["x-ms-dop-hint"] = "4"
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def send_throttled(self, retry_after: float) -> None:
        response = Response.json(429, THROTTLE_BODY, {"Retry-After": str(max(0, math.ceil(retry_after)))})
        self._send(response)

    def send_failure(self, status: int) -> None:
        message = {
            500: "An unexpected error occurred.",
            502: "Bad Gateway",
            503: "The service is temporarily unavailable. Please try again later.",
            504: "The request timed out.",
        }.get(status, "An unexpected error occurred.")
        self._send(Response.json(status, {"error": {"code": "0x80040216", "message": message}}))


class DataverseEnvironment:
    """One Dynamics 365 environment (organization): its store, demo data and HTTPS server."""

    def __init__(
        self,
        directory: Directory,
        org: DirectoryOrg,
        *,
        signer: TokenSigner,
        tls: SandboxTLS | None,
        authority_url: str,
        data_dir: Path | None = None,
        demo_data: bool = True,
        seed: int = 0,
        faults: FaultPlan | None = None,
        auth: str = "oauth",
    ) -> None:
        """``auth="ntlm"``: an on-premises deployment: Windows sign-in (NTLM; every directory user is a domain
        account with its ``password``, non-members get 403) instead of bearer tokens, and the URL ends in the
        organization's name (``https://server/<org>``)."""
        if auth not in ("oauth", "ntlm"):
            raise ValueError(f"unknown auth {auth!r} (oauth or ntlm)")
        self.directory = directory
        self.org = org
        self.signer = signer
        self.authority_url = authority_url
        self.auth = auth
        self.ntlm: NtlmAccounts | None = None
        if auth == "ntlm":
            self.ntlm = NtlmAccounts((u.upn, u.password) for u in directory.users)
        self.server = DataverseServer(DataverseHandler, tls=tls, faults=faults)
        self.server.environment = self
        self.store = Store(data_dir)
        self.api = WebApi(self.store, org, lambda: self.url, directory.tenant_id)
        self._seed_core()
        if demo_data:
            from wizard.sandbox.dataverse.demo_data import populate

            populate(self, seed=seed)

    @property
    def url(self) -> str:
        """The organization URL: ``https://127.0.0.1:PORT`` online, ``https://127.0.0.1:PORT/<org>`` on premises."""
        return self.server.base_url + (f"/{self.org.unique_name}" if self.auth == "ntlm" else "")

    def run_expansion_job(self) -> int:
        """Dataverse's asynchronous expansion job, run now: every series gets the instances it lacks up to the
        organization's current future expansion window (as time passes, or after ``futureexpansionwindow`` was
        raised). The stand-in has no background jobs; tests call this where Dataverse would have run it.
        Returns how many instances it made."""
        made = 0
        with self.store.transaction():
            for master in self.store.rows("recurringappointmentmasters"):
                owner = str(master.get("_ownerid_value") or "") or None

                def copy(master_id: str, instance_id: str, owner: str | None = owner) -> None:
                    self.api.copy_parties(master_id, instance_id, owner)

                made += instances.expand(self.store, str(master["activityid"]), copy)
        return made

    @property
    def api_url(self) -> str:
        return self.url + f"/api/data/{served_versions(self.org.version)[-1]}/"

    def _seed_core(self) -> None:
        """The organization, its root business unit, and a systemuser + mailbox per member (idempotent)."""
        store, org = self.store, self.org
        with store.transaction():
            if store.get("businessunits", org.business_unit_id) is None:
                store.create(
                    "businessunits", {"businessunitid": org.business_unit_id, "name": org.unique_name}
                )
            if store.get("organizations", org.id) is None:
                store.create(
                    "organizations",
                    {
                        "organizationid": org.id,
                        "name": org.unique_name,
                        "minoutlooksyncinterval": 15,
                        "maxuploadfilesize": 5_242_880,
                        "pastexpansionwindow": instances.PAST_MONTHS,
                        "futureexpansionwindow": instances.FUTURE_MONTHS,
                        "trackingprefix": "CRM:",
                        "trackingtokenidbase": 0,
                        "trackingtokeniddigits": 3,
                        "maximumtrackingnumber": 999,
                        "expirechangetrackingindays": TRACKING_DAYS,
                        "expiresubscriptionsindays": 90,
                        "isappmode": False,
                        "localeid": 1031,
                        "languagecode": 1031,
                        "basecurrencysymbol": "€",
                        "emailcorrelationenabled": True,
                        "maxrecordsforexporttoexcel": 100_000,
                        "blockedattachments": BLOCKED_ATTACHMENTS,
                    },
                )
            for user in self.directory.users:
                if not user.member_of(org):
                    continue
                user_id = user.systemuserid(org)
                if store.get("systemusers", user_id) is not None:
                    continue
                mailbox_id = str(uuid.uuid5(uuid.UUID(user_id), "mailbox"))
                store.create(
                    "systemusers",
                    {
                        "systemuserid": user_id,
                        "firstname": user.first_name,
                        "lastname": user.last_name,
                        "domainname": user.upn,
                        "internalemailaddress": user.primary_email,
                        "azureactivedirectoryobjectid": user.oid,
                        "incomingemaildeliverymethod": 2,
                        "outgoingemaildeliverymethod": 2,
                        "emailrouteraccessapproval": 1,
                        "_businessunitid_value": org.business_unit_id,
                        "_defaultmailbox_value": mailbox_id,
                    },
                    user_id=user_id,
                )
                store.create(
                    "mailboxes",
                    {
                        "mailboxid": mailbox_id,
                        "name": user.full_name,
                        "emailaddress": user.primary_email,
                        "_regardingobjectid_value": user_id,
                        "_ownerid_value": user_id,
                        "_owningbusinessunit_value": org.business_unit_id,
                    },
                    user_id=user_id,
                )
                store.create(
                    "usersettingscollection",
                    {
                        "systemuserid": user_id,
                        "incomingemailfilteringmethod": 2,
                        "outlooksyncinterval": 15,
                        "offlinesyncinterval": 15,
                        "synccontactcompany": True,
                        "timezonecode": 110,
                        "timezonebias": -60,
                        "localeid": 1031,
                        "uilanguageid": 1031,
                        "helplanguageid": 1031,
                        "issendasallowed": False,
                        "nexttrackingnumber": 1,
                        "trackingtokenid": 1,
                    },
                    user_id=user_id,
                )

    def systemuserid_for(self, oid: str) -> str | None:
        found = self.store.find("systemusers", "azureactivedirectoryobjectid", oid)
        return None if found is None else str(found["systemuserid"])

    def authenticate(self, authorization: str) -> Caller:
        """The caller of a request, from its bearer token; ApiError 401/403 otherwise."""
        challenge = {
            "WWW-Authenticate": f"Bearer authorization_uri={self.authority_url}, resource_id={self.url}/"
        }
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "The requested resource requires authentication.", "0x8005F101", challenge)
        try:
            claims = self.signer.verify(token.strip(), audience=self.url)
        except TokenRejected as exc:
            raise ApiError(
                401, "The requested resource requires authentication.", "0x8005F101", challenge
            ) from exc
        return self.caller_for(str(claims.get("oid", "")))

    def caller_for(self, oid: str) -> Caller:
        """The caller for a signed-in directory user; ApiError 403 if not a member, or disabled."""
        user_id = self.systemuserid_for(oid)
        if user_id is None:
            raise ApiError(403, "The user is not a member of the organization.", "0x80072560")
        row = self.store.get("systemusers", user_id) or {}
        if row.get("isdisabled"):
            raise ApiError(403, "The user is disabled.", "0x80040225")
        return Caller(systemuserid=user_id, oid=oid)

    def start(self) -> DataverseEnvironment:
        if self.ntlm is not None:
            self.ntlm.start()
        self.server.start()
        return self

    def stop(self) -> None:
        if self.ntlm is not None:
            self.ntlm.stop()
        if self.server._thread is not None:
            self.server.stop()  # shutdown() would wait forever on a server that never served
        else:
            self.server.server_close()
        self.store.close()

    def __enter__(self) -> DataverseEnvironment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
