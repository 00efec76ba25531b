"""The Web API's vocabulary shared by the stand-in's modules: the request and response, the error, the caller,
headers and Prefer, ETags, the versions a server answers, and the service's fixed messages and codes."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from wizard.sandbox.dataverse import odata_query as oq
from wizard.sandbox.dataverse.schema import (
    BY_LOGICAL_NAME,
    EntityDef,
)
from wizard.sandbox.dataverse.store import Store

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


def xml_attr(value: Any) -> str:
    return (
        str("" if value is None else value).replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    )
