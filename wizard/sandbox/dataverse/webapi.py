"""The Dataverse Web API stand-in's entry point: :class:`WebApi` answers one request (method, URL, headers, body,
caller) with a :class:`Response`; the HTTP handler and ``$batch`` (:mod:`.batch`) both go through it. Shapes,
headers, status codes and error bodies follow the Web API documentation and the samples in
``reference/samples/dataverse``."""

from __future__ import annotations

from typing import Any

from wizard.sandbox.dataverse import odata_query as oq
from wizard.sandbox.dataverse import retrieve_entity
from wizard.sandbox.dataverse.csdl import csdl_document
from wizard.sandbox.dataverse.definitions import DefinitionRequests
from wizard.sandbox.dataverse.labels import ENGLISH
from wizard.sandbox.dataverse.protocol import (
    NOT_SUPPORTED_CODE,
    PATH_RE,
    SEGMENT_RE,
    ApiError,
    Request,
    Response,
    org_relative,
    served_versions,
)
from wizard.sandbox.dataverse.read import ReadRequests
from wizard.sandbox.dataverse.rows import RowAccess
from wizard.sandbox.dataverse.schema import (
    ENTITIES,
)
from wizard.sandbox.dataverse.write import WriteRequests


class RequestContext(ReadRequests, WriteRequests):
    """One request against one entity set: reads, change tracking, FetchXML and writes."""


class WebApi(RowAccess):
    """The protocol logic for one environment, independent of sockets (``$batch`` reuses it)."""

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

    def _language(self, request: Request) -> int:
        """The caller's user-interface language (``usersettings.uilanguageid``), English when unset."""
        settings = self.store.get("usersettingscollection", request.caller.systemuserid) or {}
        language = settings.get("uilanguageid")
        return language if isinstance(language, int) and language > 0 else ENGLISH

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
        if rest == "$metadata":
            if request.method != "GET":
                raise ApiError(
                    405, f"The requested resource does not support http method '{request.method}'."
                )
            return Response(200, csdl_document().encode(), {}, "application/xml")
        if retrieve_entity.is_call(rest):
            return retrieve_entity.handle(
                request.method,
                rest,
                request.params,
                root,
                self._language(request),
                lambda s: self.store.tracking.get(s, False),
            )
        segments = rest.split("/")
        first = SEGMENT_RE.match(segments[0])
        if first is not None and first.group("name") == "EntityDefinitions":
            definitions = DefinitionRequests(
                root, request.params, self._language(request), lambda s: self.store.tracking.get(s, False)
            )
            return definitions.handle(request.method, segments)
        if first is None or first.group("name") not in ENTITIES:
            raise ApiError(404, f"Resource not found for the segment '{segments[0]}'.", NOT_SUPPORTED_CODE)
        definition = ENTITIES[first.group("name")]
        key = first.group("key")
        context = RequestContext(self, request, definition, root)
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
        row_id = self.key_of(definition, key)
        if len(segments) == 1:
            if request.method == "GET":
                return context.retrieve(row_id)
            if request.method == "PATCH":
                return context.update(row_id)
            if request.method == "DELETE":
                return context.delete(row_id)
            raise ApiError(405, f"The requested resource does not support http method '{request.method}'.")
        prop = segments[1]
        if len(segments) == 2 and prop == "Microsoft.Dynamics.CRM.SendEmail":
            return context.send_email(row_id, root)
        if len(segments) == 3 and segments[2] == "$ref" and request.method == "DELETE":
            return context.disassociate(row_id, prop)
        if len(segments) > 2:
            raise ApiError(404, f"Resource not found for the segment '{segments[2]}'.", NOT_SUPPORTED_CODE)
        return context.property(row_id, prop)
