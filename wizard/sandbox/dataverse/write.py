"""Web API writes: create (deep insert, @odata.bind, activity parties), update with If-Match, delete with its
cascade, disassociate, and single-property GET/PUT/DELETE; with the series rules of :mod:`.instances`."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from wizard.sandbox.dataverse import instances, rules
from wizard.sandbox.dataverse.context import ContextBase
from wizard.sandbox.dataverse.protocol import (
    GUID_RE,
    NOT_SUPPORTED_CODE,
    ApiError,
    Response,
    crm_type,
    etag_of,
    not_found,
    parse_datetime,
)
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
    STATE_NAMES,
    STATUS_STATE,
    STRING,
    EntityDef,
    Lookup,
)
from wizard.sandbox.dataverse.store import LOOKUP_NAME, iso


class WriteRequests(ContextBase):
    """Create, update, delete, disassociate, single properties."""

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

    def _check_rules(
        self, definition: EntityDef, values: Mapping[str, Any], current: Mapping[str, Any] | None
    ) -> None:
        """Option values, required columns and duplicate detection (:mod:`.rules`)."""
        rules.check_options(definition, values)
        rules.check_required(
            definition, values, creating=current is None, application_required=self.api.application_required
        )
        rules.check_duplicates(
            definition,
            {**(current or {}), **values},
            self.store.raw_rows(definition.entity_set),
            self.request.headers.get_header("MSCRM.SuppressDuplicateDetection"),
        )

    def _insert(self, definition: EntityDef, body: Mapping[str, Any]) -> str:
        values, parties, nested = self._convert(definition, body)
        self._check_rules(definition, values, None)
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
        row_id = self.api.key_of(target_def, key)
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
            self._check_rules(definition, values, current)
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
            related = self.api.navigate(row, prop)
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
