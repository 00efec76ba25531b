"""Global Discovery Service stand-in: ``/api/discovery/v2.0/Instances`` on its own loopback server.

Answers only the environments the signed-in user is a member of, with the documented ``Instance`` properties;
``Url`` and ``ApiUrl`` are the environment stand-ins' base URLs. ``$filter`` string comparisons are
case-sensitive here, unlike the Web API's.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from wizard.sandbox._http import FaultPlan, SandboxHandler, SandboxServer
from wizard.sandbox.dataverse import odata_query as oq
from wizard.sandbox.dataverse.protocol import THROTTLE_BODY, ApiError, Headers, Response
from wizard.sandbox.directory import Directory, DirectoryUser
from wizard.sandbox.tls import SandboxTLS
from wizard.sandbox.tokens import TokenRejected, TokenSigner

if TYPE_CHECKING:
    from wizard.sandbox.dataverse.server import DataverseEnvironment

PATH_RE = re.compile(r"^/api/discovery/v2\.0/Instances(?:\((?P<key>[^)]*)\))?/?$")
INSTANCE_TYPE = "Microsoft.Xrm.Sdk.Discovery.Instance"
PROPERTIES = (
    "ApiUrl",
    "DatacenterId",
    "DatacenterName",
    "EnvironmentId",
    "FriendlyName",
    "Id",
    "IsUserSysAdmin",
    "LastUpdated",
    "OrganizationType",
    "Purpose",
    "Region",
    "SchemaType",
    "State",
    "StatusMessage",
    "TenantId",
    "TrialExpirationDate",
    "UniqueName",
    "UrlName",
    "Version",
    "Url",
)


class DiscoveryServer(SandboxServer):
    service: DiscoveryService


class DiscoveryHandler(SandboxHandler):
    def route(self, method: str, body: bytes) -> None:
        service = cast(DiscoveryServer, self.server).service
        response = service.handle(method, self.path, Headers(self.headers.items()))
        payload = response.body if response.status not in (204, 304) else b""
        self.send_response(response.status)
        for name, value in response.all_headers().items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def send_throttled(self, retry_after: float) -> None:
        self.send_bytes(
            429,
            Response.json(429, THROTTLE_BODY).body,
            "application/json; odata.metadata=minimal",
            {"Retry-After": str(max(0, round(retry_after))), "OData-Version": "4.0"},
        )

    def send_failure(self, status: int) -> None:
        body = Response.json(
            status, {"error": {"code": "", "message": "The service is temporarily unavailable."}}
        ).body
        self.send_bytes(status, body, "application/json; odata.metadata=minimal", {"OData-Version": "4.0"})


class DiscoveryService:
    """The Global Discovery Service of the sandbox tenant."""

    def __init__(
        self,
        directory: Directory,
        environments: list[DataverseEnvironment],
        *,
        signer: TokenSigner,
        tls: SandboxTLS | None,
        authority_url: str,
        faults: FaultPlan | None = None,
    ) -> None:
        self.directory = directory
        self.environments = environments
        self.signer = signer
        self.authority_url = authority_url
        self.server = DiscoveryServer(DiscoveryHandler, tls=tls, faults=faults)
        self.server.service = self

    @property
    def url(self) -> str:
        return self.server.base_url

    def start(self) -> DiscoveryService:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def instance(self, environment: DataverseEnvironment, user: DirectoryUser) -> dict[str, Any]:
        org = environment.org
        return {
            "ApiUrl": environment.url,
            "DatacenterId": "00000000-0000-0000-0000-000000000000",
            "DatacenterName": None,
            "EnvironmentId": org.environment_id,
            "FriendlyName": org.friendly_name,
            "Id": org.id,
            "IsUserSysAdmin": True,
            "LastUpdated": "2026-11-01T08:00:00Z",
            "OrganizationType": 0,
            "Purpose": org.purpose,
            "Region": org.region,
            "SchemaType": "Standard",
            "State": 0,
            "StatusMessage": 5,
            "TenantId": self.directory.tenant_id,
            "TrialExpirationDate": None,
            "UniqueName": org.unique_name,
            "UrlName": org.url_name,
            "Version": org.version,
            "Url": environment.url,
        }

    def handle(self, method: str, target: str, headers: Headers) -> Response:
        try:
            return self._handle(method, target, headers)
        except ApiError as exc:
            return Response.error(exc)
        except oq.QueryError as exc:
            return Response.error(ApiError(400, exc.message, exc.code or ""))

    def _handle(self, method: str, target: str, headers: Headers) -> Response:
        challenge = {"WWW-Authenticate": f"Bearer authorization_uri={self.authority_url}"}
        scheme, _, token = headers.get_header("Authorization").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "The requested resource requires authentication.", "", challenge)
        try:
            claims = self.signer.verify(token.strip(), audience=self.url)
        except TokenRejected as exc:
            raise ApiError(401, "The requested resource requires authentication.", "", challenge) from exc
        split = urlsplit(target)
        match = PATH_RE.match(unquote(split.path))
        if match is None:
            raise ApiError(404, f"Resource not found for the segment '{split.path}'.", "")
        if method != "GET":
            raise ApiError(405, f"The requested resource does not support http method '{method}'.")
        user = self.directory.user_by_oid(str(claims.get("oid", "")))
        rows = []
        if user is not None:
            rows = [self.instance(e, user) for e in self.environments if user.member_of(e.org)]
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        key = match.group("key")
        single = False
        if key is not None:
            rows, single = self._by_key(rows, key)
        if params.get("$filter"):
            expr = _GdsFilter(params["$filter"])
            rows = [r for r in rows if expr.evaluate(r)]
        select = oq.parse_select(params["$select"]) if params.get("$select") else None
        if select:
            unknown = [s for s in select if s not in PROPERTIES]
            if unknown:
                raise ApiError(
                    400,
                    f"Could not find a property named '{unknown[0]}' on type '{INSTANCE_TYPE}'.",
                )
            rows = [{name: r[name] for name in select} for r in rows]
        context = f"{self.url}/api/discovery/v2.0/$metadata#Instances" + (
            f"({','.join(select)})" if select else ""
        )
        if single:
            if not rows:
                raise ApiError(404, "Instance not found.", "")
            return Response.json(200, {"@odata.context": context + "/$entity", **rows[0]})
        return Response.json(200, {"@odata.context": context, "value": rows})

    def _by_key(self, rows: list[dict[str, Any]], key: str) -> tuple[list[dict[str, Any]], bool]:
        key = key.strip()
        named = re.match(r"^(\w+)='((?:[^']|'')*)'$", key)
        if named:
            name, value = named.group(1), named.group(2).replace("''", "'")
            if name not in ("UniqueName", "UrlName", "Region", "Id", "EnvironmentId"):
                raise ApiError(400, f"The key property '{name}' is not valid for Instances.")
            found = [r for r in rows if str(r.get(name)) == value]
            # Region is not unique: GDS "always returns an array" for it
            return found, name in ("UniqueName", "UrlName", "Id", "EnvironmentId")
        found = [r for r in rows if str(r["Id"]).lower() == key.lower()]
        return found, True


_TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][A-Za-z0-9_.-]*)|(?P<punct>[(),]))"
)
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}


class _GdsFilter:
    """A case-sensitive $filter for Instances: comparisons, and/or/not, contains/startswith/endswith."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, Any]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN_RE.match(text, pos)
            if m is None or m.end() == pos:
                if text[pos:].strip() == "":
                    break
                raise oq.QueryError(f"Syntax error at position {pos} in '{text}'.")
            pos = m.end()
            if m.group("str") is not None:
                self.tokens.append(("lit", m.group("str")[1:-1].replace("''", "'")))
            elif m.group("num") is not None:
                num = m.group("num")
                self.tokens.append(("lit", float(num) if "." in num else int(num)))
            elif m.group("word") is not None:
                word = m.group("word")
                literal = {"true": True, "false": False, "null": None}
                self.tokens.append(("lit", literal[word]) if word in literal else ("word", word))
            else:
                self.tokens.append(("punct", m.group("punct")))
        self.text = text
        self.pos = 0
        self.tree = self._or()
        if self.pos != len(self.tokens):
            raise oq.QueryError(f"Syntax error in '{text}'.")

    def _peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, Any]:
        token = self._peek()
        if token is None:
            raise oq.QueryError(f"Syntax error in '{self.text}'.")
        self.pos += 1
        return token

    def _or(self) -> Any:
        node = self._and()
        while self._peek() == ("word", "or"):
            self.pos += 1
            node = ("or", node, self._and())
        return node

    def _and(self) -> Any:
        node = self._unary()
        while self._peek() == ("word", "and"):
            self.pos += 1
            node = ("and", node, self._unary())
        return node

    def _unary(self) -> Any:
        if self._peek() == ("word", "not"):
            self.pos += 1
            return ("not", self._unary())
        left = self._operand()
        token = self._peek()
        if token is not None and token[0] == "word" and token[1] in _OPS:
            self.pos += 1
            return ("cmp", token[1], left, self._operand())
        return left

    def _operand(self) -> Any:
        kind, value = self._take()
        if kind == "punct" and value == "(":
            node = self._or()
            if self._take() != ("punct", ")"):
                raise oq.QueryError(f"Syntax error in '{self.text}'.")
            return node
        if kind == "lit":
            return ("lit", value)
        if kind == "word" and self._peek() == ("punct", "("):
            if value not in ("contains", "startswith", "endswith"):
                raise oq.QueryError(f"Unknown function '{value}'.")
            self.pos += 1
            first = self._operand()
            if self._take() != ("punct", ","):
                raise oq.QueryError(f"Syntax error in '{self.text}'.")
            second = self._operand()
            if self._take() != ("punct", ")"):
                raise oq.QueryError(f"Syntax error in '{self.text}'.")
            return ("fn", value, first, second)
        if kind == "word":
            if value not in PROPERTIES:
                raise oq.QueryError(f"Could not find a property named '{value}' on type '{INSTANCE_TYPE}'.")
            return ("prop", value)
        raise oq.QueryError(f"Syntax error in '{self.text}'.")

    def evaluate(self, row: dict[str, Any], node: Any = None) -> Any:
        node = self.tree if node is None else node
        tag = node[0]
        if tag == "lit":
            return node[1]
        if tag == "prop":
            return row.get(node[1])
        if tag == "not":
            return not self.evaluate(row, node[1])
        if tag == "and":
            return bool(self.evaluate(row, node[1])) and bool(self.evaluate(row, node[2]))
        if tag == "or":
            return bool(self.evaluate(row, node[1])) or bool(self.evaluate(row, node[2]))
        if tag == "fn":
            haystack, needle = self.evaluate(row, node[2]), self.evaluate(row, node[3])
            if not isinstance(haystack, str) or not isinstance(needle, str):
                return False
            return {
                "contains": needle in haystack,
                "startswith": haystack.startswith(needle),
                "endswith": haystack.endswith(needle),
            }[node[1]]
        op, left, right = node[1], self.evaluate(row, node[2]), self.evaluate(row, node[3])
        if op == "eq":
            return left == right
        if op == "ne":
            return left != right
        if (
            left is None
            or right is None
            or (
                type(left) is not type(right)
                and not (isinstance(left, int | float) and isinstance(right, int | float))
            )
        ):
            return False
        return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]
